//! PUT, DELETE and GET /me/blocks: private to the blocker, idempotent,
//! never oneself.

use serde_json::json;

use crate::helpers::spawn_app;

#[tokio::test]
async fn blocks_are_listed_newest_first_and_undone() {
    let app = spawn_app().await;
    let (me, alice, bob) =
        (app.register("myself").await, app.register("alice").await, app.register("bob").await);
    for u in [&alice, &bob, &alice] {
        app.put(&format!("/me/blocks/{}", u.id), Some(&me.token), json!({})).await.expect(204);
    }
    let page = app.get("/me/blocks", Some(&me.token)).await.expect(200);
    let names: Vec<&str> =
        page["items"].as_array().unwrap().iter().map(|u| u["username"].as_str().unwrap()).collect();
    assert_eq!(names, ["bob", "alice"]);
    let paged = app.get("/me/blocks?limit=1", Some(&me.token)).await.expect(200);
    assert_eq!(paged["items"][0]["username"], "bob");
    let cursor = paged["next_cursor"].as_str().expect("a next page");
    let next = app.get(&format!("/me/blocks?limit=1&cursor={cursor}"), Some(&me.token)).await.expect(200);
    assert_eq!(next["items"][0]["username"], "alice");

    // Private: the blocked see nothing of it.
    let theirs = app.get("/me/blocks", Some(&alice.token)).await.expect(200);
    assert_eq!(theirs["items"], json!([]));

    app.delete(&format!("/me/blocks/{}", bob.id), Some(&me.token)).await.expect(204);
    app.delete(&format!("/me/blocks/{}", bob.id), Some(&me.token)).await.expect(204);
    let page = app.get("/me/blocks", Some(&me.token)).await.expect(200);
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn blocking_oneself_or_nobody_is_refused() {
    let app = spawn_app().await;
    let me = app.register("myself").await;
    app.put(&format!("/me/blocks/{}", me.id), Some(&me.token), json!({}))
        .await
        .expect_problem(422, "validation_failed");
    app.put(&format!("/me/blocks/{}", uuid::Uuid::new_v4()), Some(&me.token), json!({})).await.expect(404);
    app.put(&format!("/me/blocks/{}", me.id), None, json!({})).await.expect_unauthorized("missing_token");
}
