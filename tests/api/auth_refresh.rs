//! Refresh-token rotation and reuse detection, and logging out of one
//! sign-in or all of them.

use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde_json::{json, Value};

use crate::helpers::spawn_app;

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
