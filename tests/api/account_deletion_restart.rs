//! An erasure survives its instance. The server doing it is killed
//! (SIGKILL) with a batch in flight; nothing half-done is visible after (the
//! batch left no trace, every count matches the rows, every comment of the
//! erased user already reads as a tombstone), and another instance
//! finishes the job.

use std::time::{Duration, Instant};

use diesel::sql_types::Text;
use diesel_async::RunQueryDsl;
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{assert_counts_exact, id, spawn_app_on, spawn_app_with, Served};

/// Hours: deletions never run on the in-process set-up server.
const NEVER_MS: u64 = 3_600_000;

#[tokio::test]
async fn an_erasure_killed_mid_batch_is_finished_by_another_instance() {
    let app = spawn_app_with(|s| s.accounts.deletion_interval_ms = NEVER_MS).await;
    let owner = app.register("owner").await;
    let (alice, bob) = (app.register("alice").await, app.register("bob").await);
    let reading = app.reading_with(&owner, "public", &[&alice, &bob]).await;
    let mut threads = Vec::new();
    for i in 0..3 {
        let t = id(&app
            .start_thread(&reading.session_id, &alice, &reading.paragraph_id(i), "opening words")
            .await);
        for j in 0..4 {
            app.comment(&t, &alice, None, &format!("remark {j}")).await;
        }
        app.comment(&t, &bob, None, "bob was here").await;
        threads.push(t);
    }
    // Batches take the user's threads in the order of their oldest comment
    // (here, the order they were started, as ids are): holding the last
    // one's row stops the erasure inside its first batch there, with the
    // others done.
    threads.sort();
    let last = threads[2].clone();
    let mut holder = app.db().await;
    diesel::sql_query("BEGIN").execute(&mut holder).await.expect("begin");
    diesel::sql_query("SELECT 1 FROM threads WHERE id = $1::uuid FOR UPDATE")
        .bind::<Text, _>(&last)
        .execute(&mut holder)
        .await
        .expect("holding the thread");

    let server = Served::start(
        &app,
        &[
            ("PILCROW__ACCOUNTS__DELETION_BATCH", "2".to_owned()),
            ("PILCROW__ACCOUNTS__DELETION_INTERVAL_MS", "20".to_owned()),
        ],
    )
    .await;
    let deleted = reqwest::Client::new()
        .request(Method::DELETE, server.url("/me"))
        .bearer_auth(&alice.token)
        .json(&json!({"password": alice.password, "content": "erase"}))
        .send()
        .await
        .expect("deleting");
    assert_eq!(deleted.status().as_u16(), 202);
    let waiting = "SELECT count(*) AS n FROM pg_stat_activity \
                   WHERE wait_event_type = 'Lock' AND query LIKE '%SET deleted = true%' \
                   AND pid <> pg_backend_pid() AND $1 <> ''";
    let started = Instant::now();
    while app.count(waiting, "x").await == 0 {
        assert!(started.elapsed() < Duration::from_secs(60), "the erasure never reached the held thread");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.kill();
    diesel::sql_query("ROLLBACK").execute(&mut holder).await.expect("releasing the thread");
    // The killed server's backend goes once it finds its client gone.
    let started = Instant::now();
    while app.count(&waiting.replace("wait_event_type = 'Lock' AND ", ""), "x").await > 0 {
        assert!(started.elapsed() < Duration::from_secs(60), "the killed server's batch never ended");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Half-way, nothing half-done: the batch in flight left no trace, the
    // two threads before it are done, and the counts match the rows.
    let tombstoned =
        "SELECT count(*) AS n FROM comments WHERE author_id = $1::uuid AND deleted AND body = ''";
    let in_last = format!("{tombstoned} AND thread_id = '{last}'");
    assert_eq!(app.count(&in_last, &alice.id).await, 0, "the batch in flight left tombstones");
    assert_eq!(app.count(tombstoned, &alice.id).await, 10);
    assert!(!app.deletion_finished(&alice.id).await);
    assert_counts_exact(&app, &reading.session_id, &bob.token).await;
    for t in &threads {
        let page = app.get(&format!("/threads/{t}/comments"), Some(&bob.token)).await.expect(200);
        for c in page["items"].as_array().expect("items") {
            let erased = c["author"].is_null();
            let bobs = c["body"] == "bob was here";
            assert!(erased != bobs, "{c}");
            if erased {
                assert_eq!((c["deleted"].clone(), c["body"].clone()), (json!(true), Value::Null));
            }
        }
    }

    // Another instance finishes it.
    let other = spawn_app_on(&app.db_url, |s| {
        s.auth.jwt_secret = app.settings.auth.jwt_secret.clone();
        s.accounts.deletion_interval_ms = 20;
    })
    .await;
    other.deletion_done(&alice.id).await;
    assert_eq!(app.count(tombstoned, &alice.id).await, 15);
    assert_counts_exact(&other, &reading.session_id, &bob.token).await;
    assert_eq!(other.personal_rows(&alice.id).await, Vec::<(String, i64)>::new());
}
