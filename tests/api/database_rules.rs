//! The rules of `src/db/replaceable/triggers.sql` at work: re-applying them
//! leaves every count as it was, and the guards refuse the moves no trigger
//! counts yet. (Threads changing paragraph are counted: revisions_counts.rs.) (Skipping an unchanged file is checked in migrations.rs.)

use diesel_async::SimpleAsyncConnection;
use pilcrow::db::{migrate, replaceable};

use crate::helpers::{mark_stale, recorded, recount, spawn_app, Recount};

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
