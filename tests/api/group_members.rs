//! Membership: joining and leaving, the members list and its pages, role
//! changes and ownership, and what a ban hides.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde_json::json;
use uuid::Uuid;

use crate::helpers::{assert_each_once, spawn_app, TestApp, TestUser};

fn role_path(group: &str, user: &TestUser) -> String {
    format!("/groups/{group}/members/{}/role", user.id)
}

async fn my_role(app: &TestApp, group: &str, user: &TestUser) -> serde_json::Value {
    app.get(&format!("/groups/{group}"), Some(&user.token)).await.expect(200)["my_role"].clone()
}

#[tokio::test]
async fn joining_and_leaving() {
    let app = spawn_app().await;
    let owner = app.register("owner").await;
    let reader = app.register("reader").await;
    let public = app.create_group(&owner, "public").await;
    let private = app.create_group(&owner, "private").await;

    let joined = app.post(&format!("/groups/{public}/join"), Some(&reader.token), json!({})).await;
    assert_eq!(joined.status, 201);
    assert_eq!(joined.body["role"], "member");
    assert_eq!(joined.body["group_id"], public.as_str());
    assert_eq!(joined.body["user"]["id"], reader.id.as_str());
    assert!(joined.body["user"].get("email").is_none(), "a membership does not leak emails");
    app.post(&format!("/groups/{public}/join"), Some(&reader.token), json!({}))
        .await
        .expect_problem(409, "already_member");
    app.post(&format!("/groups/{private}/join"), Some(&reader.token), json!({}))
        .await
        .expect_problem(404, "not_found");
    app.post(&format!("/groups/{}/join", Uuid::new_v4()), Some(&reader.token), json!({}))
        .await
        .expect_problem(404, "not_found");

    // The last owner cannot leave; a member can, and a private group is gone for them at once.
    app.delete(&format!("/groups/{public}/members/me"), Some(&owner.token))
        .await
        .expect_problem(409, "last_owner");
    app.add_member(&private, &owner, &reader, "member").await;
    app.get(&format!("/groups/{private}"), Some(&reader.token)).await.expect(200);
    app.delete(&format!("/groups/{private}/members/me"), Some(&reader.token)).await.expect(204);
    app.get(&format!("/groups/{private}"), Some(&reader.token)).await.expect_problem(404, "not_found");
    app.delete(&format!("/groups/{private}/members/me"), Some(&reader.token))
        .await
        .expect_problem(404, "not_found");
    app.delete(&format!("/groups/{public}/members/me"), Some(&reader.token)).await.expect(204);
    app.delete(&format!("/groups/{public}/members/me"), Some(&reader.token))
        .await
        .expect_problem(403, "not_a_member");
    app.get(&format!("/groups/{public}/members"), Some(&reader.token))
        .await
        .expect_problem(403, "not_a_member");
    // Leaving does not stop anyone from coming back.
    app.post(&format!("/groups/{public}/join"), Some(&reader.token), json!({})).await.expect(201);
}

#[tokio::test]
async fn members_list_shows_users_and_roles() {
    let app = spawn_app().await;
    let owner = app.register("owner").await;
    let reader = app.register("reader").await;
    let group = app.create_group(&owner, "private").await;
    app.add_member(&group, &owner, &reader, "moderator").await;
    let members = app.get(&format!("/groups/{group}/members"), Some(&reader.token)).await.expect(200);
    let items = members["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(members["next_cursor"], serde_json::Value::Null);
    assert_eq!(items[0]["user"]["username"], "owner");
    assert_eq!(items[0]["role"], "owner");
    assert_eq!(items[1]["user"]["id"], reader.id.as_str());
    assert_eq!(items[1]["role"], "moderator");
    assert!(items[1]["joined_at"].as_str().is_some());
    app.get(&format!("/groups/{group}/members?limit=101"), Some(&reader.token))
        .await
        .expect_problem(422, "validation_failed");
    app.get(&format!("/groups/{group}/members?cursor=bogus"), Some(&reader.token))
        .await
        .expect_problem(400, "invalid_cursor");
}

#[tokio::test]
async fn member_pages_hold_every_member_once_while_people_join() {
    let app = spawn_app().await;
    let owner = app.register("owner").await;
    let group = app.create_group(&owner, "public").await;
    for i in 0..6 {
        let u = app.register(&format!("early{i}")).await;
        app.post(&format!("/groups/{group}/join"), Some(&u.token), json!({})).await.expect(201);
    }
    let before =
        app.walk_ids(&format!("/groups/{group}/members"), Some(&owner.token), 100, |_| async {}).await;
    assert_eq!(before.len(), 7);
    let walked = app
        .walk_ids(&format!("/groups/{group}/members"), Some(&owner.token), 2, |page| {
            let app = &app;
            let group = group.clone();
            async move {
                let u = app.register(&format!("late{page}")).await;
                app.post(&format!("/groups/{group}/join"), Some(&u.token), json!({})).await.expect(201);
            }
        })
        .await;
    assert_each_once(&walked, &before);
    // Newcomers join at the end of the list, so the walk reaches them too.
    assert!(walked.len() > before.len());
}

#[tokio::test]
async fn role_changes_follow_the_ladder() {
    let app = spawn_app().await;
    let owner = app.register("owner").await;
    let organiser = app.register("organiser").await;
    let moderator = app.register("moderator").await;
    let reader = app.register("reader").await;
    let group = app.create_group(&owner, "public").await;
    app.add_member(&group, &owner, &organiser, "organiser").await;
    app.add_member(&group, &owner, &moderator, "moderator").await;
    app.add_member(&group, &owner, &reader, "member").await;

    // A moderator cannot promote anyone.
    app.put(&role_path(&group, &reader), Some(&moderator.token), json!({"role": "moderator"}))
        .await
        .expect_problem(403, "insufficient_role");
    // An organiser moves people between member and moderator...
    let promoted = app
        .put(&role_path(&group, &reader), Some(&organiser.token), json!({"role": "moderator"}))
        .await
        .expect(200);
    assert_eq!(promoted["role"], "moderator");
    assert_eq!(promoted["user"]["id"], reader.id.as_str());
    app.put(&role_path(&group, &reader), Some(&organiser.token), json!({"role": "member"})).await.expect(200);
    // ...but neither grants nor removes organiser or owner.
    for role in ["organiser", "owner"] {
        app.put(&role_path(&group, &reader), Some(&organiser.token), json!({"role": role}))
            .await
            .expect_problem(403, "insufficient_role");
    }
    app.put(&role_path(&group, &organiser), Some(&organiser.token), json!({"role": "member"}))
        .await
        .expect_problem(403, "insufficient_role");
    app.put(&role_path(&group, &owner), Some(&organiser.token), json!({"role": "member"}))
        .await
        .expect_problem(403, "insufficient_role");
    assert_eq!(my_role(&app, &group, &reader).await, "member");
    assert_eq!(my_role(&app, &group, &owner).await, "owner");

    // Unknown roles and non-members.
    app.put(&role_path(&group, &reader), Some(&owner.token), json!({"role": "admin"}))
        .await
        .expect_problem(422, "validation_failed");
    let outsider = app.register("outsider").await;
    app.put(&role_path(&group, &outsider), Some(&owner.token), json!({"role": "member"}))
        .await
        .expect_problem(404, "not_found");
    app.put(&format!("/groups/{group}/members/nope/role"), Some(&owner.token), json!({"role": "member"}))
        .await
        .expect_problem(404, "not_found");

    // Every change is in the moderation log: two by the organiser, none for refusals.
    use pilcrow::schema::modlog;
    let mut conn = app.db().await;
    let rows: Vec<(String, Uuid, Uuid, Option<String>)> = modlog::table
        .filter(modlog::group_id.eq(Uuid::parse_str(&group).unwrap()))
        .filter(modlog::target_id.eq(Uuid::parse_str(&reader.id).unwrap()))
        .order(modlog::created_at.asc())
        .select((modlog::action, modlog::actor_id, modlog::target_id, modlog::reason))
        .load(&mut conn)
        .await
        .unwrap();
    let organiser_id = Uuid::parse_str(&organiser.id).unwrap();
    let got: Vec<_> =
        rows.iter().map(|(a, actor, _, r)| (a.as_str(), *actor == organiser_id, r.as_deref())).collect();
    assert_eq!(
        got,
        [
            ("role_change", true, Some("member -> moderator")),
            ("role_change", true, Some("moderator -> member"))
        ]
    );
}

#[tokio::test]
async fn the_last_owner_stays_and_ownership_can_be_shared_or_handed_over() {
    let app = spawn_app().await;
    let owner = app.register("owner").await;
    let heir = app.register("heir").await;
    let group = app.create_group(&owner, "private").await;
    app.add_member(&group, &owner, &heir, "member").await;

    app.put(&role_path(&group, &owner), Some(&owner.token), json!({"role": "organiser"}))
        .await
        .expect_problem(409, "last_owner");
    app.delete(&format!("/groups/{group}/members/me"), Some(&owner.token))
        .await
        .expect_problem(409, "last_owner");
    assert_eq!(my_role(&app, &group, &owner).await, "owner");

    // Shared: two owners, either may step down while the other remains.
    app.put(&role_path(&group, &heir), Some(&owner.token), json!({"role": "owner"})).await.expect(200);
    assert_eq!(my_role(&app, &group, &heir).await, "owner");
    app.put(&role_path(&group, &owner), Some(&heir.token), json!({"role": "moderator"})).await.expect(200);
    assert_eq!(my_role(&app, &group, &owner).await, "moderator");
    // Now the heir is the last owner.
    app.put(&role_path(&group, &heir), Some(&heir.token), json!({"role": "member"}))
        .await
        .expect_problem(409, "last_owner");
    app.delete(&format!("/groups/{group}/members/me"), Some(&heir.token))
        .await
        .expect_problem(409, "last_owner");

    // Handed over: promote the other, then leave.
    app.put(&role_path(&group, &owner), Some(&heir.token), json!({"role": "owner"})).await.expect(200);
    app.delete(&format!("/groups/{group}/members/me"), Some(&heir.token)).await.expect(204);
    app.get(&format!("/groups/{group}"), Some(&heir.token)).await.expect_problem(404, "not_found");
    let members = app.get(&format!("/groups/{group}/members"), Some(&owner.token)).await.expect(200);
    let items = members["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["role"], "owner");
}

#[tokio::test]
async fn two_owners_demoting_each_other_at_once_leave_one_owner() {
    let app = spawn_app().await;
    let a = app.register("owner_a").await;
    let b = app.register("owner_b").await;
    let group = app.create_group(&a, "public").await;
    app.add_member(&group, &a, &b, "owner").await;
    for _ in 0..5 {
        let (path_a, path_b) = (role_path(&group, &a), role_path(&group, &b));
        let (ra, rb) = tokio::join!(
            app.put(&path_b, Some(&a.token), json!({"role": "member"})),
            app.put(&path_a, Some(&b.token), json!({"role": "member"})),
        );
        let statuses = [ra.status, rb.status];
        let members = app.get(&format!("/groups/{group}/members"), Some(&a.token)).await;
        let members = if members.status == 200 {
            members.body
        } else {
            app.get(&format!("/groups/{group}/members"), Some(&b.token)).await.expect(200)
        };
        let owners: Vec<_> =
            members["items"].as_array().unwrap().iter().filter(|m| m["role"] == "owner").collect();
        assert_eq!(owners.len(), 1, "statuses {statuses:?}; members {members}");
        // Restore two owners for the next round.
        let (remaining, other) = if owners[0]["user"]["id"] == a.id.as_str() { (&a, &b) } else { (&b, &a) };
        app.put(&role_path(&group, other), Some(&remaining.token), json!({"role": "owner"}))
            .await
            .expect(200);
    }
}

#[tokio::test]
async fn a_banned_member_loses_sight_of_a_private_group_everywhere() {
    let app = crate::helpers::spawn_app().await;
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
    let listed = app.get("/groups", Some(&member.token)).await;
    assert_eq!(listed.header("content-type"), Some("application/json; charset=utf-8"));
    assert!(listed.body["items"].as_array().unwrap().iter().all(|g| g["id"] != group.as_str()));
}
