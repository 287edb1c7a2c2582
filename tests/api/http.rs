//! What every route shares at the HTTP edge: body parsing, content types,
//! size limits, unknown routes and methods, cache headers.

use serde_json::json;

use crate::helpers::{spawn_app, TestApp};

fn post_raw(
    app: &TestApp,
    path: &str,
    content_type: Option<&str>,
    body: impl Into<reqwest::Body>,
) -> reqwest::RequestBuilder {
    let req = app.client.post(app.url(path)).body(body);
    match content_type {
        Some(ct) => req.header("content-type", ct),
        None => req,
    }
}

#[tokio::test]
async fn malformed_json_is_400() {
    let app = spawn_app().await;
    for body in [r#"{"login": "alice", "password": "#, "", "not json", r#"{"login": "a",}"#] {
        let resp = app.raw(post_raw(&app, "/auth/login", Some("application/json"), body)).await;
        resp.expect_problem(400, "malformed_json");
    }
}

#[tokio::test]
async fn well_formed_json_of_the_wrong_shape_is_422() {
    let app = spawn_app().await;
    for body in [json!([]), json!("alice"), json!({"login": 1, "password": "x"}), json!(null)] {
        let resp = app.post("/auth/login", None, body.clone()).await;
        resp.expect_problem(422, "validation_failed");
        assert!(resp.body["errors"].as_array().is_some_and(|e| !e.is_empty()), "{body}: {}", resp.body);
    }
}

#[tokio::test]
async fn only_json_bodies_are_accepted() {
    let app = spawn_app().await;
    let body = r#"{"login": "alice", "password": "password1"}"#;
    for content_type in [Some("text/plain"), Some("application/x-www-form-urlencoded"), None] {
        let resp = app.raw(post_raw(&app, "/auth/login", content_type, body)).await;
        resp.expect_problem(415, "unsupported_media_type");
    }
    // JSON with parameters or a +json suffix is still JSON: the login itself is what fails.
    for content_type in ["application/json; charset=utf-8", "application/merge-patch+json"] {
        let resp = app.raw(post_raw(&app, "/auth/login", Some(content_type), body)).await;
        resp.expect_unauthorized("invalid_credentials");
    }
}

#[tokio::test]
async fn a_body_over_the_limit_is_413() {
    let app = spawn_app().await;
    let huge = format!(r#"{{"login": "alice", "password": "{}"}}"#, "a".repeat(3 * 1024 * 1024));
    let resp = app.raw(post_raw(&app, "/auth/login", Some("application/json"), huge)).await;
    resp.expect_problem(413, "payload_too_large");
    // The server is fine afterwards.
    app.get("!/health", None).await.expect(200);
}

/// PostgreSQL cannot store U+0000 in text; it must be a 422, never a 500.
#[tokio::test]
async fn a_nul_character_in_a_string_is_422() {
    let app = spawn_app().await;
    let resp = app
        .post(
            "/auth/register",
            None,
            json!({"username": "alice", "email": "alice@example.org", "password": "pass\u{0}word"}),
        )
        .await;
    resp.expect_problem(422, "validation_failed");
    assert_eq!(resp.body["errors"][0]["field"], "password");
    let resp = app.post("/auth/login", None, json!({"login": "al\u{0}ice", "password": "password1"})).await;
    resp.expect_problem(422, "validation_failed");
    assert_eq!(resp.body["errors"][0]["field"], "login");
}

#[tokio::test]
async fn unknown_routes_are_404_problems() {
    let app = spawn_app().await;
    for path in ["!/nope", "/nope", "/auth", "/auth/register/extra", "!/api/v2/me"] {
        let resp = app.get(path, None).await;
        resp.expect_problem(404, "not_found");
    }
}

#[tokio::test]
async fn wrong_methods_are_405_problems() {
    let app = spawn_app().await;
    app.delete("!/health", None).await.expect_problem(405, "method_not_allowed");
    app.post("!/ready", None, json!({})).await.expect_problem(405, "method_not_allowed");
    app.get("/auth/login", None).await.expect_problem(405, "method_not_allowed");
    app.get("/auth/register", None).await.expect_problem(405, "method_not_allowed");
    app.put("/me", None, json!({})).await.expect_problem(405, "method_not_allowed");
    app.put("/me/password", None, json!({})).await.expect_problem(405, "method_not_allowed");
    // RFC 9110: a 405 names the methods the route does accept.
    let res = app.put("/me", None, json!({})).await;
    assert_eq!(res.header("allow"), Some("GET, DELETE, PATCH"));
    let res = app.put(&format!("/groups/{}", uuid::Uuid::new_v4()), None, json!({})).await;
    res.expect_problem(405, "method_not_allowed");
    assert_eq!(res.header("allow"), Some("GET, PATCH"));
    assert_eq!(app.get("/auth/login", None).await.header("allow"), Some("POST"));
}

/// Tokens and private data must not be kept by any cache, errors included.
#[tokio::test]
async fn api_responses_are_not_cacheable() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let responses = [
        app.login("alice", &alice.password).await,
        app.login("alice", "wrong password").await,
        app.refresh(&alice.refresh).await,
        app.get("/me", Some(&alice.token)).await,
        app.get("/me", None).await,
        app.post("/auth/register", None, json!({"username": "x"})).await,
    ];
    for resp in responses {
        assert_eq!(resp.header("cache-control"), Some("no-store"), "{} {}", resp.status, resp.body);
    }
}
