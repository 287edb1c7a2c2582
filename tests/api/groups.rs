use serde_json::json;

use crate::helpers::spawn_app;

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
async fn a_banned_member_loses_sight_of_a_private_group_everywhere() {
    let app = spawn_app().await;
    let owner = app.register("owner").await;
    let member = app.register("member").await;
    let group = app.create_group(&owner, "private").await;
    app.add_member(&group, &owner, &member, "member").await;
    let listed = app.get("/groups", Some(&member.token)).await.expect(200);
    assert!(listed["items"].as_array().unwrap().iter().any(|g| g["id"] == group.as_str()));
    app.post(
        &format!("/groups/{group}/bans"),
        Some(&owner.token),
        json!({"user_id": member.id, "reason": "spam"}),
    )
    .await
    .expect(201);
    app.get(&format!("/groups/{group}"), Some(&member.token)).await.expect_problem(404, "not_found");
    let listed = app.get("/groups", Some(&member.token)).await.expect(200);
    assert!(listed["items"].as_array().unwrap().iter().all(|g| g["id"] != group.as_str()));
    let health = app.get("/groups", Some(&member.token)).await;
    assert_eq!(health.header("content-type"), Some("application/json; charset=utf-8"));
}
