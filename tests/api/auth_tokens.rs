//! How access tokens are checked: forged, expired, revoked or carried
//! anywhere but the bearer header, they are refused.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use pilcrow::auth::tokens::AccessClaims;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp};

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
