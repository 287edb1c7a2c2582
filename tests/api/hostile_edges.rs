//! Small doors a hostile client tried: a body that is an array, a group made
//! private keeping its guessable slug, a browser that cannot read the live
//! events' resume header, a device header CORS would not let through.

use serde_json::json;

use crate::helpers::spawn_app_with;

#[tokio::test]
async fn a_body_that_is_not_an_object_changes_nothing() {
    let app = spawn_app_with(|_| {}).await;
    let alice = app.register("alice").await;
    for body in [json!(["x", "y"]), json!(["x"]), json!("x"), json!(7)] {
        let resp = app.patch("/me", Some(&alice.token), body.clone()).await;
        resp.expect_problem(422, "validation_failed");
    }
    let me = app.get("/me", Some(&alice.token)).await.expect(200);
    assert_eq!(me["display_name"], "alice", "{me}");
    assert_eq!(me["bio"], json!(null), "{me}");
}

#[tokio::test]
async fn a_group_made_private_no_longer_answers_to_its_old_slug() {
    let app = spawn_app_with(|_| {}).await;
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;
    let group = app
        .post(
            "/groups",
            Some(&alice.token),
            json!({"name": "Book club", "slug": "book-club", "visibility": "public"}),
        )
        .await
        .expect(201);
    let id = group["id"].as_str().expect("id");
    let private = app
        .patch(&format!("/groups/{id}"), Some(&alice.token), json!({"visibility": "private"}))
        .await
        .expect(200);
    let slug = private["slug"].as_str().expect("slug");
    assert!(slug.starts_with("book-club-") && slug.len() == "book-club-".len() + 8, "{slug}");
    app.get(&format!("/groups/{id}"), Some(&bob.token)).await.expect_problem(404, "not_found");
    // Bob asks for the old slug and gets it, as for any unused slug.
    let mine = app
        .post(
            "/groups",
            Some(&bob.token),
            json!({"name": "Mine", "slug": "book-club", "visibility": "public"}),
        )
        .await
        .expect(201);
    assert_eq!(mine["slug"], "book-club");
    // Renaming a private group, or making it public again, keeps its slug.
    let again =
        app.patch(&format!("/groups/{id}"), Some(&alice.token), json!({"visibility": "public"})).await;
    assert_eq!(again.expect(200)["slug"], slug);
}

#[tokio::test]
async fn browsers_may_read_the_event_cursor_and_send_the_device_header() {
    let origin = "http://localhost:5173";
    let app = spawn_app_with(|s| s.server.cors_allowed_origins = vec![origin.into()]).await;
    let resp = app.raw(app.client.get(app.url("/groups")).header("origin", origin)).await;
    assert_eq!(resp.status, 200);
    let exposed = resp.header("access-control-expose-headers").expect("exposed headers").to_lowercase();
    assert!(exposed.contains("pilcrow-event-cursor"), "{exposed}");
    let preflight = app
        .raw(
            app.client
                .request(reqwest::Method::OPTIONS, app.url("/auth/login"))
                .header("origin", origin)
                .header("access-control-request-method", "POST")
                .header("access-control-request-headers", "content-type, pilcrow-device"),
        )
        .await;
    assert_eq!(preflight.status, 200, "{:?}", preflight.body);
    let allowed = preflight.header("access-control-allow-headers").expect("allowed").to_lowercase();
    assert!(allowed.contains("pilcrow-device"), "{allowed}");
}
