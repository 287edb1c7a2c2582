//! Groups: creating, slugs, reading and updating one, and paging the list.

use serde_json::json;

use crate::helpers::{assert_each_once, spawn_app, TestApp, TestUser};

async fn my_role(app: &TestApp, group: &str, user: &TestUser) -> serde_json::Value {
    app.get(&format!("/groups/{group}"), Some(&user.token)).await.expect(200)["my_role"].clone()
}

#[tokio::test]
async fn owner_creates_group_and_outsiders_cannot_see_private_ones() {
    let app = spawn_app().await;
    let owner = app.register("owner").await;
    let outsider = app.register("outsider").await;
    let created = app
        .post("/groups", Some(&owner.token), json!({"name": "Kuhn Readers", "visibility": "private"}))
        .await;
    assert_eq!(created.status, 201);
    let group = created.body;
    assert_eq!(group["slug"], "kuhn-readers");
    assert_eq!(group["my_role"], "owner");
    let id = group["id"].as_str().unwrap();

    app.get(&format!("/groups/{id}"), Some(&outsider.token)).await.expect_problem(404, "not_found");
    app.get(&format!("/groups/{id}"), None).await.expect_problem(404, "not_found");
    let mine = app.get(&format!("/groups/{id}"), Some(&owner.token)).await.expect(200);
    assert_eq!(mine["my_role"], "owner");
    let listed = app.get("/groups", Some(&outsider.token)).await.expect(200);
    assert!(listed["items"].as_array().unwrap().iter().all(|g| g["id"] != id));
}

#[tokio::test]
async fn slugs_are_generated_and_unique_case_insensitively() {
    let app = spawn_app().await;
    let owner = app.register("owner").await;
    let first = app
        .post(
            "/groups",
            Some(&owner.token),
            json!({"name": "  The Öffentliche   Leser! ", "visibility": "public"}),
        )
        .await
        .expect(201);
    assert_eq!(first["slug"], "the-ffentliche-leser");
    assert_eq!(first["name"], "The Öffentliche   Leser!");
    assert_eq!(first["visibility"], "public");
    assert_eq!(first["description"], serde_json::Value::Null);
    let second = app
        .post("/groups", Some(&owner.token), json!({"name": "The ffentliche Leser", "visibility": "private"}))
        .await;
    assert_eq!(second.status, 201);
    assert_eq!(second.body["slug"], "the-ffentliche-leser-2");
    assert!(second.header("location").unwrap().ends_with(second.body["id"].as_str().unwrap()));
    app.post(
        "/groups",
        Some(&owner.token),
        json!({"name": "x", "slug": "the-ffentliche-leser", "visibility": "public"}),
    )
    .await
    .expect_problem(409, "slug_taken");
    for bad in ["Upper", "-edge", "edge-", "sp ace", ""] {
        app.post("/groups", Some(&owner.token), json!({"name": "x", "slug": bad, "visibility": "public"}))
            .await
            .expect_problem(422, "validation_failed");
    }
    for body in [
        json!({"name": "", "visibility": "public"}),
        json!({"name": "   ", "visibility": "public"}),
        json!({"name": "x".repeat(101), "visibility": "public"}),
        json!({"name": "x", "visibility": "secret"}),
        json!({"name": "x", "visibility": "public", "description": "d".repeat(5001)}),
        json!({"name": "x", "visibility": "public", "my_role": "owner"}),
    ] {
        app.post("/groups", Some(&owner.token), body).await.expect_problem(422, "validation_failed");
    }
}

#[tokio::test]
async fn group_shows_my_role_and_organisers_update_it() {
    let app = spawn_app().await;
    let owner = app.register("owner").await;
    let organiser = app.register("organiser").await;
    let reader = app.register("reader").await;
    let group = app.create_group(&owner, "public").await;
    app.add_member(&group, &owner, &organiser, "organiser").await;
    assert_eq!(my_role(&app, &group, &owner).await, "owner");
    assert_eq!(my_role(&app, &group, &organiser).await, "organiser");
    assert_eq!(my_role(&app, &group, &reader).await, serde_json::Value::Null);
    let anon = app.get(&format!("/groups/{group}"), None).await.expect(200);
    assert_eq!(anon["my_role"], serde_json::Value::Null);

    let updated = app
        .patch(
            &format!("/groups/{group}"),
            Some(&organiser.token),
            json!({"name": "Renamed", "description": "About"}),
        )
        .await
        .expect(200);
    assert_eq!(updated["name"], "Renamed");
    assert_eq!(updated["description"], "About");
    let cleared = app
        .patch(&format!("/groups/{group}"), Some(&organiser.token), json!({"description": null}))
        .await
        .expect(200);
    assert_eq!(cleared["description"], serde_json::Value::Null);
    assert_eq!(cleared["name"], "Renamed");
    app.patch(&format!("/groups/{group}"), Some(&organiser.token), json!({"slug": "new"}))
        .await
        .expect_problem(422, "validation_failed");
    app.patch(&format!("/groups/{group}"), Some(&organiser.token), json!({"name": " "}))
        .await
        .expect_problem(422, "validation_failed");

    // Going private hides the group from an outsider on the next request.
    app.get(&format!("/groups/{group}/essays"), Some(&reader.token)).await.expect(200);
    app.patch(&format!("/groups/{group}"), Some(&owner.token), json!({"visibility": "private"}))
        .await
        .expect(200);
    app.get(&format!("/groups/{group}"), Some(&reader.token)).await.expect_problem(404, "not_found");
    app.get(&format!("/groups/{group}/essays"), None).await.expect_problem(404, "not_found");
    app.post(&format!("/groups/{group}/join"), Some(&reader.token), json!({}))
        .await
        .expect_problem(404, "not_found");
}

#[tokio::test]
async fn group_pages_hold_every_group_once_while_groups_are_created() {
    let app = spawn_app().await;
    let owner = app.register("owner").await;
    let other = app.register("other").await;
    let mine_private = app.create_group(&owner, "private").await;
    let theirs_private = app.create_group(&other, "private").await;
    for _ in 0..5 {
        app.create_group(&other, "public").await;
    }
    let before = app.walk_ids("/groups", Some(&owner.token), 100, |_| async {}).await;
    assert_eq!(before.len(), 6);
    assert!(before.contains(&mine_private));
    assert!(!before.contains(&theirs_private));
    let walked = app
        .walk_ids("/groups", Some(&owner.token), 2, |_| {
            let app = &app;
            let other = other.clone();
            async move {
                app.create_group(&other, "public").await;
            }
        })
        .await;
    assert_each_once(&walked, &before);
    let anonymous = app.walk_ids("/groups", None, 3, |_| async {}).await;
    assert!(!anonymous.contains(&mine_private));
    app.get("/groups?limit=0", None).await.expect_problem(422, "validation_failed");
    app.get("/groups?cursor=not-a-cursor", None).await.expect_problem(400, "invalid_cursor");
}
