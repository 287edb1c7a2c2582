use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::{spawn_app, TestApp, TestUser};

async fn ban(
    app: &TestApp,
    group: &str,
    by: &TestUser,
    target: &TestUser,
    extra: Value,
) -> crate::helpers::Resp {
    let mut body = json!({"user_id": target.id, "reason": "posting spoilers"});
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        body.extend(extra.clone());
    }
    app.post(&format!("/groups/{group}/bans"), Some(&by.token), body).await
}

async fn modlog(app: &TestApp, group: &str) -> Vec<(String, Uuid, String, Uuid, Option<String>)> {
    use pilcrow::schema::modlog;
    let mut conn = app.db().await;
    modlog::table
        .filter(modlog::group_id.eq(Uuid::parse_str(group).unwrap()))
        .order((modlog::created_at.asc(), modlog::id.asc()))
        .select((modlog::action, modlog::actor_id, modlog::target_type, modlog::target_id, modlog::reason))
        .load(&mut conn)
        .await
        .unwrap()
}

fn uuid(s: &str) -> Uuid {
    Uuid::parse_str(s).unwrap()
}

#[tokio::test]
async fn bans_reach_only_lower_roles() {
    let app = spawn_app().await;
    let owner = app.register("owner").await;
    let organiser = app.register("organiser").await;
    let moderator = app.register("moderator").await;
    let moderator2 = app.register("moderator2").await;
    let reader = app.register("reader").await;
    let group = app.create_group(&owner, "public").await;
    app.add_member(&group, &owner, &organiser, "organiser").await;
    app.add_member(&group, &owner, &moderator, "moderator").await;
    app.add_member(&group, &owner, &moderator2, "moderator").await;
    app.add_member(&group, &owner, &reader, "member").await;

    for target in [&owner, &organiser, &moderator2] {
        ban(&app, &group, &moderator, target, json!({})).await.expect_problem(403, "insufficient_role");
    }
    ban(&app, &group, &organiser, &owner, json!({})).await.expect_problem(403, "insufficient_role");
    ban(&app, &group, &reader, &moderator, json!({})).await.expect_problem(403, "insufficient_role");
    ban(&app, &group, &moderator, &moderator, json!({})).await.expect_problem(422, "validation_failed");
    // Refused bans change nothing.
    assert_eq!(app.get(&format!("/groups/{group}/members"), Some(&organiser.token)).await.status, 200);
    assert!(modlog(&app, &group).await.iter().all(|row| row.0 == "role_change"));

    let created = ban(&app, &group, &moderator, &reader, json!({})).await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.body["user"]["id"], reader.id.as_str());
    assert_eq!(created.body["reason"], "posting spoilers");
    assert_eq!(created.body["banned_by"], moderator.id.as_str());
    assert_eq!(created.body["expires_at"], Value::Null);
    ban(&app, &group, &organiser, &moderator2, json!({})).await.expect(201);
    // An outsider can be banned too, which keeps them from joining.
    let stranger = app.register("stranger").await;
    ban(&app, &group, &moderator, &stranger, json!({})).await.expect(201);
    app.post(&format!("/groups/{group}/join"), Some(&stranger.token), json!({}))
        .await
        .expect_problem(403, "banned");

    for body in [
        json!({"user_id": reader.id, "reason": ""}),
        json!({"user_id": reader.id, "reason": "  "}),
        json!({"user_id": reader.id, "reason": "x".repeat(1001)}),
        json!({"user_id": reader.id, "reason": "r", "expires_at": "2000-01-01T00:00:00Z"}),
        json!({"user_id": "nobody", "reason": "r"}),
        json!({"reason": "r"}),
    ] {
        app.post(&format!("/groups/{group}/bans"), Some(&owner.token), body)
            .await
            .expect_problem(422, "validation_failed");
    }
    app.post(
        &format!("/groups/{group}/bans"),
        Some(&owner.token),
        json!({"user_id": Uuid::new_v4(), "reason": "r"}),
    )
    .await
    .expect_problem(404, "not_found");
}

#[tokio::test]
async fn a_banned_member_keeps_reading_a_public_group_but_cannot_act() {
    let app = spawn_app().await;
    let owner = app.register("owner").await;
    let reader = app.register("reader").await;
    let reading = app.reading(&owner, "public").await;
    let group = &reading.group_id;
    app.add_member(group, &owner, &reader, "moderator").await;
    ban(&app, group, &owner, &reader, json!({})).await.expect(201);

    let seen = app.get(&format!("/groups/{group}"), Some(&reader.token)).await.expect(200);
    assert_eq!(seen["my_role"], "moderator", "the ban keeps the membership");
    app.get(&format!("/sessions/{}/paragraphs", reading.session_id), Some(&reader.token)).await.expect(200);
    app.post(&format!("/groups/{group}/join"), Some(&reader.token), json!({}))
        .await
        .expect_problem(403, "banned");
    app.get(&format!("/groups/{group}/members"), Some(&reader.token)).await.expect_problem(403, "banned");
    app.delete(&format!("/groups/{group}/members/me"), Some(&reader.token))
        .await
        .expect_problem(403, "banned");

    app.delete(&format!("/groups/{group}/bans/{}", reader.id), Some(&owner.token)).await.expect(204);
    app.get(&format!("/groups/{group}/members"), Some(&reader.token)).await.expect(200);
    let seen = app.get(&format!("/groups/{group}"), Some(&reader.token)).await.expect(200);
    assert_eq!(seen["my_role"], "moderator", "lifting the ban restores the role");
    // No active ban left to lift.
    app.delete(&format!("/groups/{group}/bans/{}", reader.id), Some(&owner.token))
        .await
        .expect_problem(404, "not_found");
    app.delete(&format!("/groups/{group}/bans/{}", Uuid::new_v4()), Some(&owner.token))
        .await
        .expect_problem(404, "not_found");
}

#[tokio::test]
async fn a_ban_shuts_a_member_out_of_a_private_group_on_the_next_request() {
    let app = spawn_app().await;
    let owner = app.register("owner").await;
    let reader = app.register("reader").await;
    let reading = app.reading(&owner, "private").await;
    let group = &reading.group_id;
    app.add_member(group, &owner, &reader, "member").await;
    let essay = reading.essay["id"].as_str().unwrap();
    app.get(&format!("/essays/{essay}"), Some(&reader.token)).await.expect(200);

    ban(&app, group, &owner, &reader, json!({})).await.expect(201);
    // Same token, next request: gone.
    app.get(&format!("/essays/{essay}"), Some(&reader.token)).await.expect_problem(404, "not_found");
    app.get(&format!("/groups/{group}"), Some(&reader.token)).await.expect_problem(404, "not_found");
    app.get(&format!("/sessions/{}/counts", reading.session_id), Some(&reader.token))
        .await
        .expect_problem(404, "not_found");

    app.delete(&format!("/groups/{group}/bans/{}", reader.id), Some(&owner.token)).await.expect(204);
    app.get(&format!("/essays/{essay}"), Some(&reader.token)).await.expect(200);

    let log = modlog(&app, group).await;
    let owner_id = uuid(&owner.id);
    let reader_id = uuid(&reader.id);
    let bans: Vec<_> = log.iter().filter(|r| r.0 != "role_change").collect();
    assert_eq!(bans.len(), 2, "{log:?}");
    assert_eq!(
        bans[0],
        &("ban".to_owned(), owner_id, "user".to_owned(), reader_id, Some("posting spoilers".to_owned()))
    );
    assert_eq!(
        (bans[1].0.as_str(), bans[1].1, bans[1].2.as_str(), bans[1].3),
        ("unban", owner_id, "user", reader_id)
    );
}

#[tokio::test]
async fn a_timed_ban_ends_by_itself() {
    let app = spawn_app().await;
    let owner = app.register("owner").await;
    let reader = app.register("reader").await;
    let group = app.create_group(&owner, "private").await;
    app.add_member(&group, &owner, &reader, "member").await;
    let until = chrono::Utc::now() + chrono::Duration::milliseconds(1500);
    let created =
        ban(&app, &group, &owner, &reader, json!({"expires_at": until.to_rfc3339()})).await.expect(201);
    assert!(created["expires_at"].as_str().is_some());
    app.get(&format!("/groups/{group}"), Some(&reader.token)).await.expect_problem(404, "not_found");

    tokio::time::sleep(std::time::Duration::from_millis(1800)).await;
    let seen = app.get(&format!("/groups/{group}"), Some(&reader.token)).await.expect(200);
    assert_eq!(seen["my_role"], "member");
    app.get(&format!("/groups/{group}/members"), Some(&reader.token)).await.expect(200);
    // An expired ban is no longer there to lift.
    app.delete(&format!("/groups/{group}/bans/{}", reader.id), Some(&owner.token))
        .await
        .expect_problem(404, "not_found");
}

#[tokio::test]
async fn a_moderator_cannot_lift_the_ban_of_an_equal_or_higher_role() {
    let app = spawn_app().await;
    let owner = app.register("owner").await;
    let moderator = app.register("moderator").await;
    let organiser = app.register("organiser").await;
    let member = app.register("member").await;
    let group = app.create_group(&owner, "public").await;
    app.add_member(&group, &owner, &moderator, "moderator").await;
    app.add_member(&group, &owner, &organiser, "organiser").await;
    app.add_member(&group, &owner, &member, "member").await;
    ban(&app, &group, &owner, &organiser, json!({})).await.expect(201);
    ban(&app, &group, &owner, &member, json!({})).await.expect(201);
    app.delete(&format!("/groups/{group}/bans/{}", organiser.id), Some(&moderator.token))
        .await
        .expect_problem(403, "insufficient_role");
    app.delete(&format!("/groups/{group}/bans/{}", member.id), Some(&moderator.token)).await.expect(204);
    app.delete(&format!("/groups/{group}/bans/{}", organiser.id), Some(&owner.token)).await.expect(204);
    let actions: Vec<String> = modlog(&app, &group).await.into_iter().map(|row| row.0).collect();
    assert_eq!(actions.iter().filter(|a| *a == "unban").count(), 2);
}
