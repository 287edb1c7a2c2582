//! Nothing acknowledged is lost: a server killed (SIGKILL) right after
//! answering 201 leaves a comment whose notification a restarted server
//! derives, once.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use secrecy::ExposeSecret;
use serde_json::json;

use crate::helpers::{id, items, spawn_app_on, spawn_app_with};

/// Hours: the notifier of this process never runs during the test.
const NEVER_MS: u64 = 3_600_000;

/// `pilcrow serve` as its own process on `db_url`, signing with `secret`.
fn serve(db_url: &str, secret: &str, port: u16) -> Child {
    Command::new(env!("CARGO_BIN_EXE_pilcrow"))
        .arg("serve")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("PILCROW_ENV")
        .env_remove("RUST_LOG")
        .env("DATABASE_URL", db_url)
        .env("PILCROW__AUTH__JWT_SECRET", secret)
        .env("PILCROW__SERVER__PORT", port.to_string())
        .env("PILCROW__SERVER__WORKERS", "1")
        .env("PILCROW__NOTIFICATIONS__DERIVE_INTERVAL_MS", NEVER_MS.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting pilcrow serve")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port()
}

#[tokio::test]
async fn a_notification_survives_a_sigkill_right_after_the_201() {
    // Set-up through an in-process server whose notifier never runs.
    let app = spawn_app_with(|s| s.notifications.derive_interval_ms = NEVER_MS).await;
    let owner = app.register("owner").await;
    let (alice, bob) = (app.register("alice").await, app.register("bob").await);
    let reading = app.reading_with(&owner, "public", &[&alice, &bob]).await;
    let t = id(&app.start_thread(&reading.session_id, &alice, &reading.paragraph_id(0), "a thread").await);

    let secret = app.settings.auth.jwt_secret.as_ref().expect("a secret").expose_secret().to_owned();
    let port = free_port();
    let mut child = serve(&app.db_url, &secret, port);
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let started = Instant::now();
    while client.get(format!("{base}/health")).send().await.map(|r| r.status().as_u16()).ok() != Some(200) {
        assert!(started.elapsed() < Duration::from_secs(60), "the server never became healthy");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let created = client
        .post(format!("{base}/api/v1/threads/{t}/comments"))
        .bearer_auth(&bob.token)
        .json(&json!({"body": "acknowledged, then the server dies"}))
        .send()
        .await
        .expect("posting");
    assert_eq!(created.status().as_u16(), 201);
    // SIGKILL at once: no shutdown of any kind runs.
    child.kill().expect("SIGKILL");
    let _ = child.wait();
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
