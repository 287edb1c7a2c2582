//! The replaceable schema (`src/db/replaceable/triggers.sql`): applied once,
//! skipped while unchanged, harmless to re-apply, and its guards refuse the
//! moves no trigger counts yet.

use std::time::Duration;

use diesel::sql_types::{Nullable, Text};
use diesel::QueryableByName;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use pilcrow::db::{migrate, replaceable};

use crate::helpers::{fresh_database, recount, spawn_app, Recount};

#[derive(QueryableByName)]
struct Oid {
    #[diesel(sql_type = Text)]
    oid: String,
}

/// The identity of every function in schema `r`: a re-apply gives them new oids.
async fn function_oids(conn: &mut AsyncPgConnection) -> Vec<String> {
    diesel::sql_query(
        "SELECT p.oid::text AS oid FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace \
         WHERE n.nspname = 'r' ORDER BY p.proname",
    )
    .load::<Oid>(conn)
    .await
    .unwrap()
    .into_iter()
    .map(|o| o.oid)
    .collect()
}

#[derive(QueryableByName)]
struct Comment {
    #[diesel(sql_type = Nullable<Text>)]
    comment: Option<String>,
}

async fn recorded(conn: &mut AsyncPgConnection) -> Option<String> {
    diesel::sql_query("SELECT obj_description('r'::regnamespace, 'pg_namespace') AS comment")
        .get_result::<Comment>(conn)
        .await
        .unwrap()
        .comment
}

/// Makes the next `migrate::run` re-apply the file, as an edited file would.
async fn mark_stale(conn: &mut AsyncPgConnection) {
    conn.batch_execute("COMMENT ON SCHEMA r IS 'sha256:stale'").await.unwrap();
}

#[tokio::test]
async fn reapplying_is_skipped_while_the_file_is_unchanged() {
    let url = fresh_database().await;
    let mut conn = AsyncPgConnection::establish(&url).await.unwrap();
    assert_eq!(recorded(&mut conn).await, Some(replaceable::fingerprint()));
    let oids = function_oids(&mut conn).await;
    assert_eq!(
        oids.len(),
        5,
        "r.bump_paragraph, comment_counted, comment_sort_key, refuse_move, thread_counted"
    );

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

#[tokio::test]
async fn counts_are_unchanged_by_reapplying() {
    let app = spawn_app().await;
    let owner = app.register("organiser").await;
    let reader = app.register("reader").await;
    let reading = app.reading(&owner, "public").await;
    app.add_member(&reading.group_id, &owner, &reader, "member").await;
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
        (format!("UPDATE threads SET paragraph_id = '{p1}' WHERE id = '{thread}'"), "threads.paragraph_id"),
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
