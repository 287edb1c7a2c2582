//! `Idempotency-Key` on creating POSTs: a retry replays the first answer and
//! creates nothing; another body with the same key is refused; concurrent
//! duplicates create exactly one row.

use std::sync::Arc;

use serde_json::{json, Value};

use crate::helpers::{spawn_app, Resp, TestApp, TestUser};

impl TestApp {
    async fn post_keyed(&self, path: &str, user: &TestUser, key: &str, body: &Value) -> Resp {
        self.raw(
            self.client
                .post(self.url(path))
                .bearer_auth(&user.token)
                .header("Idempotency-Key", key)
                .json(body),
        )
        .await
    }

    async fn comment_count(&self, thread_id: &str, user: &TestUser) -> usize {
        let page = self
            .get(&format!("/threads/{thread_id}/comments?limit=100"), Some(&user.token))
            .await
            .expect(200);
        page["items"].as_array().expect("items").len()
    }
}

/// Alice's public reading with one thread: (alice, thread id, group id).
async fn a_thread(app: &TestApp) -> (TestUser, String, String) {
    let alice = app.register("alice").await;
    let reading = app.reading(&alice, "public").await;
    let thread = app.start_thread(&reading.session_id, &alice, &reading.paragraph_id(0), "First").await;
    (alice, thread["id"].as_str().expect("thread id").to_owned(), reading.group_id)
}

#[tokio::test]
async fn a_retried_comment_is_replayed_not_duplicated() {
    let app = spawn_app().await;
    let (alice, thread_id, group_id) = a_thread(&app).await;
    let path = format!("/threads/{thread_id}/comments");
    let body = json!({"body": "Posted from a train"});
    let first = app.post_keyed(&path, &alice, "retry-1", &body).await;
    assert_eq!(first.status, 201, "{}", first.body);
    assert_eq!(first.header("idempotency-replayed"), None);
    let again = app.post_keyed(&path, &alice, "retry-1", &body).await;
    assert_eq!(again.status, 201, "{}", again.body);
    assert_eq!(again.header("idempotency-replayed"), Some("true"));
    assert_eq!(again.body, first.body);
    assert_eq!(again.header("location"), first.header("location"));
    // The thread's first comment plus one.
    assert_eq!(app.comment_count(&thread_id, &alice).await, 2);

    // Same key, another body: refused, nothing created.
    let other = app.post_keyed(&path, &alice, "retry-1", &json!({"body": "Something else"})).await;
    other.expect_problem(422, "idempotency_key_reused");
    // The same body on another route is another request too.
    let group =
        app.post_keyed("/groups", &alice, "retry-1", &json!({"name": "G", "visibility": "public"})).await;
    group.expect_problem(422, "idempotency_key_reused");
    assert_eq!(app.comment_count(&thread_id, &alice).await, 2);

    // Keys are per user.
    let bob = app.register("bob").await;
    app.post(&format!("/groups/{group_id}/join"), Some(&bob.token), json!({})).await.expect(201);
    app.post_keyed(&path, &bob, "retry-1", &body).await.expect(201);
    assert_eq!(app.comment_count(&thread_id, &alice).await, 3);
}

#[tokio::test]
async fn a_failed_request_keeps_no_key() {
    let app = spawn_app().await;
    let (alice, thread_id, _) = a_thread(&app).await;
    let missing = format!("/threads/{}/comments", uuid::Uuid::new_v4());
    app.post_keyed(&missing, &alice, "k", &json!({"body": "Hello"})).await.expect_problem(404, "not_found");
    // The key was not spent on the failure: it works for a real request.
    let path = format!("/threads/{thread_id}/comments");
    app.post_keyed(&path, &alice, "k", &json!({"body": "Hello"})).await.expect(201);
}

#[tokio::test]
async fn malformed_keys_are_refused() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let body = json!({"name": "G", "visibility": "public"});
    for key in ["", &"k".repeat(256), "with space", "ключ"] {
        let req = app
            .client
            .post(app.url("/groups"))
            .bearer_auth(&alice.token)
            .header("Idempotency-Key", key.as_bytes().to_vec())
            .json(&body);
        app.raw(req).await.expect_problem(422, "validation_failed");
    }
    app.post_keyed("/groups", &alice, &"k".repeat(255), &body).await.expect(201);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn six_concurrent_duplicates_create_one_row() {
    let app = Arc::new(spawn_app().await);
    let (alice, thread_id, _) = a_thread(&app).await;
    let path = format!("/threads/{thread_id}/comments");
    let body = json!({"body": "Tapped six times"});
    let sends = (0..6).map(|_| {
        let (app, alice, path, body) = (app.clone(), alice.clone(), path.clone(), body.clone());
        tokio::spawn(async move { app.post_keyed(&path, &alice, "tap", &body).await })
    });
    let results: Vec<Resp> =
        futures_util::future::join_all(sends).await.into_iter().map(|r| r.expect("task")).collect();
    let created: Vec<&Resp> = results.iter().filter(|r| r.status == 201).collect();
    assert!(!created.is_empty(), "none created: {results:?}");
    for r in &results {
        if r.status == 201 {
            assert_eq!(r.body["id"], created[0].body["id"], "two different comments");
        } else {
            r.expect_problem(409, "idempotency_key_in_flight");
        }
    }
    assert_eq!(app.comment_count(&thread_id, &alice).await, 2, "exactly one comment besides the first");
    // Once the first has finished, a retry is a replay.
    let later = app.post_keyed(&path, &alice, "tap", &body).await;
    assert_eq!(later.header("idempotency-replayed"), Some("true"));
    assert_eq!(later.body["id"], created[0].body["id"]);
}

/// The other creating POSTs (an essay, whose body is read after the access
/// check, a join, an invite acceptance, a ban) replay a retry too, where
/// without a key a retry would create a second essay or answer 409.
#[tokio::test]
async fn every_creating_post_replays_a_retry() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let reading = app.reading(&alice, "public").await;
    let group = &reading.group_id;

    let essay = json!({"title": "Notes", "format": "text", "body": "One.\n\nTwo."});
    let path = format!("/groups/{group}/essays");
    let first = app.post_keyed(&path, &alice, "essay", &essay).await.expect(201);
    let again = app.post_keyed(&path, &alice, "essay", &essay).await;
    assert_eq!(again.header("idempotency-replayed"), Some("true"));
    assert_eq!(again.body, first);
    let other = json!({"title": "Notes", "format": "text", "body": "One.\n\nThree."});
    app.post_keyed(&path, &alice, "essay", &other).await.expect_problem(422, "idempotency_key_reused");
    let essays = app.get(&path, Some(&alice.token)).await.expect(200);
    assert_eq!(essays["items"].as_array().expect("items").len(), 2, "the reading's essay and one more");

    let bob = app.register("bob").await;
    let join = format!("/groups/{group}/join");
    let joined = app.post_keyed(&join, &bob, "join", &json!({})).await.expect(201);
    let again = app.post_keyed(&join, &bob, "join", &json!({})).await;
    assert_eq!((again.status, again.header("idempotency-replayed")), (201, Some("true")));
    assert_eq!(again.body, joined);

    let private = app.create_group(&alice, "private").await;
    let code = app.invite(&private, &alice, json!({"max_uses": 5})).await;
    let accept = format!("/invites/{code}/accept");
    let accepted = app.post_keyed(&accept, &bob, "accept", &json!({})).await.expect(201);
    let again = app.post_keyed(&accept, &bob, "accept", &json!({})).await;
    assert_eq!((again.status, &again.body), (201, &accepted));
    let invites = app.get(&format!("/groups/{private}/invites"), Some(&alice.token)).await.expect(200);
    assert_eq!(invites["items"][0]["uses"], 1, "the replay used no second seat");

    let ban = json!({"user_id": bob.id, "reason": "Spam"});
    let bans = format!("/groups/{group}/bans");
    let banned = app.post_keyed(&bans, &alice, "ban", &ban).await.expect(201);
    let again = app.post_keyed(&bans, &alice, "ban", &ban).await;
    assert_eq!((again.status, &again.body), (201, &banned));
    let log = app.get(&format!("/groups/{group}/modlog"), Some(&alice.token)).await.expect(200);
    let ban_entries = log["items"].as_array().expect("items").iter().filter(|e| e["action"] == "ban").count();
    assert_eq!(ban_entries, 1, "one ban in the log: {log}");
}
