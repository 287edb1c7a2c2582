//! Private groups cannot be discovered: not from slugs, not from how long a
//! 404 takes.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::helpers::{spawn_app, TestApp};

#[tokio::test]
async fn a_private_group_s_slug_reveals_nothing() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let private = app
        .post("/groups", Some(&alice.token), json!({"name": "Secret Society", "visibility": "private"}))
        .await
        .expect(201);
    let private_slug = private["slug"].as_str().expect("slug");
    assert!(
        private_slug.starts_with("secret-society-") && private_slug.len() == "secret-society-".len() + 8,
        "{private_slug}"
    );
    let asked = app
        .post(
            "/groups",
            Some(&alice.token),
            json!({"name": "Other", "slug": "hidden", "visibility": "private"}),
        )
        .await
        .expect(201);
    assert_ne!(asked["slug"], "hidden");

    // Bob, who cannot see them, gets the plain slugs: no `-2`, no `slug_taken`.
    let public = app
        .post("/groups", Some(&bob.token), json!({"name": "Secret Society", "visibility": "public"}))
        .await
        .expect(201);
    assert_eq!(public["slug"], "secret-society");
    let chosen = app
        .post("/groups", Some(&bob.token), json!({"name": "Mine", "slug": "hidden", "visibility": "public"}))
        .await
        .expect(201);
    assert_eq!(chosen["slug"], "hidden");
    // A public slug is still unique.
    app.post(
        "/groups",
        Some(&alice.token),
        json!({"name": "Again", "slug": "hidden", "visibility": "public"}),
    )
    .await
    .expect_problem(409, "slug_taken");
}

async fn median_of(app: &TestApp, path: &str, token: &str) -> Duration {
    let mut times = Vec::new();
    for _ in 0..15 {
        let started = Instant::now();
        app.get(path, Some(token)).await.expect_problem(404, "not_found");
        times.push(started.elapsed());
    }
    times.sort();
    times[times.len() / 2]
}

/// Before access was decided first, a real private session of 5,000
/// paragraphs answered 404 in 22–37 ms and a random id in 2–4 ms.
#[tokio::test]
async fn a_404_costs_the_same_for_a_real_private_session_and_a_random_id() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let mallory = app.register("mallory").await;
    let group_id = app.create_group(&alice, "private").await;
    let body: String = (0..5_000).map(|i| format!("Paragraph number {i} of a long essay.\n\n")).collect();
    let essay = app.import_essay(&group_id, &alice, &body).await;
    assert_eq!(essay["paragraphs"].as_array().map(Vec::len), Some(5_000));
    let session_id = app.open_session(&group_id, &alice, essay["id"].as_str().expect("essay id")).await;
    let random = uuid::Uuid::new_v4();
    for what in ["counts", "paragraphs"] {
        // Warm both paths once.
        median_of(&app, &format!("/sessions/{session_id}/{what}"), &mallory.token).await;
        let real = median_of(&app, &format!("/sessions/{session_id}/{what}"), &mallory.token).await;
        let absent = median_of(&app, &format!("/sessions/{random}/{what}"), &mallory.token).await;
        eprintln!("/{what}: real private session {real:?}, random id {absent:?}");
        assert!(
            real < absent * 3 + Duration::from_millis(5),
            "/{what}: {real:?} for a real private session, {absent:?} for a random id"
        );
    }
}
