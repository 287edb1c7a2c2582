//! POST /me/email over SMTP: a link to the new address, a notice to the old
//! one, the address changed (and verified) only by confirming the link;
//! tokens stay valid; a taken address answers the same 202 and can never be
//! confirmed; wrong passwords are refused and limited like a password
//! change; old and replaced links are spent; two accounts confirming one
//! address get one 204 and one 409, never a 5xx.

use diesel_async::RunQueryDsl;
use serde_json::json;

use crate::helpers::{
    assert_rate_limited, limited_behind_proxy, small, spawn_app_with, spawn_mail_app, to, Mail, SmtpInbox,
    TestApp, TestUser,
};

fn to_address(address: &str) -> impl Fn(&Mail) -> bool + '_ {
    move |m: &Mail| m.to().contains(address)
}

async fn ask(app: &TestApp, user: &TestUser, email: &str) -> serde_json::Value {
    app.post("/me/email", Some(&user.token), json!({"email": email, "password": user.password}))
        .await
        .expect(202)
}

/// A mail app with `username` registered and verified.
async fn verified(inbox: &mut SmtpInbox, app: &TestApp, username: &str) -> TestUser {
    app.register_verified(inbox, username).await
}

#[tokio::test]
async fn the_new_address_confirms_the_change_and_the_old_one_is_told() {
    let mut inbox = SmtpInbox::start().await;
    let app = spawn_mail_app(&inbox, 1).await;
    let alice = verified(&mut inbox, &app, "alice").await;
    let second_login = app.login("alice", &alice.password).await.expect(200);
    let second_token = second_login["access_token"].as_str().unwrap().to_owned();

    let accepted = ask(&app, &alice, "alice.new@example.net").await;
    assert!(accepted["message"].is_string());

    let link =
        inbox.next_where(10, to_address("alice.new@example.net")).await.expect("a link to the new address");
    assert!(link.subject().contains("Confirm"), "{link:?}");
    assert!(link.body.contains("https://app.reading.example/verify-email?token="), "{}", link.body);
    let token = link.token().expect("a token");
    let notice = inbox.next_where(10, |m| to(m, &alice)).await.expect("a notice to the old address");
    assert!(notice.body.contains("alice.new@example.net"), "{}", notice.body);
    assert!(notice.token().is_none(), "the old address gets no link");

    // Nothing changes before the link is confirmed.
    let me = app.get("/me", Some(&alice.token)).await.expect(200);
    assert_eq!((me["email"].as_str(), &me["email_verified"]), (Some(alice.email.as_str()), &json!(true)));
    app.login("alice.new@example.net", &alice.password).await.expect_unauthorized("invalid_credentials");

    app.post("/auth/verify-email", None, json!({"token": token})).await.expect(204);
    let me = app.get("/me", Some(&alice.token)).await.expect(200);
    assert_eq!(me["email"], "alice.new@example.net");
    assert_eq!(me["email_verified"], true);
    // Every token signed in before still works; the refresh token too.
    app.get("/me", Some(&second_token)).await.expect(200);
    app.refresh(&alice.refresh).await.expect(200);
    // The new address signs in; the old one no longer does.
    app.login("ALICE.new@example.net", &alice.password).await.expect(200);
    app.login(&alice.email, &alice.password).await.expect_unauthorized("invalid_credentials");
    // Single use.
    app.post("/auth/verify-email", None, json!({"token": token}))
        .await
        .expect_problem(422, "invalid_verification_token");
}

#[tokio::test]
async fn an_address_of_another_account_is_answered_alike_and_never_confirmed() {
    let mut inbox = SmtpInbox::start().await;
    let app = spawn_mail_app(&inbox, 1).await;
    let alice = verified(&mut inbox, &app, "alice").await;
    let bob = verified(&mut inbox, &app, "bob").await;

    let free = app
        .post(
            "/me/email",
            Some(&alice.token),
            json!({"email": "free@example.net", "password": alice.password}),
        )
        .await;
    let taken = app
        .post(
            "/me/email",
            Some(&alice.token),
            json!({"email": "BOB@example.org", "password": alice.password}),
        )
        .await;
    assert_eq!(free.shape(), taken.shape(), "the answer does not say whether an account has the address");
    assert_eq!(taken.status, 202);

    // Bob's mailbox is told an account exists there, with no link in it.
    let to_bob = |m: &Mail| m.to().to_lowercase().contains(&bob.email);
    let told = inbox.next_where(10, to_bob).await.expect("a mail to the taken address");
    assert!(told.token().is_none(), "{}", told.body);
    assert!(told.body.contains("already"), "{}", told.body);
    let mails = inbox.drain(2).await;
    assert!(mails.iter().all(|m| !to_bob(m)), "one mail to the taken address: {mails:?}");
    // The newer request replaced the one to the free address.
    let link = mails.iter().find(|m| m.to().contains("free@example.net")).expect("the first link");
    app.post("/auth/verify-email", None, json!({"token": link.token().unwrap()}))
        .await
        .expect_problem(422, "invalid_verification_token");
    let me = app.get("/me", Some(&alice.token)).await.expect(200);
    assert_eq!(me["email"], alice.email.as_str());
    let held: i64 = diesel::sql_query(
        "SELECT count(*) AS n FROM email_verifications WHERE lower(email) = 'bob@example.org' AND used_at IS NULL",
    )
    .get_result::<Count>(&mut app.db().await)
    .await
    .unwrap()
    .n;
    assert_eq!(held, 0, "no link exists for the taken address");

    // One's own address again is not a change.
    app.post(
        "/me/email",
        Some(&alice.token),
        json!({"email": "Alice@example.org", "password": alice.password}),
    )
    .await
    .expect_problem(422, "validation_failed");
    app.post("/me/email", Some(&alice.token), json!({"email": "not an address", "password": alice.password}))
        .await
        .expect_problem(422, "validation_failed");
    app.post("/me/email", None, json!({"email": "x@example.net", "password": alice.password}))
        .await
        .expect_unauthorized("missing_token");
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

#[tokio::test]
async fn a_wrong_password_is_refused_and_sends_nothing() {
    let mut inbox = SmtpInbox::start().await;
    let app = spawn_mail_app(&inbox, 1).await;
    let alice = verified(&mut inbox, &app, "alice").await;
    app.post(
        "/me/email",
        Some(&alice.token),
        json!({"email": "new@example.net", "password": "not it at all"}),
    )
    .await
    .expect_unauthorized("invalid_credentials");
    assert!(inbox.next(2).await.is_none(), "nothing is mailed");
    assert_eq!(app.get("/me", Some(&alice.token)).await.expect(200)["email"], alice.email.as_str());
}

#[tokio::test]
async fn wrong_passwords_are_limited_like_a_password_change() {
    let app = spawn_app_with(|s| {
        limited_behind_proxy(s);
        s.rate_limit.login_per_account = small(2);
    })
    .await;
    let alice = app.register("alice").await;
    let wrong = json!({"email": "new@example.net", "password": "not my password"});
    for _ in 0..2 {
        app.post("/me/email", Some(&alice.token), wrong.clone())
            .await
            .expect_unauthorized("invalid_credentials");
    }
    assert_rate_limited(&app.post("/me/email", Some(&alice.token), wrong).await, "login-account");
    // The same budget as signing in.
    assert_rate_limited(&app.login("alice", "still wrong").await, "login-account");
}

#[tokio::test]
async fn expired_and_replaced_links_are_refused_and_the_newest_works() {
    let mut inbox = SmtpInbox::start().await;
    let app = spawn_mail_app(&inbox, 1).await;
    let alice = verified(&mut inbox, &app, "alice").await;

    ask(&app, &alice, "first@example.net").await;
    let first = inbox.next_where(10, to_address("first@example.net")).await.expect("a link").token().unwrap();
    diesel::sql_query("UPDATE email_verifications SET expires_at = now() - interval '1 second'")
        .execute(&mut app.db().await)
        .await
        .unwrap();
    app.post("/auth/verify-email", None, json!({"token": first}))
        .await
        .expect_problem(422, "invalid_verification_token");

    ask(&app, &alice, "second@example.net").await;
    let second =
        inbox.next_where(10, to_address("second@example.net")).await.expect("a link").token().unwrap();
    ask(&app, &alice, "third@example.net").await;
    let third = inbox.next_where(10, to_address("third@example.net")).await.expect("a link").token().unwrap();
    app.post("/auth/verify-email", None, json!({"token": second}))
        .await
        .expect_problem(422, "invalid_verification_token");
    app.post("/auth/verify-email", None, json!({"token": third})).await.expect(204);
    let me = app.get("/me", Some(&alice.token)).await.expect(200);
    assert_eq!((&me["email"], &me["email_verified"]), (&json!("third@example.net"), &json!(true)));
}

#[tokio::test]
async fn an_unverified_account_changes_to_a_verified_address() {
    let mut inbox = SmtpInbox::start().await;
    let app = spawn_mail_app(&inbox, 1).await;
    let carol = app.register("carol").await;
    assert_eq!(app.get("/me", Some(&carol.token)).await.expect(200)["email_verified"], false);
    ask(&app, &carol, "carol@example.net").await;
    let link = inbox.next_where(10, to_address("carol@example.net")).await.expect("a link");
    app.post("/auth/verify-email", None, json!({"token": link.token().unwrap()})).await.expect(204);
    let me = app.get("/me", Some(&carol.token)).await.expect(200);
    assert_eq!((&me["email"], &me["email_verified"]), (&json!("carol@example.net"), &json!(true)));
}

#[tokio::test]
async fn two_accounts_confirming_one_address_get_one_204_and_one_409() {
    let mut inbox = SmtpInbox::start().await;
    let app = spawn_mail_app(&inbox, 1).await;
    let alice = verified(&mut inbox, &app, "alice").await;
    let bob = verified(&mut inbox, &app, "bob").await;
    // Both ask while the address is free: both get a link.
    ask(&app, &alice, "shared@example.net").await;
    ask(&app, &bob, "shared@example.net").await;
    let mut tokens = Vec::new();
    for _ in 0..2 {
        let link = inbox.next_where(10, |m| m.to().contains("shared@example.net")).await.expect("a link");
        tokens.push(link.token().unwrap());
    }
    let (a, b) = tokio::join!(
        app.post("/auth/verify-email", None, json!({"token": tokens[0]})),
        app.post("/auth/verify-email", None, json!({"token": tokens[1]})),
    );
    let mut statuses = vec![a.status, b.status];
    statuses.sort_unstable();
    assert_eq!(statuses, vec![204, 409], "{:?} {:?}", a.body, b.body);
    let lost = if a.status == 409 { a } else { b };
    lost.expect_problem(409, "email_taken");
    let emails = [
        app.get("/me", Some(&alice.token)).await.expect(200)["email"].clone(),
        app.get("/me", Some(&bob.token)).await.expect(200)["email"].clone(),
    ];
    assert_eq!(emails.iter().filter(|e| *e == "shared@example.net").count(), 1, "{emails:?}");
    assert!(emails.contains(&json!(alice.email)) || emails.contains(&json!(bob.email)), "{emails:?}");
}
