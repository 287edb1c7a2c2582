//! A replayed `Idempotency-Key` answers only a request that would still be
//! let in: a revoked token, a ban or leaving a private group ends replays as
//! it ends new requests.

use serde_json::{json, Value};

use crate::helpers::{cast, spawn_app, Resp, TestApp, TestUser};

async fn post_keyed(app: &TestApp, path: &str, user: &TestUser, key: &str, body: &Value) -> Resp {
    app.raw(app.client.post(app.url(path)).bearer_auth(&user.token).header("Idempotency-Key", key).json(body))
        .await
}

#[tokio::test]
async fn a_replay_passes_the_token_and_access_checks_of_a_new_request() {
    for visibility in ["public", "private"] {
        let app = spawn_app().await;
        let cast = cast(&app, visibility).await;
        let (g, s) = (cast.group(), cast.session());
        let thread = app.start_thread(s, &cast.owner, &cast.reading.paragraph_id(0), "Open").await;
        let path = format!("/threads/{}/comments", thread["id"].as_str().expect("thread id"));
        let body = json!({"body": "private words"});

        // Still allowed: the stored answer, nothing new.
        let first = post_keyed(&app, &path, &cast.member, "k1", &body).await;
        assert_eq!(first.status, 201, "{}", first.body);
        let again = post_keyed(&app, &path, &cast.member, "k1", &body).await;
        assert_eq!((again.status, again.header("idempotency-replayed")), (201, Some("true")));
        assert_eq!(again.body, first.body);

        // A revoked token: 401, not the stored answer.
        let first = post_keyed(&app, &path, &cast.moderator, "k2", &body).await;
        assert_eq!(first.status, 201, "{}", first.body);
        let changed = json!({"current_password": cast.moderator.password, "new_password": "a whole new sentence of words"});
        app.post("/me/password", Some(&cast.moderator.token), changed).await.expect(204);
        post_keyed(&app, &path, &cast.moderator, "k2", &body).await.expect_unauthorized("token_revoked");

        // Banned: 403, or 404 where the group is private (as for a new comment).
        let refused = if visibility == "private" { 404 } else { 403 };
        app.post(
            &format!("/groups/{g}/bans"),
            Some(&cast.owner.token),
            json!({"user_id": cast.member.id, "reason": "spam"}),
        )
        .await
        .expect(201);
        let replay = post_keyed(&app, &path, &cast.member, "k1", &body).await;
        assert_eq!(replay.status, refused, "{visibility}: {}", replay.body);
        assert_eq!(replay.header("idempotency-replayed"), None);

        // Left: 404 in a private group (it no longer exists for them), 403 in a public one.
        let first = post_keyed(&app, &path, &cast.organiser, "k3", &body).await;
        assert_eq!(first.status, 201, "{}", first.body);
        app.delete(&format!("/groups/{g}/members/me"), Some(&cast.organiser.token)).await.expect(204);
        let replay = post_keyed(&app, &path, &cast.organiser, "k3", &body).await;
        assert_eq!(replay.status, refused, "{visibility}: {}", replay.body);
        assert!(!replay.body.to_string().contains("private words"), "{visibility}");
    }
}
