//! Posting decides on what it read, then writes in one statement that goes
//! ahead only if the thread and its session still look as they did. These
//! tests change them in between, holding the change uncommitted until the
//! post is waiting on the thread's lock, and check the post then decides
//! again instead of landing in a locked thread or a closed session.

use diesel::sql_types::BigInt;
use diesel::QueryableByName;
use diesel_async::{AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use serde_json::json;

use crate::helpers::{all_counts, cast, comments_of, id, spawn_app, TestApp};

#[derive(QueryableByName)]
struct Waiting {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Until some backend of this database waits for a lock (the post, on the
/// thread row the test's open transaction holds).
async fn until_a_post_waits(app: &TestApp) {
    let mut db: AsyncPgConnection = app.db().await;
    for _ in 0..500 {
        let row: Waiting = diesel::sql_query(
            "SELECT count(*) AS n FROM pg_stat_activity \
              WHERE datname = current_database() AND wait_event_type = 'Lock'",
        )
        .get_result(&mut db)
        .await
        .expect("pg_stat_activity");
        if row.n > 0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("the post never waited for the thread's lock");
}

#[tokio::test]
async fn a_lock_committed_while_a_post_waits_refuses_the_post() {
    let app = spawn_app().await;
    let cast = cast(&app, "public").await;
    let para = cast.reading.paragraph_id(3);
    let t = id(&app.start_thread(cast.session(), &cast.member, &para, "opening").await);
    assert_eq!(all_counts(&app, &cast, &para, None).await, (1, 1));

    // What a moderator's lock does, held open: the post reads "unlocked"
    // (the lock is not committed), decides to post, and waits at the write.
    let mut moderator_tx = app.db().await;
    moderator_tx
        .batch_execute(&format!("BEGIN; UPDATE threads SET locked = true WHERE id = '{t}'"))
        .await
        .expect("lock the thread");
    let path = format!("/threads/{t}/comments");
    let post = app.post(&path, Some(&cast.member.token), json!({"body": "late"}));
    let commit = async {
        until_a_post_waits(&app).await;
        moderator_tx.batch_execute("COMMIT").await.expect("commit the lock");
    };
    let (response, ()) = tokio::join!(post, commit);
    response.expect_problem(409, "thread_locked");

    assert_eq!(all_counts(&app, &cast, &para, None).await, (1, 1));
    assert_eq!(comments_of(&app, &t, None).await.len(), 1);
    // A moderator still may, so the refusal was the lock's.
    app.post(&format!("/threads/{t}/comments"), Some(&cast.moderator.token), json!({"body": "calm"}))
        .await
        .expect(201);
    assert_eq!(all_counts(&app, &cast, &para, None).await, (1, 2));
}

#[tokio::test]
async fn a_close_committed_while_a_post_waits_refuses_the_post() {
    let app = spawn_app().await;
    let cast = cast(&app, "public").await;
    let para = cast.reading.paragraph_id(4);
    let t = id(&app.start_thread(cast.session(), &cast.member, &para, "opening").await);
    let sid = cast.session();

    // Closing as src/sessions/routes.rs does: the session row, then every
    // thread's lock, held open while the post waits on its thread.
    let mut closing_tx = app.db().await;
    closing_tx
        .batch_execute(&format!(
            "BEGIN; UPDATE reading_sessions SET status = 'closed' WHERE id = '{sid}'; \
             SELECT id FROM threads WHERE session_id = '{sid}' FOR UPDATE"
        ))
        .await
        .expect("close the session");
    let path = format!("/threads/{t}/comments");
    let post = app.post(&path, Some(&cast.owner.token), json!({"body": "late"}));
    let commit = async {
        until_a_post_waits(&app).await;
        closing_tx.batch_execute("COMMIT").await.expect("commit the close");
    };
    let (response, ()) = tokio::join!(post, commit);
    response.expect_problem(409, "session_closed");
    assert_eq!(all_counts(&app, &cast, &para, None).await, (1, 1));
    assert_eq!(comments_of(&app, &t, None).await.len(), 1);
}

#[tokio::test]
async fn a_post_that_got_the_lock_first_lands_before_the_lock() {
    let app = spawn_app().await;
    let cast = cast(&app, "public").await;
    let para = cast.reading.paragraph_id(5);
    let t = id(&app.start_thread(cast.session(), &cast.member, &para, "opening").await);

    // The thread row is held by an unrelated writer that changes nothing the
    // post decided on: the post waits, then lands, and counts.
    let mut other_tx = app.db().await;
    other_tx
        .batch_execute(&format!("BEGIN; SELECT id FROM threads WHERE id = '{t}' FOR NO KEY UPDATE"))
        .await
        .expect("hold the thread");
    let path = format!("/threads/{t}/comments");
    let post = app.post(&path, Some(&cast.member.token), json!({"body": "on time"}));
    let commit = async {
        until_a_post_waits(&app).await;
        other_tx.batch_execute("COMMIT").await.expect("release the thread");
    };
    let (response, ()) = tokio::join!(post, commit);
    let comment = response.expect(201);
    assert_eq!(comment["body"], "on time");
    assert_eq!(comment["depth"], 0);
    assert_eq!(all_counts(&app, &cast, &para, None).await, (1, 2));
    let list = comments_of(&app, &t, None).await;
    assert_eq!(list.len(), 2);
    assert_eq!(list[1]["id"], comment["id"]);
}
