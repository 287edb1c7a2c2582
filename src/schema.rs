// @generated-style Diesel schema, kept in step with `migrations/` by hand.
// The `api::migrations::schema_rs_matches_the_database` test compares it with the database.

diesel::table! {
    users (id) {
        id -> Uuid,
        username -> Text,
        email -> Text,
        display_name -> Text,
        bio -> Nullable<Text>,
        password_hash -> Text,
        token_version -> Int4,
        is_admin -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        email_verified_at -> Nullable<Timestamptz>,
        deleted_at -> Nullable<Timestamptz>,
        erased -> Bool,
    }
}

diesel::table! {
    account_deletions (user_id) {
        user_id -> Uuid,
        content -> Text,
        old_username -> Nullable<Text>,
        mentions_after -> Nullable<Uuid>,
        requested_at -> Timestamptz,
        done_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    refused_addresses (email_hash, user_id) {
        email_hash -> Bytea,
        user_id -> Uuid,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> Uuid,
        user_id -> Uuid,
        family_id -> Uuid,
        token_hash -> Bytea,
        issued_at -> Timestamptz,
        expires_at -> Timestamptz,
        spent_at -> Nullable<Timestamptz>,
        revoked_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    groups (id) {
        id -> Uuid,
        name -> Text,
        slug -> Text,
        description -> Nullable<Text>,
        visibility -> Text,
        created_by -> Uuid,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    memberships (group_id, user_id) {
        group_id -> Uuid,
        user_id -> Uuid,
        role -> Text,
        joined_at -> Timestamptz,
    }
}

diesel::table! {
    invites (id) {
        id -> Uuid,
        group_id -> Uuid,
        code_hash -> Bytea,
        created_by -> Uuid,
        max_uses -> Nullable<Int4>,
        uses -> Int4,
        expires_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    bans (group_id, user_id) {
        group_id -> Uuid,
        user_id -> Uuid,
        banned_by -> Uuid,
        reason -> Text,
        expires_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    modlog (id) {
        id -> Uuid,
        group_id -> Uuid,
        actor_id -> Uuid,
        action -> Text,
        target_type -> Text,
        target_id -> Uuid,
        reason -> Nullable<Text>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    essays (id) {
        id -> Uuid,
        group_id -> Uuid,
        title -> Text,
        author -> Nullable<Text>,
        source_url -> Nullable<Text>,
        license -> Nullable<Text>,
        format -> Text,
        created_by -> Uuid,
        created_at -> Timestamptz,
        revision -> Int4,
    }
}

diesel::table! {
    paragraphs (id) {
        id -> Uuid,
        essay_id -> Uuid,
        position -> Int4,
        text -> Text,
        kind -> Text,
        introduced_in -> Int4,
        retired_in -> Nullable<Int4>,
    }
}

diesel::table! {
    essay_revisions (essay_id, revision) {
        essay_id -> Uuid,
        revision -> Int4,
        body -> Text,
        format -> Text,
        note -> Nullable<Text>,
        created_by -> Uuid,
        created_at -> Timestamptz,
        summary -> Jsonb,
    }
}

diesel::table! {
    paragraph_versions (paragraph_id, revision) {
        paragraph_id -> Uuid,
        revision -> Int4,
        position -> Int4,
        kind -> Text,
        text -> Text,
        change -> Text,
    }
}

diesel::table! {
    thread_anchors (thread_id) {
        thread_id -> Uuid,
        quote_prefix -> Nullable<Text>,
        quote_suffix -> Nullable<Text>,
        status -> Text,
        reason -> Nullable<Text>,
        confidence -> Nullable<Float4>,
        revision -> Int4,
        original_quote -> Nullable<Jsonb>,
    }
}

diesel::table! {
    thread_anchor_history (id) {
        id -> Uuid,
        thread_id -> Uuid,
        revision -> Int4,
        actor_id -> Nullable<Uuid>,
        from_paragraph -> Uuid,
        to_paragraph -> Nullable<Uuid>,
        from_quote -> Nullable<Jsonb>,
        to_quote -> Nullable<Jsonb>,
        status -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    reading_sessions (id) {
        id -> Uuid,
        group_id -> Uuid,
        essay_id -> Uuid,
        title -> Text,
        starts_at -> Timestamptz,
        ends_at -> Nullable<Timestamptz>,
        status -> Text,
        created_by -> Uuid,
        created_at -> Timestamptz,
        calendar_sequence -> Int4,
    }
}

diesel::table! {
    paragraph_reads (user_id, session_id, paragraph_id) {
        user_id -> Uuid,
        session_id -> Uuid,
        paragraph_id -> Uuid,
        seen -> Int4,
    }
}

diesel::table! {
    paragraph_counts (session_id, paragraph_id) {
        session_id -> Uuid,
        paragraph_id -> Uuid,
        thread_count -> Int4,
        comment_count -> Int4,
        open_question_count -> Int4,
    }
}

diesel::table! {
    threads (id) {
        id -> Uuid,
        session_id -> Uuid,
        paragraph_id -> Uuid,
        author_id -> Uuid,
        title -> Nullable<Text>,
        quote_exact -> Nullable<Text>,
        quote_start -> Nullable<Int4>,
        quote_end -> Nullable<Int4>,
        locked -> Bool,
        pinned -> Bool,
        hidden -> Bool,
        hidden_by -> Nullable<Uuid>,
        hidden_reason -> Nullable<Text>,
        comment_count -> Int4,
        created_at -> Timestamptz,
        last_activity_at -> Timestamptz,
        kind -> Text,
        vote_count -> Int4,
        answer_count -> Int4,
    }
}

diesel::table! {
    comments (id) {
        id -> Uuid,
        thread_id -> Uuid,
        parent_id -> Nullable<Uuid>,
        depth -> Int2,
        sort_key -> Text,
        author_id -> Uuid,
        body -> Text,
        deleted -> Bool,
        deleted_by -> Nullable<Uuid>,
        hidden -> Bool,
        hidden_by -> Nullable<Uuid>,
        hidden_reason -> Nullable<Text>,
        created_at -> Timestamptz,
        edited_at -> Nullable<Timestamptz>,
        seq -> Int8,
        search -> Nullable<crate::schema::sql_types::TsVector>,
    }
}

diesel::table! {
    comment_revisions (id) {
        id -> Uuid,
        comment_id -> Uuid,
        body -> Text,
        editor_id -> Uuid,
        edited_at -> Timestamptz,
    }
}

diesel::table! {
    reports (id) {
        id -> Uuid,
        group_id -> Uuid,
        comment_id -> Uuid,
        reporter_id -> Uuid,
        reason -> Text,
        status -> Text,
        outcome -> Nullable<Text>,
        note -> Nullable<Text>,
        resolved_by -> Nullable<Uuid>,
        resolved_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    idempotency_keys (user_id, key) {
        user_id -> Uuid,
        key -> Text,
        request_hash -> Bytea,
        status -> Int2,
        location -> Nullable<Text>,
        body -> Jsonb,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    password_resets (token_hash) {
        token_hash -> Bytea,
        user_id -> Uuid,
        expires_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

// Live session events (src/events/). Read with SQL there (row comparisons
// on (xid, id)); declared here so the schema check covers them.
diesel::table! {
    session_events (xid, id) {
        id -> Int8,
        xid -> Int8,
        session_id -> Uuid,
        kind -> Text,
        paragraph_id -> Nullable<Uuid>,
        thread_id -> Nullable<Uuid>,
        comment_id -> Nullable<Uuid>,
        target_user_id -> Nullable<Uuid>,
        detail -> Nullable<Jsonb>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    event_watermarks (name) {
        name -> Text,
        xid -> Int8,
        id -> Int8,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    event_tickets (token_hash) {
        token_hash -> Bytea,
        user_id -> Uuid,
        session_id -> Nullable<Uuid>,
        token_version -> Int4,
        expires_at -> Timestamptz,
        created_at -> Timestamptz,
    }
}

diesel::joinable!(event_tickets -> users (user_id));
diesel::joinable!(event_tickets -> reading_sessions (session_id));
diesel::joinable!(refresh_tokens -> users (user_id));
diesel::joinable!(push_subscriptions -> users (user_id));
diesel::joinable!(password_resets -> users (user_id));
diesel::joinable!(idempotency_keys -> users (user_id));
diesel::joinable!(memberships -> groups (group_id));
diesel::joinable!(memberships -> users (user_id));
diesel::joinable!(invites -> groups (group_id));
diesel::joinable!(essays -> groups (group_id));
diesel::joinable!(paragraphs -> essays (essay_id));
diesel::joinable!(essay_revisions -> essays (essay_id));
diesel::joinable!(essay_revisions -> users (created_by));
diesel::joinable!(paragraph_versions -> paragraphs (paragraph_id));
diesel::joinable!(thread_anchors -> threads (thread_id));
diesel::joinable!(thread_anchor_history -> threads (thread_id));
diesel::joinable!(reading_sessions -> groups (group_id));
diesel::joinable!(paragraph_counts -> paragraphs (paragraph_id));
diesel::joinable!(paragraph_counts -> reading_sessions (session_id));
diesel::joinable!(threads -> reading_sessions (session_id));
diesel::joinable!(threads -> paragraphs (paragraph_id));
diesel::joinable!(threads -> users (author_id));
diesel::table! {
    thread_votes (thread_id, user_id) {
        thread_id -> Uuid,
        user_id -> Uuid,
        group_id -> Uuid,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    thread_answers (thread_id, comment_id) {
        thread_id -> Uuid,
        comment_id -> Uuid,
        accepted_by -> Uuid,
        accepted_at -> Timestamptz,
    }
}

diesel::table! {
    thread_reads (user_id, session_id, thread_id) {
        user_id -> Uuid,
        session_id -> Uuid,
        thread_id -> Uuid,
        seq -> Int8,
        updated_at -> Timestamptz,
        below -> Int4,
    }
}

diesel::table! {
    notifications (id) {
        id -> Uuid,
        recipient_id -> Uuid,
        thread_id -> Uuid,
        group_id -> Uuid,
        session_id -> Uuid,
        paragraph_id -> Uuid,
        reason -> Text,
        latest_comment_id -> Nullable<Uuid>,
        latest_seq -> Int8,
        new_count -> Int4,
        actor_ids -> Array<Uuid>,
        updated_at -> Timestamptz,
        pushed_for -> Nullable<Timestamptz>,
        push_not_before -> Nullable<Timestamptz>,
        push_attempts -> Int2,
        push_retry -> Nullable<Array<Uuid>>,
        comments_xid -> Int8,
        comments_id -> Int8,
        changes_xid -> Int8,
        changes_id -> Int8,
    }
}

diesel::table! {
    watches (user_id, scope, scope_id, in_session) {
        user_id -> Uuid,
        scope -> Text,
        scope_id -> Uuid,
        in_session -> Uuid,
        level -> Text,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    notifier_cursor (name) {
        name -> Text,
        xid -> Int8,
        id -> Int8,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    comment_mentions (comment_id, user_id) {
        comment_id -> Uuid,
        user_id -> Uuid,
    }
}

diesel::table! {
    blocks (blocker_id, blocked_id) {
        blocker_id -> Uuid,
        blocked_id -> Uuid,
        created_at -> Timestamptz,
    }
}

// Notification mail (src/mailing/).
diesel::table! {
    email_verifications (token_hash) {
        token_hash -> Bytea,
        user_id -> Uuid,
        email -> Text,
        expires_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    inbox_events (id) {
        id -> Int8,
        xid -> Int8,
        recipient_id -> Uuid,
        kind -> Text,
        ids -> Array<Uuid>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    push_subscriptions (id) {
        id -> Uuid,
        user_id -> Uuid,
        endpoint -> Text,
        p256dh -> Bytea,
        auth -> Bytea,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    notification_settings (user_id) {
        user_id -> Uuid,
        email -> Text,
        digest -> Text,
        updated_at -> Timestamptz,
        briefing -> Bool,
    }
}

diesel::table! {
    notification_mails (notification_id) {
        notification_id -> Uuid,
        mailed_seq -> Int8,
        mailed_at -> Timestamptz,
    }
}

diesel::table! {
    notification_digests (user_id, rhythm, period_end) {
        user_id -> Uuid,
        rhythm -> Text,
        period_end -> Timestamptz,
        items -> Int4,
        sent_at -> Timestamptz,
    }
}

// The organiser's view (src/organiser/).
diesel::table! {
    session_briefings (session_id, user_id) {
        session_id -> Uuid,
        user_id -> Uuid,
        sent_at -> Timestamptz,
    }
}

diesel::table! {
    calendar_feeds (user_id) {
        user_id -> Uuid,
        token_hash -> Bytea,
        token_version -> Int4,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    personal_exports (id) {
        id -> Uuid,
        user_id -> Uuid,
        status -> Text,
        created_at -> Timestamptz,
        claim -> Nullable<Uuid>,
        lease_until -> Nullable<Timestamptz>,
        attempts -> Int4,
        finished_at -> Nullable<Timestamptz>,
        expires_at -> Nullable<Timestamptz>,
        size_bytes -> Nullable<Int8>,
    }
}

diesel::table! {
    personal_export_chunks (export_id, claim, seq) {
        export_id -> Uuid,
        claim -> Uuid,
        seq -> Int4,
        data -> Bytea,
    }
}

/// SQL types Diesel does not define.
pub mod sql_types {
    /// PostgreSQL's `tsvector` (full-text search documents), only ever
    /// written by the database (a generated column) and matched in SQL.
    #[derive(diesel::sql_types::SqlType, diesel::query_builder::QueryId)]
    #[diesel(postgres_type(name = "tsvector"))]
    pub struct TsVector;
}

diesel::joinable!(comments -> threads (thread_id));
diesel::joinable!(thread_votes -> threads (thread_id));
diesel::joinable!(thread_answers -> threads (thread_id));
diesel::joinable!(thread_reads -> threads (thread_id));
diesel::joinable!(comments -> users (author_id));
diesel::joinable!(comment_revisions -> comments (comment_id));
diesel::joinable!(reports -> comments (comment_id));

diesel::allow_tables_to_appear_in_same_query!(
    users,
    account_deletions,
    refused_addresses,
    refresh_tokens,
    groups,
    memberships,
    invites,
    bans,
    modlog,
    essays,
    paragraphs,
    reading_sessions,
    paragraph_counts,
    paragraph_reads,
    threads,
    comments,
    comment_revisions,
    reports,
    idempotency_keys,
    password_resets,
    essay_revisions,
    paragraph_versions,
    thread_anchors,
    thread_anchor_history,
    session_events,
    event_watermarks,
    event_tickets,
    thread_votes,
    thread_answers,
    thread_reads,
    notifications,
    watches,
    notifier_cursor,
    comment_mentions,
    blocks,
    inbox_events,
    push_subscriptions,
    email_verifications,
    notification_settings,
    notification_mails,
    notification_digests,
    session_briefings,
    calendar_feeds,
    personal_exports,
    personal_export_chunks,
);
