use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde_json::json;
use uuid::Uuid;

use crate::helpers::spawn_app;

#[tokio::test]
async fn an_invite_code_is_a_long_secret_shown_once() {
    let app = spawn_app().await;
    let owner = app.register("owner").await;
    let guest = app.register("guest").await;
    let group = app.create_group(&owner, "private").await;
    let created =
        app.post(&format!("/groups/{group}/invites"), Some(&owner.token), json!({"max_uses": 2})).await;
    assert_eq!(created.status, 201);
    let code = created.body["code"].as_str().unwrap().to_owned();
    assert!(code.len() >= 32, "code too short to be a secret: {code}");
    assert_eq!(created.body["max_uses"], 2);
    assert_eq!(created.body["uses"], 0);
    assert_eq!(created.body["group_id"], group.as_str());
    let other = app.invite(&group, &owner, json!({})).await;
    assert_ne!(code, other);

    // The database keeps only a hash.
    use pilcrow::schema::invites;
    let mut conn = app.db().await;
    let hashes: Vec<Vec<u8>> = invites::table.select(invites::code_hash).load(&mut conn).await.unwrap();
    assert_eq!(hashes.len(), 2);
    assert!(hashes.iter().all(|h| h.len() == 32 && !String::from_utf8_lossy(h).contains(&code)));

    let accepted = app.post(&format!("/invites/{code}/accept"), Some(&guest.token), json!({})).await;
    assert_eq!(accepted.status, 201);
    assert_eq!(accepted.body["group_id"], group.as_str());
    assert_eq!(accepted.body["role"], "member");
    assert_eq!(accepted.body["user"]["id"], guest.id.as_str());
    let seen = app.get(&format!("/groups/{group}"), Some(&guest.token)).await.expect(200);
    assert_eq!(seen["my_role"], "member");
    // Already a member: 409, and the use is not spent.
    app.post(&format!("/invites/{code}/accept"), Some(&guest.token), json!({}))
        .await
        .expect_problem(409, "already_member");
    let uses: i32 =
        invites::table.filter(invites::max_uses.eq(2)).select(invites::uses).first(&mut conn).await.unwrap();
    assert_eq!(uses, 1);
}

#[tokio::test]
async fn wrong_expired_and_used_up_codes() {
    let app = spawn_app().await;
    let owner = app.register("owner").await;
    let a = app.register("guest_a").await;
    let b = app.register("guest_b").await;
    let group = app.create_group(&owner, "private").await;

    app.post("/invites/not-a-real-code/accept", Some(&a.token), json!({}))
        .await
        .expect_problem(404, "not_found");
    let code = app.invite(&group, &owner, json!({})).await;
    app.post(&format!("/invites/{}x/accept", code), Some(&a.token), json!({}))
        .await
        .expect_problem(404, "not_found");
    app.post(&format!("/invites/{code}/accept"), None, json!({})).await.expect_problem(401, "missing_token");

    let once = app.invite(&group, &owner, json!({"max_uses": 1})).await;
    app.post(&format!("/invites/{once}/accept"), Some(&a.token), json!({})).await.expect(201);
    app.post(&format!("/invites/{once}/accept"), Some(&b.token), json!({}))
        .await
        .expect_problem(410, "invite_used_up");

    let soon = (chrono::Utc::now() + chrono::Duration::milliseconds(1200)).to_rfc3339();
    let expiring = app.invite(&group, &owner, json!({"expires_at": soon})).await;
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    app.post(&format!("/invites/{expiring}/accept"), Some(&b.token), json!({}))
        .await
        .expect_problem(410, "invite_expired");
    app.get(&format!("/groups/{group}"), Some(&b.token)).await.expect_problem(404, "not_found");

    for body in [
        json!({"max_uses": 0}),
        json!({"max_uses": -3}),
        json!({"expires_at": "2001-01-01T00:00:00Z"}),
        json!({"expires_at": "tomorrow"}),
        json!({"code": "mine"}),
    ] {
        app.post(&format!("/groups/{group}/invites"), Some(&owner.token), body)
            .await
            .expect_problem(422, "validation_failed");
    }
}

#[tokio::test]
async fn banned_users_cannot_accept_an_invite() {
    let app = spawn_app().await;
    let owner = app.register("owner").await;
    let troll = app.register("troll").await;
    let group = app.create_group(&owner, "private").await;
    app.post(
        &format!("/groups/{group}/bans"),
        Some(&owner.token),
        json!({"user_id": troll.id, "reason": "spam"}),
    )
    .await
    .expect(201);
    let code = app.invite(&group, &owner, json!({"max_uses": 1})).await;
    app.post(&format!("/invites/{code}/accept"), Some(&troll.token), json!({}))
        .await
        .expect_problem(403, "banned");
    // The refused accept did not spend the single use.
    let friend = app.register("friend").await;
    app.post(&format!("/invites/{code}/accept"), Some(&friend.token), json!({})).await.expect(201);
}

#[tokio::test]
async fn concurrent_accepts_never_exceed_max_uses() {
    let app = spawn_app().await;
    let owner = app.register("owner").await;
    let group = app.create_group(&owner, "private").await;
    let code = app.invite(&group, &owner, json!({"max_uses": 3})).await;
    let mut users = Vec::new();
    for i in 0..10 {
        users.push(app.register(&format!("racer{i}")).await);
    }
    let path = format!("/invites/{code}/accept");
    let results =
        futures_util::future::join_all(users.iter().map(|u| app.post(&path, Some(&u.token), json!({}))))
            .await;
    let mut statuses: Vec<u16> = results.iter().map(|r| r.status).collect();
    statuses.sort_unstable();
    assert_eq!(statuses, [201, 201, 201, 410, 410, 410, 410, 410, 410, 410], "{results:#?}");
    assert!(results.iter().filter(|r| r.status == 410).all(|r| r.code() == "invite_used_up"));

    let members = app.get(&format!("/groups/{group}/members"), Some(&owner.token)).await.expect(200);
    assert_eq!(members["items"].as_array().unwrap().len(), 4);
    use pilcrow::schema::invites;
    let mut conn = app.db().await;
    let uses: i32 = invites::table
        .filter(invites::group_id.eq(Uuid::parse_str(&group).unwrap()))
        .select(invites::uses)
        .first(&mut conn)
        .await
        .unwrap();
    assert_eq!(uses, 3);
}

#[tokio::test]
async fn organisers_list_and_revoke_invites_without_seeing_codes_again() {
    let app = spawn_app().await;
    let owner = app.register("owner").await;
    let member = app.register("member").await;
    let guest = app.register("guest").await;
    let group = app.create_group(&owner, "private").await;
    app.add_member(&group, &owner, &member, "moderator").await;
    let created =
        app.post(&format!("/groups/{group}/invites"), Some(&owner.token), json!({"max_uses": 5})).await;
    let location = created.header("location").unwrap().to_owned();
    let created = created.expect(201);
    let code = created["code"].as_str().unwrap().to_owned();
    assert!(!location.contains(&code), "the secret code leaked into Location: {location}");

    let listed = app.get(&format!("/groups/{group}/invites"), Some(&owner.token)).await.expect(200);
    let items = listed["items"].as_array().unwrap();
    // One from add_member, one just now; neither shows its code.
    assert_eq!(items.len(), 2);
    assert!(items.iter().all(|i| i.get("code").is_none()));
    assert_eq!(items[0]["id"], created["id"]);
    app.get(&format!("/groups/{group}/invites"), Some(&member.token))
        .await
        .expect_problem(403, "insufficient_role");
    app.get(&format!("/groups/{group}/invites"), Some(&guest.token)).await.expect_problem(404, "not_found");

    let invite_id = created["id"].as_str().unwrap();
    app.delete(&format!("/groups/{group}/invites/{invite_id}"), Some(&member.token))
        .await
        .expect_problem(403, "insufficient_role");
    app.delete(&format!("/groups/{group}/invites/{invite_id}"), Some(&owner.token)).await.expect(204);
    app.delete(&format!("/groups/{group}/invites/{invite_id}"), Some(&owner.token))
        .await
        .expect_problem(404, "not_found");
    app.post(&format!("/invites/{code}/accept"), Some(&guest.token), json!({}))
        .await
        .expect_problem(404, "not_found");
}
