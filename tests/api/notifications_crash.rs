//! Nothing acknowledged is lost: a server killed (SIGKILL) right after
//! answering 201 leaves a comment whose notification a restarted server
//! derives, once.

use serde_json::json;

use crate::helpers::{id, items, spawn_app_on, spawn_app_with, Served};

/// Hours: the notifier of this process never runs during the test.
const NEVER_MS: u64 = 3_600_000;

#[tokio::test]
async fn a_notification_survives_a_sigkill_right_after_the_201() {
    // Set-up through an in-process server whose notifier never runs.
    let app = spawn_app_with(|s| s.notifications.derive_interval_ms = NEVER_MS).await;
    let owner = app.register("owner").await;
    let (alice, bob) = (app.register("alice").await, app.register("bob").await);
    let reading = app.reading_with(&owner, "public", &[&alice, &bob]).await;
    let t = id(&app.start_thread(&reading.session_id, &alice, &reading.paragraph_id(0), "a thread").await);

    let child =
        Served::start(&app, &[("PILCROW__NOTIFICATIONS__DERIVE_INTERVAL_MS", NEVER_MS.to_string())]).await;
    let client = reqwest::Client::new();
    let created = client
        .post(child.url(&format!("/threads/{t}/comments")))
        .bearer_auth(&bob.token)
        .json(&json!({"body": "acknowledged, then the server dies"}))
        .send()
        .await
        .expect("posting");
    assert_eq!(created.status().as_u16(), 201);
    // SIGKILL at once: no shutdown of any kind runs.
    child.kill();
    let comment: serde_json::Value = created.json().await.expect("the 201's body");

    // A server started afterwards derives what the dead one acknowledged.
    let restarted = spawn_app_on(&app.db_url, |s| {
        s.auth.jwt_secret = app.settings.auth.jwt_secret.clone();
        s.notifications.derive_interval_ms = 50;
    })
    .await;
    restarted.notifier_settled().await;
    let inbox = restarted.inbox(&alice, "").await;
    assert_eq!(items(&inbox).len(), 1, "{inbox}");
    assert_eq!(items(&inbox)[0]["reason"], "reply");
    assert_eq!(items(&inbox)[0]["latest_comment_id"], comment["id"]);
    assert_eq!(items(&inbox)[0]["new_count"], 1);
}
