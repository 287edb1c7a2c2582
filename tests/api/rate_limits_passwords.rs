//! Password limits that hit the attacker, not the owner: only failures are
//! counted, a client that signed in before (device token, as a header or the
//! cookie) has a budget of its own, the limit never tells that a username and
//! an email are one account, and a password change is limited before the new
//! password is judged.

use serde_json::json;

use crate::helpers::{assert_rate_limited, limited_behind_proxy, small, spawn_app_with, Resp, TestApp};

impl TestApp {
    /// A login through the trusted proxy for `client`, showing `device` as the header.
    async fn login_on_device(&self, client: &str, login: &str, password: &str, device: &str) -> Resp {
        self.raw(
            self.client
                .post(self.url("/auth/login"))
                .header("x-forwarded-for", client)
                .header("pilcrow-device", device)
                .json(&json!({"login": login, "password": password})),
        )
        .await
    }
}

fn device_token(resp: Resp) -> (String, String) {
    let cookie = resp.header("set-cookie").expect("a device cookie").to_owned();
    assert!(cookie.starts_with("pilcrow_device="), "{cookie}");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");
    let body = resp.expect(200);
    let token = body["device_token"].as_str().expect("device_token").to_owned();
    assert!(cookie.starts_with(&format!("pilcrow_device={token};")), "{cookie}");
    (token, cookie.split(';').next().unwrap_or_default().to_owned())
}

#[tokio::test]
async fn failures_from_elsewhere_never_lock_out_a_client_that_signed_in_before() {
    let app = spawn_app_with(|s| {
        limited_behind_proxy(s);
        s.rate_limit.login_per_account = small(3);
        s.rate_limit.login_per_device = small(2);
    })
    .await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let (device, cookie) = device_token(app.login_from("192.0.2.10", "alice", &alice.password).await);
    // A correct password is never counted: more sign-ins than the budget.
    for _ in 0..5 {
        app.login_from("192.0.2.11", "alice", &alice.password).await.expect(200);
    }
    // An attacker guesses steadily from ever new addresses; the owner signs
    // in between the guesses, with the header and with the cookie.
    for i in 0..6 {
        let guess = app.login_from(&format!("198.51.100.{i}"), "alice", "is it this one?").await;
        assert!(guess.status == 401 || guess.status == 429, "guess {i}: {}", guess.status);
        app.login_on_device("192.0.2.10", "alice", &alice.password, &device).await.expect(200);
        let with_cookie = app
            .raw(
                app.client
                    .post(app.url("/auth/login"))
                    .header("x-forwarded-for", "203.0.113.50")
                    .header("cookie", format!("theme=dark; {cookie}"))
                    .json(&json!({"login": "alice", "password": alice.password})),
            )
            .await;
        with_cookie.expect(200);
    }
    // The trade-off: a client that never signed in to alice waits.
    assert_rate_limited(&app.login_from("192.0.2.12", "alice", &alice.password).await, "login-account");
    // Another account's device token is no device for alice.
    let (bobs, _) = device_token(app.login_from("192.0.2.13", "bob", &bob.password).await);
    let borrowed = app.login_on_device("192.0.2.13", "alice", &alice.password, &bobs).await;
    assert_rate_limited(&borrowed, "login-account");
    // A device's own failures are limited, on its own budget.
    for _ in 0..2 {
        app.login_on_device("192.0.2.10", "alice", "wrong again", &device)
            .await
            .expect_unauthorized("invalid_credentials");
    }
    let third = app.login_on_device("192.0.2.10", "alice", &alice.password, &device).await;
    assert_rate_limited(&third, "login-device");
    // Signing out everywhere makes every device unknown again.
    let (fresh, _) = device_token(app.login_on_device("192.0.2.14", "bob", &bob.password, &bobs).await);
    app.post("/auth/logout-all", Some(&bob.token), json!({})).await.expect(204);
    for i in 0..3 {
        app.login_from(&format!("198.51.100.{}", 20 + i), "bob", "nope nope nope")
            .await
            .expect_unauthorized("invalid_credentials");
    }
    assert_rate_limited(
        &app.login_on_device("192.0.2.14", "bob", &bob.password, &fresh).await,
        "login-account",
    );
}

#[tokio::test]
async fn the_limit_does_not_tell_that_a_username_and_an_email_are_one_account() {
    let app = spawn_app_with(|s| {
        limited_behind_proxy(s);
        s.rate_limit.login_per_account = small(2);
    })
    .await;
    let alice = app.register("alice").await;
    for i in 0..2 {
        app.login_from(&format!("198.51.100.{i}"), "Alice", "wrong password")
            .await
            .expect_unauthorized("invalid_credentials");
    }
    assert_rate_limited(&app.login_from("198.51.100.9", "alice", "wrong password").await, "login-account");
    // Her email answers as any other address does, account or not.
    let email = app.login_from("198.51.100.10", &alice.email, "wrong password").await;
    let stranger = app.login_from("198.51.100.11", "nobody@example.org", "wrong password").await;
    email.expect_unauthorized("invalid_credentials");
    assert_eq!(email.shape(), stranger.shape());
}

#[tokio::test]
async fn a_password_change_is_limited_before_the_new_password_is_judged() {
    let app = spawn_app_with(|s| {
        limited_behind_proxy(s);
        s.rate_limit.login_per_account = small(2);
    })
    .await;
    let alice = app.register("alice").await;
    let (device, _) = device_token(app.login_from("192.0.2.10", "alice", &alice.password).await);
    let weak = "a".repeat(128);
    // A wrong current password is refused before zxcvbn looks at the new one.
    let change = json!({"current_password": "not my password", "new_password": weak});
    app.post("/me/password", Some(&alice.token), change.clone())
        .await
        .expect_unauthorized("invalid_credentials");
    app.post("/me/password", Some(&alice.token), change.clone())
        .await
        .expect_unauthorized("invalid_credentials");
    assert_rate_limited(&app.post("/me/password", Some(&alice.token), change).await, "login-account");
    // The owner's device is limited apart, and only then is the new password judged.
    let right = json!({"current_password": alice.password, "new_password": weak});
    let judged = app
        .raw(
            app.client
                .post(app.url("/me/password"))
                .bearer_auth(&alice.token)
                .header("x-forwarded-for", "192.0.2.10")
                .header("pilcrow-device", &device)
                .json(&right),
        )
        .await;
    judged.expect_problem(422, "weak_password");
}
