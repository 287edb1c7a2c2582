//! /auth: register, login, refresh, logout, logout-all, and how access tokens are checked.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use pilcrow::auth::tokens::AccessClaims;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, spawn_app_with, TestApp};

fn register_body(username: &str, email: &str, password: &str) -> Value {
    json!({"username": username, "email": email, "password": password})
}

#[tokio::test]
async fn register_then_me() {
    let app = spawn_app().await;
    let user = app.register("alice").await;
    let me = app.get("/me", Some(&user.token)).await.expect(200);
    assert_eq!(me["username"], "alice");
    assert_eq!(me["email"], "alice@example.org");
    let login = app.login("ALICE@example.org", &user.password).await;
    assert_eq!(login.expect(200)["user"]["id"], user.id.as_str());
}

#[tokio::test]
async fn register_answers_201_with_a_token_pair_and_no_secrets() {
    let app = spawn_app().await;
    let resp = app
        .post(
            "/auth/register",
            None,
            json!({"username": "Bob_the-2nd", "email": "bob@example.org", "password": "correct horse",
                   "display_name": "  Bob  "}),
        )
        .await;
    assert_eq!(resp.header("location"), Some("/api/v1/me"));
    assert_eq!(resp.header("cache-control"), Some("no-store"));
    let body = resp.expect(201);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    assert!(body["access_token"].as_str().is_some_and(|t| t.split('.').count() == 3));
    assert!(body["refresh_token"].as_str().is_some_and(|t| t.len() >= 32));
    let user = body["user"].as_object().expect("user");
    let mut keys: Vec<&str> = user.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["bio", "created_at", "display_name", "email", "id", "username"]);
    assert_eq!(user["username"], "Bob_the-2nd");
    assert_eq!(user["display_name"], "Bob", "display name is trimmed");
    assert_eq!(user["bio"], Value::Null);

    // Without a display name, the username stands in.
    let carol =
        app.post("/auth/register", None, register_body("carol", "carol@example.org", "password1")).await;
    assert_eq!(carol.expect(201)["user"]["display_name"], "carol");
}

#[tokio::test]
async fn username_and_email_are_unique_ignoring_case() {
    let app = spawn_app().await;
    app.register("alice").await;
    let same_name =
        app.post("/auth/register", None, register_body("ALICE", "other@example.org", "password1")).await;
    same_name.expect_problem(409, "username_taken");
    let same_email =
        app.post("/auth/register", None, register_body("alice2", "Alice@EXAMPLE.org", "password1")).await;
    same_email.expect_problem(409, "email_taken");
}

#[tokio::test]
async fn register_rejects_invalid_usernames() {
    let app = spawn_app().await;
    let too_long = "a".repeat(33);
    for username in ["ab", too_long.as_str(), "al ice", "alice!", "ålice", "al.ice", ""] {
        let resp =
            app.post("/auth/register", None, register_body(username, "x@example.org", "password1")).await;
        resp.expect_problem(422, "validation_failed");
        assert_eq!(resp.body["errors"][0]["field"], "username", "{username:?}: {}", resp.body);
    }
    // The edges are accepted.
    app.post("/auth/register", None, register_body("abc", "abc@example.org", "password1")).await.expect(201);
    app.post("/auth/register", None, register_body(&"b".repeat(32), "b@example.org", "password1"))
        .await
        .expect(201);
}

#[tokio::test]
async fn register_rejects_invalid_emails() {
    let app = spawn_app().await;
    for email in ["alice", "alice@example", "@example.org", "alice@.org", "ali ce@example.org", ""] {
        let resp = app.post("/auth/register", None, register_body("alice", email, "password1")).await;
        resp.expect_problem(422, "validation_failed");
        assert_eq!(resp.body["errors"][0]["field"], "email", "{email:?}: {}", resp.body);
    }
}

#[tokio::test]
async fn register_reports_every_invalid_field_at_once() {
    let app = spawn_app().await;
    let resp = app.post("/auth/register", None, register_body("a!", "nope", "short")).await;
    resp.expect_problem(422, "validation_failed");
    let fields: Vec<&str> =
        resp.body["errors"].as_array().expect("errors").iter().filter_map(|e| e["field"].as_str()).collect();
    assert_eq!(fields, ["username", "email", "password"]);
    assert!(resp.body["errors"][0]["message"].as_str().is_some_and(|m| !m.is_empty()));
}

#[tokio::test]
async fn password_length_is_8_to_128_characters() {
    let app = spawn_app().await;
    for (name, password) in [("seven", "a".repeat(7)), ("long", "a".repeat(129)), ("accents", "é".repeat(7))]
    {
        let resp = app
            .post("/auth/register", None, register_body(name, &format!("{name}@example.org"), &password))
            .await;
        resp.expect_problem(422, "validation_failed");
        assert_eq!(resp.body["errors"][0]["field"], "password");
    }
    for (name, password) in [("eight", "a".repeat(8)), ("maximal", "a".repeat(128))] {
        app.post("/auth/register", None, register_body(name, &format!("{name}@example.org"), &password))
            .await
            .expect(201);
        app.login(name, &password).await.expect(200);
    }
}

/// 128 two-byte or four-byte characters are 128 characters, not 256 or 512
/// bytes, and every one of them counts when the password is checked.
#[tokio::test]
async fn multibyte_passwords_count_characters_and_are_never_truncated() {
    let app = spawn_app().await;
    for (name, ch, other) in [("accents", "é", "e"), ("emoji", "🦀", "🐙")] {
        let password = ch.repeat(128);
        app.post("/auth/register", None, register_body(name, &format!("{name}@example.org"), &password))
            .await
            .expect(201);
        app.login(name, &password).await.expect(200);
        let last_differs = format!("{}{other}", ch.repeat(127));
        app.login(name, &last_differs).await.expect_unauthorized("invalid_credentials");
        let too_long = ch.repeat(129);
        let resp = app
            .post("/auth/register", None, register_body(&format!("{name}2"), "x2@example.org", &too_long))
            .await;
        resp.expect_problem(422, "validation_failed");
        assert_eq!(resp.body["errors"][0]["field"], "password");
    }
}

#[tokio::test]
async fn register_refuses_fields_a_client_must_not_set() {
    let app = spawn_app().await;
    for (field, value) in [("role", json!("admin")), ("is_admin", json!(true)), ("token_version", json!(7))] {
        let mut body = register_body("mallory", "mallory@example.org", "password1");
        body[field] = value;
        let resp = app.post("/auth/register", None, body).await;
        resp.expect_problem(422, "validation_failed");
        assert_eq!(resp.body["errors"][0]["field"], field, "{}", resp.body);
    }
    // Nothing was created on the way.
    app.register("mallory").await;
}

#[tokio::test]
async fn register_requires_username_email_and_password() {
    let app = spawn_app().await;
    let resp = app.post("/auth/register", None, json!({"username": "alice", "email": "a@example.org"})).await;
    resp.expect_problem(422, "validation_failed");
    assert_eq!(resp.body["errors"][0]["field"], "password");
}

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

#[tokio::test]
async fn refresh_rotates_the_pair_and_spends_the_old_token() {
    let app = spawn_app().await;
    let user = app.register("alice").await;
    let resp = app.refresh(&user.refresh).await;
    assert_eq!(resp.header("cache-control"), Some("no-store"));
    let pair = resp.expect(200);
    assert_eq!(pair["user"]["id"], user.id.as_str());
    assert_eq!(pair["token_type"], "Bearer");
    let access = pair["access_token"].as_str().expect("access");
    let refresh = pair["refresh_token"].as_str().expect("refresh");
    assert_ne!(refresh, user.refresh);
    app.get("/me", Some(access)).await.expect(200);
    // The new refresh token is good for exactly one more rotation, too.
    let next = app.refresh(refresh).await.expect(200);
    assert!(next["refresh_token"].as_str().is_some_and(|t| t != refresh));
}

/// RFC 9700 §4.14.2: a spent refresh token presented again means it leaked;
/// the whole sign-in it belongs to ends, other sign-ins do not.
#[tokio::test]
async fn reusing_a_spent_refresh_token_revokes_its_family_only() {
    let app = spawn_app().await;
    let user = app.register("alice").await;
    let other_sign_in = app.login("alice", &user.password).await.expect(200);
    let other_refresh = other_sign_in["refresh_token"].as_str().expect("refresh").to_owned();

    let rotated = app.refresh(&user.refresh).await.expect(200);
    let newest = rotated["refresh_token"].as_str().expect("refresh");

    app.refresh(&user.refresh).await.expect_unauthorized("refresh_token_reused");
    app.refresh(newest).await.expect_unauthorized("invalid_refresh_token");
    app.refresh(&user.refresh).await.expect_unauthorized("invalid_refresh_token");

    app.refresh(&other_refresh).await.expect(200);
}

#[tokio::test]
async fn refresh_refuses_unknown_tokens() {
    let app = spawn_app().await;
    let user = app.register("alice").await;
    app.refresh("not-a-token").await.expect_unauthorized("invalid_refresh_token");
    app.refresh("").await.expect_unauthorized("invalid_refresh_token");
    // An access token is not a refresh token.
    app.refresh(&user.token).await.expect_unauthorized("invalid_refresh_token");
    let resp = app.post("/auth/refresh", None, json!({})).await;
    resp.expect_problem(422, "validation_failed");
    assert_eq!(resp.body["errors"][0]["field"], "refresh_token");
}

/// Two requests racing with one refresh token: one rotates, the other is a
/// reuse, never two valid successors.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_refreshes_of_one_token_rotate_it_once() {
    let app = spawn_app().await;
    let user = app.register("alice").await;
    let (a, b) = tokio::join!(app.refresh(&user.refresh), app.refresh(&user.refresh));
    let (winner, loser) = if a.status == 200 { (a, b) } else { (b, a) };
    assert_eq!(winner.status, 200, "{}", winner.body);
    loser.expect_unauthorized("refresh_token_reused");
}

#[tokio::test]
async fn an_expired_refresh_token_is_refused() {
    let app = spawn_app().await;
    use diesel_async::RunQueryDsl; // here only: its `load` would shadow AtomicBool's

    let user = app.register("alice").await;
    let mut conn = AsyncPgConnection::establish(&app.db_url).await.expect("connection");
    diesel::sql_query("UPDATE refresh_tokens SET expires_at = now() - interval '1 second'")
        .execute(&mut conn)
        .await
        .expect("expiring refresh tokens");
    app.refresh(&user.refresh).await.expect_unauthorized("invalid_refresh_token");
}

#[tokio::test]
async fn logout_ends_that_sign_in_only() {
    let app = spawn_app().await;
    let user = app.register("alice").await;
    let other = app.login("alice", &user.password).await.expect(200);
    let other_refresh = other["refresh_token"].as_str().expect("refresh");

    let resp = app.post("/auth/logout", Some(&user.token), json!({"refresh_token": user.refresh})).await;
    assert_eq!(resp.status, 204);
    assert_eq!(resp.body, Value::Null, "204 has no body");
    app.refresh(&user.refresh).await.expect_unauthorized("invalid_refresh_token");
    app.refresh(other_refresh).await.expect(200);
}

#[tokio::test]
async fn logout_needs_a_token_and_cannot_end_someone_elses_sign_in() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    app.post("/auth/logout", None, json!({"refresh_token": alice.refresh}))
        .await
        .expect_unauthorized("missing_token");
    let resp = app.post("/auth/logout", Some(&bob.token), json!({"refresh_token": alice.refresh})).await;
    assert_eq!(resp.status, 204);
    app.refresh(&alice.refresh).await.expect(200);
}

#[tokio::test]
async fn logout_all_ends_every_token() {
    let app = spawn_app().await;
    let user = app.register("alice").await;
    let other = app.login("alice", &user.password).await.expect(200);
    let other_access = other["access_token"].as_str().expect("access");
    let other_refresh = other["refresh_token"].as_str().expect("refresh");

    let resp = app.call(reqwest::Method::POST, "/auth/logout-all", Some(other_access), None).await;
    assert_eq!(resp.status, 204, "{}", resp.body);

    for access in [user.token.as_str(), other_access] {
        app.get("/me", Some(access)).await.expect_unauthorized("token_revoked");
    }
    for refresh in [user.refresh.as_str(), other_refresh] {
        app.refresh(refresh).await.expect_unauthorized("invalid_refresh_token");
    }
    let fresh = app.login("alice", &user.password).await.expect(200);
    app.get("/me", fresh["access_token"].as_str()).await.expect(200);
}

/// Signing out everywhere while one of the sessions refreshes: whichever
/// wins, no token the refresh hands out may outlive the sign-out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_racing_logout_all_leaves_no_live_token() {
    let app = spawn_app().await;
    let user = app.register("alice").await;
    for round in 0..15 {
        let session = app.login("alice", &user.password).await.expect(200);
        let access = session["access_token"].as_str().expect("access");
        let refresh = session["refresh_token"].as_str().expect("refresh");
        let logout_all = app.call(reqwest::Method::POST, "/auth/logout-all", Some(access), None);
        let (signed_out, rotated) = tokio::join!(logout_all, app.refresh(refresh));
        assert_eq!(signed_out.status, 204, "round {round}: {}", signed_out.body);
        if rotated.status == 200 {
            let me = app.get("/me", rotated.body["access_token"].as_str()).await;
            assert_eq!(me.status, 401, "round {round}: an access token outlived logout-all");
            let again = app.refresh(rotated.body["refresh_token"].as_str().expect("refresh")).await;
            assert_eq!(again.status, 401, "round {round}: a refresh token outlived logout-all");
        }
    }
}

#[tokio::test]
async fn logout_all_needs_a_token() {
    let app = spawn_app().await;
    let resp = app.call(reqwest::Method::POST, "/auth/logout-all", None, None).await;
    resp.expect_unauthorized("missing_token");
}

fn claims(app: &TestApp, sub: &str, exp_from_now: i64) -> AccessClaims {
    let now = chrono::Utc::now().timestamp();
    AccessClaims {
        iss: app.settings.auth.issuer.clone(),
        aud: app.settings.auth.audience.clone(),
        sub: sub.parse().expect("uuid"),
        iat: now,
        exp: now + exp_from_now,
        typ: "access".to_owned(),
        ver: 0,
    }
}

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).expect("json"))
}

#[tokio::test]
async fn forged_and_malformed_access_tokens_are_refused() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;

    // Sanity: a token this server signs itself, with fresh claims, is accepted.
    let own = app.keys.sign(&claims(&app, &alice.id, 600)).expect("sign");
    app.get("/me", Some(&own)).await.expect(200);

    let expired = app.keys.sign(&claims(&app, &alice.id, -3600)).expect("sign");
    app.get("/me", Some(&expired)).await.expect_unauthorized("token_expired");

    let payload = serde_json::to_value(claims(&app, &alice.id, 600)).expect("claims");
    let alg_none = format!("{}.{}.", b64(&json!({"alg": "none", "typ": "JWT"})), b64(&payload));
    app.get("/me", Some(&alg_none)).await.expect_unauthorized("invalid_token");

    // Bob's payload under Alice's signature.
    let mut parts: Vec<String> = alice.token.split('.').map(str::to_owned).collect();
    let mut tampered: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&parts[1]).expect("b64")).expect("json");
    tampered["sub"] = json!(bob.id);
    parts[1] = b64(&tampered);
    app.get("/me", Some(&parts.join("."))).await.expect_unauthorized("invalid_token");

    let mut not_access = claims(&app, &alice.id, 600);
    not_access.typ = "refresh".to_owned();
    let not_access = app.keys.sign(&not_access).expect("sign");
    app.get("/me", Some(&not_access)).await.expect_unauthorized("invalid_token");

    let mut other_audience = claims(&app, &alice.id, 600);
    other_audience.aud = "someone-else".to_owned();
    let other_audience = app.keys.sign(&other_audience).expect("sign");
    app.get("/me", Some(&other_audience)).await.expect_unauthorized("invalid_token");

    for garbled in ["garbage", "a.b.c", alice.refresh.as_str()] {
        app.get("/me", Some(garbled)).await.expect_unauthorized("invalid_token");
    }
}

#[tokio::test]
async fn a_token_from_a_newer_version_than_the_users_is_revoked() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let mut future = claims(&app, &alice.id, 600);
    future.ver = 5;
    let future = app.keys.sign(&future).expect("sign");
    app.get("/me", Some(&future)).await.expect_unauthorized("token_revoked");
}

/// Only `Authorization: Bearer` carries a token: never the URL, where it
/// would end up in logs and browser history.
#[tokio::test]
async fn the_token_travels_only_in_a_bearer_authorization_header() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;

    app.get("/me", None).await.expect_unauthorized("missing_token");

    let in_query = app.raw(app.client.get(app.url(&format!("/me?access_token={}", alice.token)))).await;
    in_query.expect_unauthorized("missing_token");

    for header in
        [alice.token.clone(), format!("Basic {}", alice.token), "Bearer ".to_owned(), "Bearer".to_owned()]
    {
        let resp = app.raw(app.client.get(app.url("/me")).header("authorization", &header)).await;
        resp.expect_unauthorized("invalid_token");
    }

    // The scheme name is case-insensitive (RFC 9110 §11.1).
    let lower =
        app.raw(app.client.get(app.url("/me")).header("authorization", format!("bearer {}", alice.token)));
    lower.await.expect(200);
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
