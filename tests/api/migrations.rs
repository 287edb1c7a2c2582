//! Every migration reverts cleanly and reapplies (with the replaceable schema
//! of `src/db/replaceable/triggers.sql` applied after them), the replaceable
//! schema is not touched again while unchanged, and the hand-kept
//! `src/schema.rs` matches the database column for column.

use std::collections::BTreeSet;
use std::time::Duration;

use diesel::expression::Expression;
use diesel::sql_types::{Bool, Bytea, Int2, Int4, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel::Connection;
use diesel::{Column, QueryableByName, Table};
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use diesel_migrations::MigrationHarness;
use pilcrow::db::{migrate, replaceable};
use pilcrow::schema;

use crate::helpers::{fresh_database, function_oids, mark_stale, recorded};

#[derive(QueryableByName, Debug, PartialEq, Eq, PartialOrd, Ord, Clone)]
struct ColumnRow {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Text)]
    data_type: String,
    #[diesel(sql_type = Bool)]
    nullable: bool,
}

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    name: String,
}

async fn names(conn: &mut AsyncPgConnection, sql: &str) -> BTreeSet<String> {
    diesel::sql_query(sql).load::<Name>(conn).await.expect(sql).into_iter().map(|n| n.name).collect()
}

/// Tables, indexes, sequences and functions of `public`, functions of `r`
/// (prefixed `r.`), the schema `r` itself, and every trigger (`trigger:`).
const OBJECTS: &str =
    "SELECT c.relname::text AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
     WHERE n.nspname = 'public' AND c.relname NOT LIKE '__diesel%' \
     UNION ALL SELECT CASE WHEN n.nspname = 'r' THEN 'r.' ELSE '' END || p.proname::text \
       FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname IN ('public', 'r') \
     UNION ALL SELECT 'schema:' || nspname::text FROM pg_namespace WHERE nspname = 'r' \
     UNION ALL SELECT 'trigger:' || tgname::text FROM pg_trigger WHERE NOT tgisinternal";

/// The version of the newest migration applied (digits only, as Diesel stores it).
async fn newest_applied(conn: &mut AsyncPgConnection) -> String {
    names(conn, "SELECT max(version)::text AS name FROM __diesel_schema_migrations")
        .await
        .into_iter()
        .next()
        .unwrap_or_default()
}

/// Reverts only the newest migration, as `diesel migration revert` would.
async fn revert_last(url: &str) {
    let url = url.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut conn: AsyncConnectionWrapper<AsyncPgConnection> = Connection::establish(&url).unwrap();
        conn.revert_last_migration(migrate::MIGRATIONS).expect("reverting the newest migration");
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn every_migration_reverts_and_reapplies() {
    let url = fresh_database().await;
    let mut conn = AsyncPgConnection::establish(&url).await.unwrap();
    let migrated = names(&mut conn, OBJECTS).await;
    for expected in [
        "users",
        "groups",
        "memberships",
        "invites",
        "bans",
        "modlog",
        "essays",
        "paragraphs",
        "reading_sessions",
        "paragraph_counts",
        "threads",
        "comments",
        "comment_revisions",
        "reports",
        "groups_slug_lower_key",
        "memberships_list_idx",
        "comments_seq",
        "schema:r",
        "r.bump_paragraph",
        "r.comment_counted",
        "trigger:comments_posted",
        "trigger:threads_counted_update",
        "trigger:threads_counted_move",
    ] {
        assert!(migrated.contains(expected), "{expected} missing after migrating: {migrated:?}");
    }
    // The triggers' functions live only in src/db/replaceable/triggers.sql.
    let public_functions: Vec<_> = migrated.iter().filter(|n| n.starts_with("pilcrow_")).collect();
    assert!(public_functions.is_empty(), "functions left in public: {public_functions:?}");

    // Migration 000008's down.sql drops schema r and restores the triggers
    // as migrations 000004 and 000007 left them (every later migration only
    // changes tables, and is reverted first).
    while newest_applied(&mut conn).await.as_str() > "20261127000007" {
        revert_last(&url).await;
    }
    let before = names(&mut conn, OBJECTS).await;
    for expected in ["pilcrow_bump_paragraph", "pilcrow_comment_counted", "trigger:comments_counted_insert"] {
        assert!(before.contains(expected), "{expected} missing after reverting one: {before:?}");
    }
    assert!(!before.iter().any(|n| n.starts_with("r.") || n == "schema:r"), "{before:?}");
    migrate::run(&url).await.expect("migrating forward again");
    assert_eq!(names(&mut conn, OBJECTS).await, migrated);

    migrate::revert_all(&url).await.expect("reverting every migration");
    let left = names(&mut conn, OBJECTS).await;
    assert!(left.is_empty(), "down.sql left these behind: {left:?}");

    let applied = migrate::run(&url).await.expect("migrating again");
    let on_disk = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations")).unwrap().count();
    assert_eq!(applied.len(), on_disk, "{applied:?}");
    assert_eq!(names(&mut conn, OBJECTS).await, migrated);

    // And once more, down and up, from the re-applied state.
    migrate::revert_all(&url).await.expect("reverting again");
    assert!(names(&mut conn, OBJECTS).await.is_empty());
    migrate::run(&url).await.expect("migrating a third time");
    assert_eq!(names(&mut conn, OBJECTS).await, migrated);
    drop(conn);
}

#[tokio::test]
async fn reapplying_is_skipped_while_the_file_is_unchanged() {
    let url = fresh_database().await;
    let mut conn = AsyncPgConnection::establish(&url).await.unwrap();
    assert_eq!(recorded(&mut conn).await, Some(replaceable::fingerprint()));
    let oids = function_oids(&mut conn).await;
    let defined = include_str!("../../src/db/replaceable/triggers.sql").matches("CREATE FUNCTION r.").count();
    assert!(defined >= 5, "r.bump_paragraph, comment_counted, comment_posted, refuse_move, thread_counted…");
    assert_eq!(oids.len(), defined, "every function of triggers.sql, once");

    // A writer holds ROW EXCLUSIVE on comments, as live traffic does. Dropping
    // a trigger would wait for it; an unchanged start must not.
    let mut writer = AsyncPgConnection::establish(&url).await.unwrap();
    writer.batch_execute("BEGIN; LOCK TABLE comments IN ROW EXCLUSIVE MODE").await.unwrap();
    let started = tokio::time::timeout(Duration::from_secs(20), migrate::run(&url)).await;
    let applied = started.expect("an unchanged start waited for a table lock").expect("migrating");
    assert!(applied.is_empty(), "{applied:?}");
    assert_eq!(function_oids(&mut conn).await, oids, "the functions were re-created");
    writer.batch_execute("ROLLBACK").await.unwrap();

    // A different fingerprint (an edited file) re-applies and records the new one.
    mark_stale(&mut conn).await;
    migrate::run(&url).await.expect("re-applying");
    assert_ne!(function_oids(&mut conn).await, oids, "the stale schema was kept");
    assert_eq!(recorded(&mut conn).await, Some(replaceable::fingerprint()));
}

/// The PostgreSQL name of a Diesel SQL type, as `information_schema` spells it.
trait PgType {
    const NAME: &'static str;
    const NULLABLE: bool = false;
}

macro_rules! pg_types {
    ($($ty:ty => $name:literal),* $(,)?) => {$(impl PgType for $ty { const NAME: &'static str = $name; })*};
}
pg_types!(
    SqlUuid => "uuid",
    Text => "text",
    Int2 => "smallint",
    Int4 => "integer",
    Bool => "boolean",
    Bytea => "bytea",
    Timestamptz => "timestamp with time zone",
    diesel::sql_types::Jsonb => "jsonb",
    diesel::sql_types::Float4 => "real",
    diesel::sql_types::Int8 => "bigint",
    schema::sql_types::TsVector => "tsvector",
);

impl<T: PgType + diesel::sql_types::SqlType> PgType for diesel::sql_types::Array<T> {
    const NAME: &'static str = "ARRAY";
}

impl<T: PgType + diesel::sql_types::SqlType> PgType for Nullable<T> {
    const NAME: &'static str = T::NAME;
    const NULLABLE: bool = true;
}

/// Describes every column of a table's `all_columns` tuple.
trait Columns {
    fn describe(table: &str) -> Vec<ColumnRow>;
}

macro_rules! tuple_columns {
    ($($c:ident),+) => {
        impl<$($c),+> Columns for ($($c,)+)
        where
            $($c: Column, <$c as Expression>::SqlType: PgType),+
        {
            fn describe(table: &str) -> Vec<ColumnRow> {
                vec![$(ColumnRow {
                    table_name: table.to_owned(),
                    column_name: $c::NAME.to_owned(),
                    data_type: <<$c as Expression>::SqlType as PgType>::NAME.to_owned(),
                    nullable: <<$c as Expression>::SqlType as PgType>::NULLABLE,
                }),+]
            }
        }
    };
}
tuple_columns!(A, B);
tuple_columns!(A, B, C);
tuple_columns!(A, B, C, D);
tuple_columns!(A, B, C, D, E);
tuple_columns!(A, B, C, D, E, F);
tuple_columns!(A, B, C, D, E, F, G);
tuple_columns!(A, B, C, D, E, F, G, H);
tuple_columns!(A, B, C, D, E, F, G, H, I);
tuple_columns!(A, B, C, D, E, F, G, H, I, J);
tuple_columns!(A, B, C, D, E, F, G, H, I, J, K);
tuple_columns!(A, B, C, D, E, F, G, H, I, J, K, L);
tuple_columns!(A, B, C, D, E, F, G, H, I, J, K, L, M);
tuple_columns!(A, B, C, D, E, F, G, H, I, J, K, L, M, N);
tuple_columns!(A, B, C, D, E, F, G, H, I, J, K, L, M, N, O);
tuple_columns!(A, B, C, D, E, F, G, H, I, J, K, L, M, N, O, P);
tuple_columns!(A, B, C, D, E, F, G, H, I, J, K, L, M, N, O, P, Q);
tuple_columns!(A, B, C, D, E, F, G, H, I, J, K, L, M, N, O, P, Q, R);
tuple_columns!(A, B, C, D, E, F, G, H, I, J, K, L, M, N, O, P, Q, R, S);
tuple_columns!(A, B, C, D, E, F, G, H, I, J, K, L, M, N, O, P, Q, R, S, T);
tuple_columns!(A, B, C, D, E, F, G, H, I, J, K, L, M, N, O, P, Q, R, S, T, U);
tuple_columns!(A, B, C, D, E, F, G, H, I, J, K, L, M, N, O, P, Q, R, S, T, U, V);
tuple_columns!(A, B, C, D, E, F, G, H, I, J, K, L, M, N, O, P, Q, R, S, T, U, V, W);
tuple_columns!(A, B, C, D, E, F, G, H, I, J, K, L, M, N, O, P, Q, R, S, T, U, V, W, X);

fn describe<T: Table>(name: &str) -> Vec<ColumnRow>
where
    T::AllColumns: Columns,
{
    <T::AllColumns as Columns>::describe(name)
}

#[tokio::test]
async fn schema_rs_matches_the_database() {
    let url = fresh_database().await;
    let mut conn = AsyncPgConnection::establish(&url).await.unwrap();
    let mut known: Vec<ColumnRow> = [
        describe::<schema::users::table>("users"),
        describe::<schema::account_deletions::table>("account_deletions"),
        describe::<schema::refused_addresses::table>("refused_addresses"),
        describe::<schema::refresh_tokens::table>("refresh_tokens"),
        describe::<schema::groups::table>("groups"),
        describe::<schema::memberships::table>("memberships"),
        describe::<schema::invites::table>("invites"),
        describe::<schema::bans::table>("bans"),
        describe::<schema::modlog::table>("modlog"),
        describe::<schema::essays::table>("essays"),
        describe::<schema::paragraphs::table>("paragraphs"),
        describe::<schema::reading_sessions::table>("reading_sessions"),
        describe::<schema::paragraph_counts::table>("paragraph_counts"),
        describe::<schema::threads::table>("threads"),
        describe::<schema::comments::table>("comments"),
        describe::<schema::comment_revisions::table>("comment_revisions"),
        describe::<schema::reports::table>("reports"),
        describe::<schema::idempotency_keys::table>("idempotency_keys"),
        describe::<schema::password_resets::table>("password_resets"),
        describe::<schema::essay_revisions::table>("essay_revisions"),
        describe::<schema::paragraph_versions::table>("paragraph_versions"),
        describe::<schema::thread_anchors::table>("thread_anchors"),
        describe::<schema::thread_anchor_history::table>("thread_anchor_history"),
        describe::<schema::session_events::table>("session_events"),
        describe::<schema::event_watermarks::table>("event_watermarks"),
        describe::<schema::event_tickets::table>("event_tickets"),
        describe::<schema::thread_votes::table>("thread_votes"),
        describe::<schema::thread_answers::table>("thread_answers"),
        describe::<schema::thread_reads::table>("thread_reads"),
        describe::<schema::paragraph_reads::table>("paragraph_reads"),
        describe::<schema::notifications::table>("notifications"),
        describe::<schema::watches::table>("watches"),
        describe::<schema::notifier_cursor::table>("notifier_cursor"),
        describe::<schema::comment_mentions::table>("comment_mentions"),
        describe::<schema::blocks::table>("blocks"),
        describe::<schema::inbox_events::table>("inbox_events"),
        describe::<schema::push_subscriptions::table>("push_subscriptions"),
        describe::<schema::email_verifications::table>("email_verifications"),
        describe::<schema::notification_settings::table>("notification_settings"),
        describe::<schema::notification_mails::table>("notification_mails"),
        describe::<schema::notification_digests::table>("notification_digests"),
        describe::<schema::session_briefings::table>("session_briefings"),
        describe::<schema::calendar_feeds::table>("calendar_feeds"),
        describe::<schema::personal_exports::table>("personal_exports"),
        describe::<schema::personal_export_chunks::table>("personal_export_chunks"),
    ]
    .concat();
    known.sort();
    let mut actual: Vec<ColumnRow> = diesel::sql_query(
        "SELECT table_name::text, column_name::text, data_type::text, (is_nullable = 'YES') AS nullable \
         FROM information_schema.columns WHERE table_schema = 'public' AND table_name NOT LIKE '__diesel%' \
         ORDER BY 1, 2",
    )
    .load(&mut conn)
    .await
    .unwrap();
    actual.sort();
    let missing: Vec<_> = actual.iter().filter(|c| !known.contains(c)).collect();
    let extra: Vec<_> = known.iter().filter(|c| !actual.contains(c)).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "in the database but not in schema.rs: {missing:#?}\nin schema.rs but not in the database: {extra:#?}"
    );

    // And Diesel's own queries over every column run against the real tables.
    macro_rules! select_all {
        ($($t:ident),+) => {$(
            let sql = diesel::debug_query::<diesel::pg::Pg, _>(
                &diesel::QueryDsl::limit(diesel::QueryDsl::select(schema::$t::table, schema::$t::all_columns), 0),
            )
            .to_string();
            let sql = sql.split(" -- binds").next().unwrap().replace("$1", "0");
            diesel::sql_query(&sql).execute(&mut conn).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
        )+};
    }
    select_all!(
        users,
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
        threads,
        comments,
        comment_revisions,
        reports,
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
        paragraph_reads,
        personal_exports,
        personal_export_chunks
    );
}
