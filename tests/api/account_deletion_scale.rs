//! Erasing a user with 500 comments across 50 threads while others post
//! into those threads, with two instances working deletions: every count is
//! exact at the end, and each comment became a tombstone exactly once.

use diesel::sql_types::Text;
use diesel_async::RunQueryDsl;
use serde_json::json;

use crate::helpers::{assert_counts_exact, id, spawn_app_on, spawn_app_with, TestApp};

const THREADS: usize = 50;
const PER_THREAD: usize = 10;
const POSTS_EACH: usize = 40;

#[tokio::test]
async fn erasing_500_comments_while_others_post_keeps_every_count_exact() {
    let tune = |s: &mut pilcrow::config::Settings| {
        s.accounts.deletion_batch = 7;
        s.accounts.deletion_interval_ms = 20;
    };
    let app = spawn_app_with(tune).await;
    let other = spawn_app_on(&app.db_url, |s| {
        tune(s);
        s.auth.jwt_secret = app.settings.auth.jwt_secret.clone();
    })
    .await;
    let owner = app.register("owner").await;
    let (alice, bob, carol) =
        (app.register("alice").await, app.register("bob").await, app.register("carol").await);
    let reading = app.reading_with(&owner, "public", &[&alice, &bob, &carol]).await;
    let paragraphs = reading.essay["paragraphs"].as_array().map_or(1, Vec::len).max(1);
    let mut threads = Vec::new();
    for i in 0..THREADS {
        let paragraph = reading.paragraph_id(i % paragraphs);
        threads.push(id(&app.start_thread(&reading.session_id, &alice, &paragraph, "an opening").await));
    }
    // The rest of her comments in one statement; the counting triggers run as for any insert.
    diesel::sql_query(format!(
        "INSERT INTO comments (id, thread_id, depth, sort_key, author_id, body) \
         SELECT gen_random_uuid(), t.id, 0, '', t.author_id, 'note ' || g \
           FROM threads t, generate_series(2, {PER_THREAD}) g WHERE t.author_id = $1::uuid"
    ))
    .bind::<Text, _>(&alice.id)
    .execute(&mut app.db().await)
    .await
    .expect("seeding her comments");
    let mine = "SELECT count(*) AS n FROM comments WHERE author_id = $1::uuid";
    assert_eq!(app.count(mine, &alice.id).await, (THREADS * PER_THREAD) as i64);

    // Others post into her threads, through both instances, while she goes.
    async fn post(app: &TestApp, token: &str, threads: &[String]) {
        for (i, t) in threads.iter().cycle().take(POSTS_EACH).enumerate() {
            app.post(
                &format!("/threads/{t}/comments"),
                Some(token),
                json!({"body": format!("still here {i}")}),
            )
            .await
            .expect(201);
        }
    }
    let mut reversed = threads.clone();
    reversed.reverse();
    let deleting = async { app.delete_account(&alice, "erase").await.expect(202) };
    futures_util::join!(post(&app, &bob.token, &threads), post(&other, &carol.token, &reversed), deleting);
    app.deletion_done(&alice.id).await;

    let tombstoned =
        "SELECT count(*) AS n FROM comments WHERE author_id = $1::uuid AND deleted AND body = ''";
    assert_eq!(app.count(tombstoned, &alice.id).await, (THREADS * PER_THREAD) as i64);
    let once = "SELECT count(*) AS n FROM session_events e JOIN comments c ON c.id = e.comment_id \
                WHERE c.author_id = $1::uuid AND e.kind = 'comment.updated'";
    assert_eq!(app.count(once, &alice.id).await, (THREADS * PER_THREAD) as i64, "one tombstone each");
    let (threads_counted, comments_counted) =
        assert_counts_exact(&app, &reading.session_id, &owner.token).await;
    assert_eq!(threads_counted, THREADS as i64);
    assert_eq!(comments_counted, 2 * POSTS_EACH as i64);
    let drifted = "SELECT count(*) AS n FROM threads t WHERE t.session_id = $1::uuid AND t.comment_count <> \
                   (SELECT count(*) FROM comments c WHERE c.thread_id = t.id AND NOT c.deleted AND NOT c.hidden)";
    assert_eq!(app.count(drifted, &reading.session_id).await, 0);
}
