//! POST /auth/login: by username or email, no account enumeration, and
//! the hashing queue under a flood of sign-ins.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::helpers::{register_body, spawn_app, spawn_app_with};

#[tokio::test]
async fn login_by_username_or_email_in_any_case() {
    let app = spawn_app().await;
    let user = app.register("Alice").await;
    for login in ["Alice", "alice", "ALICE", "Alice@example.org", "alice@EXAMPLE.ORG"] {
        let body = app.login(login, &user.password).await.expect(200);
        assert_eq!(body["user"]["id"], user.id.as_str(), "{login}");
        assert_eq!(body["token_type"], "Bearer");
        let token = body["access_token"].as_str().expect("access token");
        assert_eq!(app.get("/me", Some(token)).await.expect(200)["id"], user.id.as_str());
    }
}

/// An address the way its owner typed it must always sign in, whatever the
/// database's idea of letter case for non-ASCII characters.
#[tokio::test]
async fn login_by_non_ascii_email_as_registered() {
    let app = spawn_app().await;
    let email = "Ünal@Bücher.example";
    app.post("/auth/register", None, register_body("unal", email, "password1")).await.expect(201);
    app.login(email, "password1").await.expect(200);
    app.login("ünal@bücher.EXAMPLE", "wrong-password").await.expect_unauthorized("invalid_credentials");
}

/// Whether an account exists must not be learnable from the answer.
#[tokio::test]
async fn unknown_user_and_wrong_password_answer_identically() {
    let app = spawn_app().await;
    let user = app.register("alice").await;
    let attempt = |login: &'static str| {
        let req = app
            .client
            .post(app.url("/auth/login"))
            .json(&json!({"login": login, "password": "not-the-password"}));
        async move {
            let res = req.send().await.expect("request");
            let status = res.status().as_u16();
            let content_type = res.headers().get("content-type").cloned();
            (status, content_type, res.bytes().await.expect("body"))
        }
    };
    let wrong_password = attempt("alice").await;
    let unknown_user = attempt("nobody").await;
    assert_eq!(wrong_password.0, 401);
    assert_eq!(wrong_password, unknown_user);
    let body: Value = serde_json::from_slice(&wrong_password.2).expect("json");
    assert_eq!(body["code"], "invalid_credentials");
    app.login("alice", "not-the-password").await.expect_unauthorized("invalid_credentials");
    app.login(&user.username, &user.password).await.expect(200);
}

/// Argon2 is slow on purpose; a burst of sign-ins must queue for it rather
/// than take the CPU from everything else.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_flood_does_not_delay_health_checks() {
    let app = Arc::new(spawn_app().await);
    let user = app.register("alice").await;
    let flooding = Arc::new(AtomicBool::new(true));

    let flood = {
        let (app, flooding, password) = (app.clone(), flooding.clone(), user.password.clone());
        tokio::spawn(async move {
            let logins = (0..40).map(|_| app.login("alice", &password));
            let results = futures_util::future::join_all(logins).await;
            flooding.store(false, Ordering::SeqCst);
            results
        })
    };

    let mut during_flood = 0;
    let mut slowest = Duration::ZERO;
    while flooding.load(Ordering::SeqCst) {
        let started = Instant::now();
        let health = app.get("!/health", None).await;
        let took = started.elapsed();
        assert_eq!(health.status, 200);
        assert!(took < Duration::from_secs(1), "/health took {took:?} during a login flood");
        slowest = slowest.max(took);
        if flooding.load(Ordering::SeqCst) {
            during_flood += 1;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(during_flood >= 3, "only {during_flood} health checks overlapped the flood");

    let results = flood.await.expect("flood task");
    let ok = results.iter().filter(|r| r.status == 200).count();
    for resp in results.iter().filter(|r| r.status != 200) {
        resp.expect_problem(429, "rate_limited");
        assert!(resp.header("retry-after").is_some());
    }
    assert!(ok > 0, "no login of the flood succeeded");
    eprintln!("{ok}/40 logins succeeded; {during_flood} health checks during the flood, slowest {slowest:?}");
}

/// When sign-ins pile up past the hashing queue, the excess is told to come
/// back later instead of waiting without bound.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logins_beyond_the_hashing_queue_get_429_with_retry_after() {
    let app = spawn_app_with(|s| {
        s.auth.max_concurrent_hashes = 1;
        s.auth.hash_queue_timeout_ms = 1;
    })
    .await;
    let user = app.register("alice").await;
    let results = futures_util::future::join_all((0..20).map(|_| app.login("alice", &user.password))).await;
    let limited: Vec<_> = results.iter().filter(|r| r.status != 200).collect();
    assert!(!limited.is_empty(), "20 concurrent logins all got a hashing slot within 1 ms");
    assert!(limited.len() < results.len(), "no login got through");
    for resp in limited {
        resp.expect_problem(429, "rate_limited");
        assert_eq!(resp.header("retry-after"), Some("1"));
    }
}
