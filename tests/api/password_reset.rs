//! Password reset by mail, end to end over SMTP: the link from the received
//! message sets a new password once, and every earlier token stops working.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::helpers::{spawn_app_with, SmtpInbox};

/// The token in the message's link (`…?token=<token>`), undoing quoted-printable soft breaks.
fn token_of(message: &str) -> String {
    let text = message.replace("=\n", "").replace("=3D", "=");
    let start = text.find("?token=").expect("a link with a token") + "?token=".len();
    text[start..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect()
}

#[tokio::test]
async fn the_mailed_link_resets_the_password_once_and_ends_every_sign_in() {
    let mut inbox = SmtpInbox::start().await;
    let url = inbox.url.clone();
    let app = spawn_app_with(|s| {
        s.mail.smtp_url = Some(url.into());
        s.mail.reset_link = "https://reader.example/reset".into();
    })
    .await;
    let alice = app.register("alice").await;
    inbox.next_where(10, |m| m.subject().contains("Confirm")).await.expect("the verification mail");

    let known = app.post("/auth/password-reset", None, json!({"email": "ALICE@example.org"})).await;
    let unknown = app.post("/auth/password-reset", None, json!({"email": "nobody@example.org"})).await;
    assert_eq!(known.status, 202);
    assert_eq!(known.shape(), unknown.shape(), "the answer tells whether the account exists");

    let message = inbox.next(10).await.expect("a reset mail");
    assert!(message.contains("To: alice@example.org"), "{message}");
    assert!(message.contains("https://reader.example/reset?token="), "{message}");
    let token = token_of(&message);
    assert!(token.len() >= 43, "token {token:?} shorter than 256 bits");
    assert!(inbox.next(1).await.is_none(), "a mail went to an address without an account");

    let new_password = "lantern meadow copper whistle";
    app.post("/auth/password-reset/confirm", None, json!({"token": token, "new_password": "password1"}))
        .await
        .expect_problem(422, "weak_password");
    app.post("/auth/password-reset/confirm", None, json!({"token": token, "new_password": new_password}))
        .await
        .expect(204);
    // Single use.
    app.post(
        "/auth/password-reset/confirm",
        None,
        json!({"token": token, "new_password": "another fine passphrase"}),
    )
    .await
    .expect_problem(422, "invalid_reset_token");
    // Every earlier token is dead; the new password works, the old does not.
    app.get("/me", Some(&alice.token)).await.expect_unauthorized("token_revoked");
    app.refresh(&alice.refresh).await.expect_unauthorized("invalid_refresh_token");
    app.login("alice", &alice.password).await.expect_unauthorized("invalid_credentials");
    app.login("alice", new_password).await.expect(200);
}

#[tokio::test]
async fn without_smtp_the_mail_is_a_file_and_requests_take_alike() {
    let data_dir = std::env::temp_dir().join(format!("pilcrow-mail-{}", uuid::Uuid::new_v4()));
    let dir = data_dir.clone();
    let app = spawn_app_with(move |s| {
        s.mail.smtp_url = None;
        s.database.data_dir = dir;
    })
    .await;
    app.register("alice").await;
    app.post(
        "/auth/password-reset/confirm",
        None,
        json!({"token": "made-up", "new_password": "lantern meadow copper whistle"}),
    )
    .await
    .expect_problem(422, "invalid_reset_token");
    // The answer comes before any lookup: an existing address is not slower.
    let mut known = Duration::ZERO;
    let mut unknown = Duration::ZERO;
    for _ in 0..5 {
        let t = Instant::now();
        app.post("/auth/password-reset", None, json!({"email": "alice@example.org"})).await.expect(202);
        known += t.elapsed();
        let t = Instant::now();
        app.post("/auth/password-reset", None, json!({"email": "nobody@example.org"})).await.expect(202);
        unknown += t.elapsed();
    }
    assert!(known < unknown * 3 + Duration::from_millis(25), "known {known:?}, unknown {unknown:?}");

    // Five messages for alice, as .eml files with the link, none for nobody
    // (and the verification mail of her registration).
    let mail_dir = data_dir.join("mail");
    let resets = || -> Vec<std::path::PathBuf> {
        std::fs::read_dir(&mail_dir)
            .map(|d| {
                d.flatten()
                    .map(|e| e.path())
                    .filter(|p| std::fs::read_to_string(p).is_ok_and(|m| m.contains("Subject: Reset")))
                    .collect()
            })
            .unwrap_or_default()
    };
    let count = || resets().len();
    for _ in 0..50 {
        if count() >= 5 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Room for a sixth, which must not come.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let files = resets();
    assert_eq!(files.len(), 5, "{files:?}");
    let message = std::fs::read_to_string(&files[0]).expect("eml");
    assert!(message.contains("To: alice@example.org") && message.contains("?token="), "{message}");
    let _ = std::fs::remove_dir_all(&data_dir);
}
