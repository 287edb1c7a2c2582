//! /me: the signed-in user's account, profile changes and password change.

use serde_json::{json, Value};

use crate::helpers::spawn_app;

#[tokio::test]
async fn me_shows_the_account_with_email_and_no_secrets() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let resp = app.get("/me", Some(&alice.token)).await;
    assert_eq!(resp.header("cache-control"), Some("no-store"));
    let me = resp.expect(200);
    let mut keys: Vec<&str> = me.as_object().expect("object").keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["bio", "created_at", "display_name", "email", "email_verified", "id", "username"]);
    assert_eq!(me["id"], alice.id.as_str());
    assert_eq!(me["email"], "alice@example.org");
    let created_at = me["created_at"].as_str().expect("created_at");
    assert!(chrono::DateTime::parse_from_rfc3339(created_at).is_ok(), "{created_at} is not RFC 3339");
}

#[tokio::test]
async fn me_needs_a_token() {
    let app = spawn_app().await;
    let resp = app.get("/me", None).await;
    resp.expect_unauthorized("missing_token");
    assert_eq!(resp.header("cache-control"), Some("no-store"));
    app.patch("/me", None, json!({"bio": "hi"})).await.expect_unauthorized("missing_token");
    app.post("/me/password", None, json!({"current_password": "x", "new_password": "yyyyyyyy"}))
        .await
        .expect_unauthorized("missing_token");
}

#[tokio::test]
async fn patch_me_changes_display_name_and_bio() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let token = Some(alice.token.as_str());

    let me = app.patch("/me", token, json!({"display_name": "  Alice A.  ", "bio": "Reads slowly."})).await;
    let me = me.expect(200);
    assert_eq!(me["display_name"], "Alice A.");
    assert_eq!(me["bio"], "Reads slowly.");
    assert_eq!(me["email"], "alice@example.org");
    assert_eq!(app.get("/me", token).await.expect(200)["bio"], "Reads slowly.");

    // Absent fields stay as they are.
    let me = app.patch("/me", token, json!({})).await.expect(200);
    assert_eq!((me["display_name"].as_str(), me["bio"].as_str()), (Some("Alice A."), Some("Reads slowly.")));
    let me = app.patch("/me", token, json!({"display_name": "Alice"})).await.expect(200);
    assert_eq!(me["bio"], "Reads slowly.");

    // null and "" both clear the bio.
    assert_eq!(app.patch("/me", token, json!({"bio": null})).await.expect(200)["bio"], Value::Null);
    app.patch("/me", token, json!({"bio": "again"})).await.expect(200);
    assert_eq!(app.patch("/me", token, json!({"bio": ""})).await.expect(200)["bio"], Value::Null);

    // Edges of the limits are accepted.
    let me = app.patch("/me", token, json!({"display_name": "é".repeat(64), "bio": "b".repeat(2000)})).await;
    assert_eq!(me.expect(200)["display_name"], "é".repeat(64));
}

#[tokio::test]
async fn patch_me_rejects_invalid_values() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let token = Some(alice.token.as_str());
    let cases = [
        (json!({"display_name": ""}), "display_name"),
        (json!({"display_name": "   "}), "display_name"),
        (json!({"display_name": "d".repeat(65)}), "display_name"),
        (json!({"bio": "b".repeat(2001)}), "bio"),
        (json!({"bio": "a\u{0}b"}), "bio"),
        (json!({"bio": 42}), "bio"),
    ];
    for (body, field) in cases {
        let resp = app.patch("/me", token, body.clone()).await;
        resp.expect_problem(422, "validation_failed");
        assert_eq!(resp.body["errors"][0]["field"], field, "{body}: {}", resp.body);
    }
    let me = app.get("/me", token).await.expect(200);
    assert_eq!((me["display_name"].as_str(), me["bio"].as_str()), (Some("alice"), None));
}

/// Only display name and bio are the user's to change here.
#[tokio::test]
async fn patch_me_refuses_other_fields() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let token = Some(alice.token.as_str());
    for field in ["email", "username", "is_admin", "role", "password_hash"] {
        let resp = app.patch("/me", token, json!({ field: "x", "bio": "sneaky" })).await;
        resp.expect_problem(422, "validation_failed");
        assert_eq!(resp.body["errors"][0]["field"], field, "{}", resp.body);
    }
    let me = app.get("/me", token).await.expect(200);
    assert_eq!((me["email"].as_str(), me["bio"].as_str()), (Some("alice@example.org"), None));
}

#[tokio::test]
async fn changing_the_password_ends_every_earlier_token() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let other = app.login("alice", &alice.password).await.expect(200);
    let other_access = other["access_token"].as_str().expect("access");
    let other_refresh = other["refresh_token"].as_str().expect("refresh");

    let resp = app
        .post(
            "/me/password",
            Some(&alice.token),
            json!({"current_password": alice.password, "new_password": "quiet harbour velvet orbit"}),
        )
        .await;
    assert_eq!(resp.status, 204, "{}", resp.body);

    for access in [alice.token.as_str(), other_access] {
        app.get("/me", Some(access)).await.expect_unauthorized("token_revoked");
    }
    for refresh in [alice.refresh.as_str(), other_refresh] {
        app.refresh(refresh).await.expect_unauthorized("invalid_refresh_token");
    }
    app.login("alice", &alice.password).await.expect_unauthorized("invalid_credentials");
    let fresh = app.login("alice", "quiet harbour velvet orbit").await.expect(200);
    app.get("/me", fresh["access_token"].as_str()).await.expect(200);
    app.refresh(fresh["refresh_token"].as_str().expect("refresh")).await.expect(200);
}

#[tokio::test]
async fn a_wrong_current_password_changes_nothing() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    let resp = app
        .post(
            "/me/password",
            Some(&alice.token),
            json!({"current_password": "not-my-password", "new_password": "quiet harbour velvet orbit"}),
        )
        .await;
    resp.expect_unauthorized("invalid_credentials");
    app.get("/me", Some(&alice.token)).await.expect(200);
    app.login("alice", &alice.password).await.expect(200);
    app.login("alice", "quiet harbour velvet orbit").await.expect_unauthorized("invalid_credentials");
}

#[tokio::test]
async fn the_new_password_must_be_8_to_128_characters() {
    let app = spawn_app().await;
    let alice = app.register("alice").await;
    for new_password in ["short77".to_owned(), "x".repeat(129)] {
        let body = json!({"current_password": alice.password, "new_password": new_password});
        let resp = app.post("/me/password", Some(&alice.token), body).await;
        resp.expect_problem(422, "validation_failed");
        assert_eq!(resp.body["errors"][0]["field"], "new_password");
    }
    let resp = app
        .post(
            "/me/password",
            Some(&alice.token),
            json!({"current_password": alice.password, "new_password": "n", "logout": false}),
        )
        .await;
    resp.expect_problem(422, "validation_failed");
    assert_eq!(resp.body["errors"][0]["field"], "logout");
    // Still signed in with the old password.
    app.get("/me", Some(&alice.token)).await.expect(200);
    app.login("alice", &alice.password).await.expect(200);
}
