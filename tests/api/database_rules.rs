//! The rules of `src/db/replaceable/triggers.sql` at work: re-applying them
//! leaves every count as it was, and the guards refuse the moves no trigger
//! counts yet, and one insert trigger serves every writer. (Threads changing
//! paragraph are counted: revisions_counts.rs. Skipping an unchanged file is
//! checked in migrations.rs.)

use diesel_async::{RunQueryDsl, SimpleAsyncConnection};
use pilcrow::db::{migrate, replaceable};

use crate::helpers::{mark_stale, recorded, recount, spawn_app, Reading, Recount, TestApp, TestUser};

/// A public reading with its organiser and one member.
async fn organiser_and_member(app: &TestApp) -> (TestUser, TestUser, Reading) {
    let owner = app.register("organiser").await;
    let reader = app.register("reader").await;
    let reading = app.reading(&owner, "public").await;
    app.add_member(&reading.group_id, &owner, &reader, "member").await;
    (owner, reader, reading)
}

#[tokio::test]
async fn counts_are_unchanged_by_reapplying() {
    let app = spawn_app().await;
    let (owner, reader, reading) = organiser_and_member(&app).await;
    let sid = &reading.session_id;
    let (p0, p1) = (reading.paragraph_id(0), reading.paragraph_id(1));
    let t0 = app.start_thread(sid, &owner, &p0, "first").await;
    let t0 = t0["id"].as_str().unwrap();
    let t1 = app.start_thread(sid, &reader, &p1, "second").await;
    let t1 = t1["id"].as_str().unwrap();
    app.comment(t0, &reader, None, "a reply").await;
    let hidden = app.comment(t0, &reader, None, "to be hidden").await;
    app.post(
        &format!("/comments/{}/moderation", hidden["id"].as_str().unwrap()),
        Some(&owner.token),
        serde_json::json!({"action": "hide"}),
    )
    .await
    .expect(200);
    app.comment(t1, &owner, None, "another").await;
    let counts_path = format!("/sessions/{sid}/counts");
    let before = app.get(&counts_path, None).await.expect(200);

    mark_stale(&mut app.db().await).await;
    migrate::run(&app.db_url).await.expect("re-applying");
    assert_eq!(recorded(&mut app.db().await).await, Some(replaceable::fingerprint()));
    assert_eq!(app.get(&counts_path, None).await.expect(200), before);

    // The re-created triggers count as the old ones did.
    app.comment(t1, &reader, None, "after the re-apply").await;
    assert_eq!(app.paragraph_counts(sid, &p1, None).await, (1, 3));
    assert_eq!(app.paragraph_counts(sid, &p0, None).await, (1, 2));
    let mut db = app.db().await;
    assert_eq!(recount(&mut db, sid, &p1).await, Recount { threads: 1, comments: 3 });
    assert_eq!(recount(&mut db, sid, &p0).await, Recount { threads: 1, comments: 2 });
}

#[tokio::test]
async fn moving_threads_or_comments_is_refused() {
    let app = spawn_app().await;
    let owner = app.register("organiser").await;
    let reading = app.reading(&owner, "public").await;
    let sid = &reading.session_id;
    let essay_id = reading.essay["id"].as_str().unwrap();
    let other_session = app.open_session(&reading.group_id, &owner, essay_id).await;
    let (p0, p1) = (reading.paragraph_id(0), reading.paragraph_id(1));
    let thread = app.start_thread(sid, &owner, &p0, "here").await;
    let thread = thread["id"].as_str().unwrap();
    let elsewhere = app.start_thread(sid, &owner, &p1, "there").await;
    let elsewhere = elsewhere["id"].as_str().unwrap();
    let comment = app.comment(thread, &owner, None, "stays put").await;
    let comment = comment["id"].as_str().unwrap();

    let mut db = app.db().await;
    for (sql, column) in [
        (
            format!("UPDATE threads SET session_id = '{other_session}' WHERE id = '{thread}'"),
            "threads.session_id",
        ),
        (
            format!("UPDATE comments SET thread_id = '{elsewhere}' WHERE id = '{comment}'"),
            "comments.thread_id",
        ),
    ] {
        let err = db.batch_execute(&sql).await.expect_err(&sql).to_string();
        assert!(err.contains(&format!("{column} cannot be changed")), "{sql}: {err}");
    }
    // Setting a column to its own value moves nothing and is allowed.
    db.batch_execute(&format!(
        "UPDATE threads SET paragraph_id = paragraph_id, session_id = session_id WHERE id = '{thread}'; \
         UPDATE comments SET thread_id = thread_id WHERE id = '{comment}'"
    ))
    .await
    .expect("a no-op update");
    assert_eq!(app.paragraph_counts(sid, &p0, None).await, (1, 2));
    assert_eq!(app.paragraph_counts(sid, &p1, None).await, (1, 1));
}

/// What one comment insert leaves behind, read from the rows.
#[derive(diesel::QueryableByName, Debug, PartialEq, Eq)]
struct Posted {
    #[diesel(sql_type = diesel::sql_types::Integer)]
    thread_count: i32,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    events: i64,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    read_to_newest: bool,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    in_tree_order: bool,
}

async fn posted(db: &mut diesel_async::AsyncPgConnection, thread: &str, author: &str) -> Posted {
    diesel::sql_query(
        "SELECT t.comment_count AS thread_count,
                (SELECT count(*) FROM session_events e JOIN comments c ON c.id = e.comment_id
                  WHERE c.thread_id = t.id AND e.kind = 'comment.created'
                    AND e.session_id = t.session_id AND e.paragraph_id = t.paragraph_id) AS events,
                coalesce((SELECT r.seq = (SELECT max(seq) FROM comments WHERE thread_id = t.id AND author_id = $2::uuid)
                            FROM thread_reads r WHERE r.thread_id = t.id AND r.user_id = $2::uuid), false) AS read_to_newest,
                (SELECT bool_and(c.sort_key = coalesce(p.sort_key, '') || lpad(to_hex(c.seq), 16, '0'))
                   FROM comments c LEFT JOIN comments p ON p.id = c.parent_id WHERE c.thread_id = t.id) AS in_tree_order
           FROM threads t WHERE t.id = $1::uuid",
    )
    .bind::<diesel::sql_types::Text, _>(thread)
    .bind::<diesel::sql_types::Text, _>(author)
    .get_result(db)
    .await
    .expect("reading what the inserts left")
}

/// One trigger does all an insert implies (counts, tree order, the live
/// event, the author's read mark) for every writer, the API or plain SQL;
/// in a hidden thread the paragraph's count stays as it was; and a failed
/// insert leaves nothing of it behind.
#[tokio::test]
async fn an_insert_from_any_writer_is_counted_ordered_announced_and_read() {
    let app = spawn_app().await;
    let (owner, reader, reading) = organiser_and_member(&app).await;
    let sid = &reading.session_id;
    let (p0, p1) = (reading.paragraph_id(0), reading.paragraph_id(1));
    let shown = app.start_thread(sid, &owner, &p0, "shown").await;
    let shown = shown["id"].as_str().unwrap().to_string();
    let hidden = app.start_thread(sid, &owner, &p1, "to be hidden").await;
    let hidden = hidden["id"].as_str().unwrap().to_string();
    app.post(
        &format!("/threads/{hidden}/moderation"),
        Some(&owner.token),
        serde_json::json!({"action": "hide"}),
    )
    .await
    .expect(200);
    let parent = app.comment(&shown, &reader, None, "through the API").await;
    let parent = parent["id"].as_str().unwrap();

    let mut db = app.db().await;
    let insert = |id: &str, thread: &str, parent: &str, depth: i16| {
        format!(
            "INSERT INTO comments (id, thread_id, parent_id, depth, sort_key, author_id, body)
             VALUES ('{id}', '{thread}', {parent}, {depth}, '', '{}', 'written in SQL')",
            reader.id
        )
    };
    let reply = uuid::Uuid::now_v7().to_string();
    db.batch_execute(&insert(&reply, &shown, &format!("'{parent}'"), 1)).await.unwrap();
    db.batch_execute(&insert(&uuid::Uuid::now_v7().to_string(), &hidden, "NULL", 0)).await.unwrap();

    // The thread's first comment, the API's and the SQL reply.
    let expect = Posted { thread_count: 3, events: 3, read_to_newest: true, in_tree_order: true };
    assert_eq!(posted(&mut db, &shown, &reader.id).await, expect);
    let expect = Posted { thread_count: 2, events: 2, read_to_newest: true, in_tree_order: true };
    assert_eq!(posted(&mut db, &hidden, &reader.id).await, expect);
    assert_eq!(app.paragraph_counts(sid, &p0, None).await, (1, 3));
    assert_eq!(app.paragraph_counts(sid, &p1, None).await, (0, 0));
    assert_eq!(recount(&mut db, sid, &p0).await, Recount { threads: 1, comments: 3 });

    // No such thread: the foreign key refuses the row, and nothing the
    // trigger would have written is left.
    let counts_before = app.get(&format!("/sessions/{sid}/counts"), None).await.expect(200);
    let missing = uuid::Uuid::now_v7().to_string();
    let refused = db.batch_execute(&insert(&uuid::Uuid::now_v7().to_string(), &missing, "NULL", 0)).await;
    let refused = refused.unwrap_err().to_string();
    assert!(refused.contains("comments_thread_id_fkey"), "{refused}");
    assert_eq!(app.get(&format!("/sessions/{sid}/counts"), None).await.expect(200), counts_before);
    let strays = diesel::sql_query("SELECT count(*) AS n FROM session_events WHERE thread_id = $1::uuid")
        .bind::<diesel::sql_types::Text, _>(&missing)
        .get_result::<Count>(&mut db)
        .await
        .unwrap();
    assert_eq!(strays.n, 0);
    assert_eq!(posted(&mut db, &shown, &reader.id).await.events, 3);
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// `r.anonymous_access` is `r.caller_access` for the caller with no account
/// (the nil id, version -1), row for row, in public and private groups and
/// for a group that does not exist.
#[tokio::test]
async fn the_anonymous_caller_has_the_same_facts_either_way() {
    #[derive(diesel::QueryableByName)]
    struct Compared {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        same: bool,
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Bool>)]
        readable: Option<bool>,
    }
    let app = spawn_app().await;
    let owner = app.register("organiser").await;
    let public = app.reading(&owner, "public").await;
    let private = app.reading(&owner, "private").await;
    let mut db = app.db().await;
    let nil = uuid::Uuid::nil().to_string();
    for (group, readable) in [(&public.group_id, Some(true)), (&private.group_id, Some(false)), (&nil, None)]
    {
        let compared: Compared = diesel::sql_query(
            "SELECT (SELECT array_agg(c::text) FROM r.caller_access($1, $2, -1) c)
                    IS NOT DISTINCT FROM (SELECT array_agg(a::text) FROM r.anonymous_access($1) a) AS same,
                    (SELECT readable FROM r.anonymous_access($1)) AS readable",
        )
        .bind::<diesel::sql_types::Uuid, _>(group.parse::<uuid::Uuid>().unwrap())
        .bind::<diesel::sql_types::Uuid, _>(uuid::Uuid::nil())
        .get_result(&mut db)
        .await
        .unwrap();
        assert!(compared.same, "group {group}");
        assert_eq!(compared.readable, readable, "group {group}");
    }
}
