//! POST /auth/register: what it answers, and every field it refuses.

use serde_json::{json, Value};

use crate::helpers::{register_body, spawn_app, spawn_app_with};

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
            json!({"username": "Bob_the-2nd", "email": "bob@example.org", "password": "correct horse velvet orbit",
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
    assert_eq!(keys, ["bio", "created_at", "display_name", "email", "email_verified", "id", "username"]);
    assert_eq!(user["email_verified"], false);
    assert_eq!(user["username"], "Bob_the-2nd");
    assert_eq!(user["display_name"], "Bob", "display name is trimmed");
    assert_eq!(user["bio"], Value::Null);

    // Without a display name, the username stands in.
    let carol = app
        .post(
            "/auth/register",
            None,
            register_body("carol", "carol@example.org", "plum tractor velvet orbit"),
        )
        .await;
    assert_eq!(carol.expect(201)["user"]["display_name"], "carol");
}

#[tokio::test]
async fn username_and_email_are_unique_ignoring_case() {
    let app = spawn_app().await;
    app.register("alice").await;
    let same_name = app
        .post(
            "/auth/register",
            None,
            register_body("ALICE", "other@example.org", "plum tractor velvet orbit"),
        )
        .await;
    same_name.expect_problem(409, "username_taken");
    let same_email = app
        .post(
            "/auth/register",
            None,
            register_body("alice2", "Alice@EXAMPLE.org", "plum tractor velvet orbit"),
        )
        .await;
    same_email.expect_problem(409, "email_taken");
}

#[tokio::test]
async fn register_rejects_invalid_usernames() {
    let app = spawn_app().await;
    let too_long = "a".repeat(33);
    for username in ["ab", too_long.as_str(), "al ice", "alice!", "ålice", "al.ice", ""] {
        let resp = app
            .post(
                "/auth/register",
                None,
                register_body(username, "x@example.org", "plum tractor velvet orbit"),
            )
            .await;
        resp.expect_problem(422, "validation_failed");
        assert_eq!(resp.body["errors"][0]["field"], "username", "{username:?}: {}", resp.body);
    }
    // The edges are accepted.
    app.post("/auth/register", None, register_body("abc", "abc@example.org", "plum tractor velvet orbit"))
        .await
        .expect(201);
    app.post(
        "/auth/register",
        None,
        register_body(&"b".repeat(32), "b@example.org", "plum tractor velvet orbit"),
    )
    .await
    .expect(201);
}

#[tokio::test]
async fn register_rejects_invalid_emails() {
    let app = spawn_app().await;
    for email in ["alice", "alice@example", "@example.org", "alice@.org", "ali ce@example.org", ""] {
        let resp = app
            .post("/auth/register", None, register_body("alice", email, "plum tractor velvet orbit"))
            .await;
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
    // The length rule alone: no 8-character password reaches zxcvbn's score 3.
    let app = spawn_app_with(|s| s.auth.min_password_score = 0).await;
    for (name, password) in [("seven", "a".repeat(7)), ("long", "a".repeat(129)), ("accents", "é".repeat(7))]
    {
        let resp = app
            .post("/auth/register", None, register_body(name, &format!("{name}@example.org"), &password))
            .await;
        resp.expect_problem(422, "validation_failed");
        assert_eq!(resp.body["errors"][0]["field"], "password");
    }
    let maximal: String = "plum tractor velvet orbit ".repeat(5).chars().take(128).collect();
    for (name, password) in [("eight", "a".repeat(8)), ("maximal", maximal)] {
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
        // A strong start (zxcvbn), then the multibyte character up to 128.
        let start = "plum tractor velvet orbit ";
        let password = format!("{start}{}", ch.repeat(128 - start.len()));
        app.post("/auth/register", None, register_body(name, &format!("{name}@example.org"), &password))
            .await
            .expect(201);
        app.login(name, &password).await.expect(200);
        let last_differs = format!("{start}{}{other}", ch.repeat(127 - start.len()));
        app.login(name, &last_differs).await.expect_unauthorized("invalid_credentials");
        let too_long = format!("{start}{}", ch.repeat(129 - start.len()));
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
        let mut body = register_body("mallory", "mallory@example.org", "plum tractor velvet orbit");
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

/// zxcvbn refuses common and personal passwords with advice, at register
/// and at password change; a long passphrase of ordinary words is fine.
#[tokio::test]
async fn weak_and_common_passwords_are_refused_with_a_reason() {
    let app = spawn_app().await;
    for (name, weak) in
        [("weak1", "password"), ("weak2", "12345678"), ("weak3", "weak3weak3"), ("weak4", "iloveyou1")]
    {
        let resp =
            app.post("/auth/register", None, register_body(name, &format!("{name}@example.org"), weak)).await;
        resp.expect_problem(422, "weak_password");
        let reason = resp.body["errors"][0]["message"].as_str().expect("reason");
        assert!(reason.len() > 10, "no advice for {weak}: {}", resp.body);
        assert_eq!(resp.body["errors"][0]["field"], "password");
    }
    let phrase = "the ferry leaves when the tea is cold";
    app.post("/auth/register", None, register_body("reader", "reader@example.org", phrase)).await.expect(201);
    app.login("reader", phrase).await.expect(200);
    let alice = app.register("alice").await;
    let change = serde_json::json!({"current_password": alice.password, "new_password": "alice@example.org"});
    app.post("/me/password", Some(&alice.token), change).await.expect_problem(422, "weak_password");
}
