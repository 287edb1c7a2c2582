//! E-mail verification over SMTP: registration mails a link whose token
//! verifies the address once; used, expired and made-up tokens are refused;
//! `/me` shows `email_verified`; a new link is mailed on request, within a limit.

use serde_json::json;

use crate::helpers::{spawn_app_with, spawn_mail_app, to, SmtpInbox};

#[tokio::test]
async fn the_registration_link_verifies_the_address_once() {
    let mut inbox = SmtpInbox::start().await;
    let app = spawn_mail_app(&inbox, 1).await;
    let alice = app.register("alice").await;
    let me = app.get("/me", Some(&alice.token)).await.expect(200);
    assert_eq!(me["email_verified"], false);

    let mail = inbox.next_where(10, |m| to(m, &alice)).await.expect("a verification mail");
    assert!(mail.subject().contains("Confirm"), "{mail:?}");
    assert!(mail.body.contains("https://app.reading.example/verify-email?token="), "{}", mail.body);
    assert!(mail.header("message-id").is_some() && mail.header("date").is_some(), "{mail:?}");
    let token = mail.token().expect("a token");
    assert!(token.len() >= 43, "token {token:?} shorter than 256 bits");

    app.post("/auth/verify-email", None, json!({"token": token})).await.expect(204);
    let me = app.get("/me", Some(&alice.token)).await.expect(200);
    assert_eq!(me["email_verified"], true);
    assert_eq!(me["email"], alice.email.as_str());
    // Single use.
    app.post("/auth/verify-email", None, json!({"token": token}))
        .await
        .expect_problem(422, "invalid_verification_token");
    app.post("/auth/verify-email", None, json!({"token": "made-up"}))
        .await
        .expect_problem(422, "invalid_verification_token");
    app.post("/auth/verify-email", None, json!({"token": token, "extra": 1})).await.expect(422);
    // Verified already: the same 202, and no mail.
    app.post("/me/email-verification", Some(&alice.token), json!({})).await.expect(202);
    assert!(inbox.next(2).await.is_none(), "a link was mailed to a verified address");
}

#[tokio::test]
async fn an_expired_link_is_refused_and_a_new_one_works() {
    let mut inbox = SmtpInbox::start().await;
    let app = spawn_mail_app(&inbox, 1).await;
    let bob = app.register("bob").await;
    let first = inbox.next_where(10, |m| to(m, &bob)).await.expect("a verification mail");

    // The first link is a day old.
    let mut db = app.db().await;
    diesel_async::RunQueryDsl::execute(
        diesel::sql_query("UPDATE email_verifications SET expires_at = now() - interval '1 second'"),
        &mut db,
    )
    .await
    .unwrap();
    app.post("/auth/verify-email", None, json!({"token": first.token().unwrap()}))
        .await
        .expect_problem(422, "invalid_verification_token");
    assert_eq!(app.get("/me", Some(&bob.token)).await.expect(200)["email_verified"], false);

    app.post("/me/email-verification", None, json!({})).await.expect_unauthorized("missing_token");
    let accepted = app.post("/me/email-verification", Some(&bob.token), json!({})).await.expect(202);
    assert!(accepted["message"].is_string());
    let second = inbox.next_where(10, |m| to(m, &bob)).await.expect("a new link");
    assert_ne!(second.token(), first.token());
    app.post("/auth/verify-email", None, json!({"token": second.token().unwrap()})).await.expect(204);
    assert_eq!(app.get("/me", Some(&bob.token)).await.expect(200)["email_verified"], true);
}

#[tokio::test]
async fn new_links_are_limited_per_account_and_the_answer_stays_202() {
    let mut inbox = SmtpInbox::start().await;
    let url = inbox.url.clone();
    let app = spawn_app_with(move |s| {
        crate::helpers::mail_settings(s, &url, 1);
        s.rate_limit.enabled = true;
        s.rate_limit.register_per_address.requests = 100;
        s.rate_limit.email_verification_per_user.requests = 2;
    })
    .await;
    let carol = app.register("carol").await;
    inbox.next_where(10, |m| to(m, &carol)).await.expect("the registration mail");
    for _ in 0..4 {
        app.post("/me/email-verification", Some(&carol.token), json!({})).await.expect(202);
    }
    let mails = inbox.drain(3).await;
    assert_eq!(mails.iter().filter(|m| to(m, &carol)).count(), 2, "{mails:?}");
}
