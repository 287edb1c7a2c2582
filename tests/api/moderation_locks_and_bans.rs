//! A locked thread and a ban: which writes they refuse, and to whom.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{all_counts, cast, comments_of, id, spawn_app};

#[tokio::test]
async fn locked_thread_refuses_members_but_not_moderators() {
    let app = spawn_app().await;
    let cast = cast(&app, "public").await;
    let para = cast.reading.paragraph_id(8);
    let thread = app.start_thread(cast.session(), &cast.member, &para, "opening").await;
    let t = id(&thread);
    let mine = id(&app.comment(&t, &cast.member, None, "before the lock").await);
    let mod_comment = id(&app.comment(&t, &cast.moderator, None, "mod words").await);
    app.post(&format!("/threads/{t}/moderation"), Some(&cast.moderator.token), json!({"action": "lock"}))
        .await
        .expect(200);
    assert_eq!(all_counts(&app, &cast, &para, None).await, (1, 3));

    app.post(&format!("/threads/{t}/comments"), Some(&cast.member.token), json!({"body": "after"}))
        .await
        .expect_problem(409, "thread_locked");
    app.post(
        &format!("/threads/{t}/comments"),
        Some(&cast.member.token),
        json!({"body": "reply after", "parent_id": mod_comment}),
    )
    .await
    .expect_problem(409, "thread_locked");
    app.patch(&format!("/comments/{mine}"), Some(&cast.member.token), json!({"body": "edited after"}))
        .await
        .expect_problem(409, "thread_locked");
    assert_eq!(all_counts(&app, &cast, &para, None).await, (1, 3));
    let list = comments_of(&app, &t, None).await;
    assert_eq!(list[1]["body"], "before the lock");

    for moderator in [&cast.moderator, &cast.organiser, &cast.owner] {
        app.post(&format!("/threads/{t}/comments"), Some(&moderator.token), json!({"body": "calm down"}))
            .await
            .expect(201);
    }
    app.patch(&format!("/comments/{mod_comment}"), Some(&cast.moderator.token), json!({"body": "edited"}))
        .await
        .expect(200);
    assert_eq!(all_counts(&app, &cast, &para, None).await, (1, 6));
    // A banned moderator is no moderator here.
    app.post(&format!("/threads/{t}/comments"), Some(&cast.banned_mod.token), json!({"body": "me too"}))
        .await
        .expect_problem(403, "banned");

    app.post(&format!("/threads/{t}/moderation"), Some(&cast.owner.token), json!({"action": "unlock"}))
        .await
        .expect(200);
    app.post(&format!("/threads/{t}/comments"), Some(&cast.member.token), json!({"body": "after"}))
        .await
        .expect(201);
    assert_eq!(all_counts(&app, &cast, &para, None).await, (1, 7));
}

#[tokio::test]
async fn bans_close_every_write_path() {
    let app = spawn_app().await;
    let cast = cast(&app, "public").await;
    let para = cast.reading.paragraph_id(0);
    let thread = app.start_thread(cast.session(), &cast.member, &para, "opening").await;
    let t = id(&thread);
    let mine = id(&app.comment(&t, &cast.member, None, "mine").await);
    let theirs = id(&app.comment(&t, &cast.organiser, None, "theirs").await);
    let g = cast.group().to_owned();
    let invite =
        app.post(&format!("/groups/{g}/invites"), Some(&cast.owner.token), json!({})).await.expect(201);
    app.post(
        &format!("/groups/{g}/bans"),
        Some(&cast.moderator.token),
        json!({"user_id": cast.member.id, "reason": "spam"}),
    )
    .await
    .expect(201);
    let token = Some(cast.member.token.as_str());
    let attempts = [
        (
            Method::POST,
            format!("/sessions/{}/threads", cast.session()),
            Some(json!({"paragraph_id": para, "body": "x"})),
        ),
        (Method::POST, format!("/threads/{t}/comments"), Some(json!({"body": "x"}))),
        (Method::PATCH, format!("/comments/{mine}"), Some(json!({"body": "x"}))),
        (Method::DELETE, format!("/comments/{mine}"), None),
        (Method::POST, format!("/comments/{theirs}/reports"), Some(json!({"reason": "x"}))),
    ];
    for (method, path, body) in attempts {
        app.call(method, &path, token, body).await.expect_problem(403, "banned");
    }
    // Rejoining, by the public door or an invite, is refused while banned.
    app.delete(&format!("/groups/{g}/members/me"), token).await;
    app.post(&format!("/groups/{g}/join"), token, json!({})).await.expect_problem(403, "banned");
    let code = invite["code"].as_str().unwrap();
    app.post(&format!("/invites/{code}/accept"), token, json!({})).await.expect_problem(403, "banned");
    // Nothing landed.
    assert_eq!(all_counts(&app, &cast, &para, None).await, (1, 3));
    // A moderator cannot ban an equal or higher role.
    app.post(
        &format!("/groups/{g}/bans"),
        Some(&cast.moderator.token),
        json!({"user_id": cast.organiser.id, "reason": "x"}),
    )
    .await
    .expect_problem(403, "insufficient_role");
    // A banned moderator has no moderator powers.
    app.post(&format!("/threads/{t}/moderation"), Some(&cast.banned_mod.token), json!({"action": "lock"}))
        .await
        .expect_problem(403, "banned");
    app.post(
        &format!("/groups/{g}/bans"),
        Some(&cast.banned_mod.token),
        json!({"user_id": cast.outsider.id, "reason": "x"}),
    )
    .await
    .expect_problem(403, "banned");
}
