//! The moderation log: one row per effective action, for moderators only,
//! newest first, filterable and paged.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::spawn_app;
use crate::helpers::{cast, check_cell, id, MODERATOR_ROUTE};

fn items(page: &Value) -> Vec<Value> {
    page["items"].as_array().expect("items").clone()
}

fn actions(page: &Value) -> Vec<String> {
    items(page).iter().map(|e| e["action"].as_str().unwrap_or("").to_owned()).collect()
}

#[tokio::test]
async fn modlog_role_matrix() {
    let app = spawn_app().await;
    for visibility in ["public", "private"] {
        let cast = cast(&app, visibility).await;
        let path = format!("/groups/{}/modlog", cast.group());
        for row in &MODERATOR_ROUTE {
            let res = check_cell(&app, &cast, row.0, Method::GET, &path, None, cast.pick(row)).await;
            if res.status == 200 {
                // The cast's setup banned a moderator and granted roles.
                let acts = actions(&res.body);
                assert_eq!(acts.first().map(String::as_str), Some("ban"), "{acts:?}");
                assert!(acts.iter().filter(|a| *a == "role_change").count() >= 3, "{acts:?}");
            }
        }
    }
}

#[tokio::test]
async fn every_kind_of_action_lands_once_newest_first() {
    let app = spawn_app().await;
    let cast = cast(&app, "public").await;
    let g = cast.group().to_owned();
    let owner = Some(cast.owner.token.as_str());
    let moderator = Some(cast.moderator.token.as_str());
    let para = cast.reading.paragraph_id(2);
    let thread = app.start_thread(cast.session(), &cast.member, &para, "opening").await;
    let t = id(&thread);
    let c = id(&app.comment(&t, &cast.member, None, "a comment").await);
    let own_comment = id(&app.comment(&t, &cast.member, None, "mine to delete").await);
    let before = items(&app.get(&format!("/groups/{g}/modlog?limit=100"), owner).await.expect(200)).len();

    // Deleted by its author: not logged.
    app.delete(&format!("/comments/{own_comment}"), Some(&cast.member.token)).await.expect(204);
    let thread_path = format!("/threads/{t}/moderation");
    for (action, reason) in
        [("lock", Some("heated")), ("lock", None), ("pin", None), ("hide", Some("spoilers"))]
    {
        app.post(&thread_path, moderator, json!({"action": action, "reason": reason})).await.expect(200);
    }
    app.post(&format!("/comments/{c}/moderation"), moderator, json!({"action": "hide", "reason": "rude"}))
        .await
        .expect(200);
    app.post(&format!("/comments/{c}/moderation"), moderator, json!({"action": "hide"})).await.expect(200);
    // Deleted by a moderator: logged once.
    app.delete(&format!("/comments/{c}"), moderator).await.expect(204);
    app.delete(&format!("/comments/{c}"), moderator).await.expect(204);
    // Ban, unban, role change.
    app.post(
        &format!("/groups/{g}/bans"),
        moderator,
        json!({"user_id": cast.member.id, "reason": "a day off"}),
    )
    .await
    .expect(201);
    app.delete(&format!("/groups/{g}/bans/{}", cast.member.id), moderator).await.expect(204);
    app.put(&format!("/groups/{g}/members/{}/role", cast.member.id), owner, json!({"role": "moderator"}))
        .await
        .expect(200);
    app.put(&format!("/groups/{g}/members/{}/role", cast.member.id), owner, json!({"role": "moderator"}))
        .await
        .expect(200);

    let page = app.get(&format!("/groups/{g}/modlog?limit=100"), owner).await.expect(200);
    let all = items(&page);
    assert_eq!(all.len(), before + 8);
    let newest: Vec<String> = actions(&page).into_iter().take(8).collect();
    assert_eq!(newest, ["role_change", "unban", "ban", "delete", "hide", "hide", "pin", "lock"]);
    let lock = &all[7];
    assert_eq!(lock["target_type"], "thread");
    assert_eq!(lock["target_id"], t.as_str());
    assert_eq!(lock["reason"], "heated");
    assert_eq!(lock["actor"]["username"], cast.moderator.username);
    assert!(lock["created_at"].is_string());
    assert!(lock["id"].is_string());
    assert_eq!(all[3]["target_id"], c.as_str());
    assert_eq!(all[3]["target_type"], "comment");
    assert_eq!(all[2]["target_type"], "user");
    assert_eq!(all[2]["target_id"], cast.member.id.as_str());
    assert_eq!(all[2]["reason"], "a day off");
    // Newest first throughout.
    let times: Vec<&str> = all.iter().map(|e| e["created_at"].as_str().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "{times:?}");

    // Filters.
    let hides = app.get(&format!("/groups/{g}/modlog?action=hide"), owner).await.expect(200);
    assert_eq!(actions(&hides), ["hide", "hide"]);
    let on_comments = app.get(&format!("/groups/{g}/modlog?target_type=comment"), owner).await.expect(200);
    assert_eq!(actions(&on_comments), ["delete", "hide"]);
    let on_thread = app.get(&format!("/groups/{g}/modlog?target_id={t}"), owner).await.expect(200);
    assert_eq!(actions(&on_thread), ["hide", "pin", "lock"]);
    let both = app.get(&format!("/groups/{g}/modlog?target_type=thread&action=pin"), owner).await.expect(200);
    assert_eq!(actions(&both), ["pin"]);
    assert_eq!(app.get(&format!("/groups/{g}/modlog?action=explode"), owner).await.status, 400);
    assert_eq!(app.get(&format!("/groups/{g}/modlog?target_type=essay"), owner).await.status, 400);

    // Keyset pages cover the log exactly once, in the same order.
    let mut paged = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(cur) => format!("/groups/{g}/modlog?limit=3&cursor={cur}"),
            None => format!("/groups/{g}/modlog?limit=3"),
        };
        let page = app.get(&path, owner).await.expect(200);
        paged.extend(items(&page).iter().map(id));
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(paged, all.iter().map(id).collect::<Vec<_>>());
    app.get(&format!("/groups/{g}/modlog?cursor=garbage"), owner).await.expect_problem(400, "invalid_cursor");
}

#[tokio::test]
async fn the_log_outlives_what_it_describes() {
    let app = spawn_app().await;
    let cast = cast(&app, "private").await;
    let g = cast.group().to_owned();
    let para = cast.reading.paragraph_id(1);
    let thread = app.start_thread(cast.session(), &cast.member, &para, "opening").await;
    let t = id(&thread);
    app.post(&format!("/threads/{t}/moderation"), Some(&cast.moderator.token), json!({"action": "lock"}))
        .await
        .expect(200);
    // Remove the thread from under the log, as a cascade would.
    use diesel_async::RunQueryDsl;
    diesel::sql_query("DELETE FROM threads WHERE id = $1::uuid")
        .bind::<diesel::sql_types::Text, _>(&t)
        .execute(&mut app.db().await)
        .await
        .expect("delete thread");
    let log =
        app.get(&format!("/groups/{g}/modlog?target_id={t}"), Some(&cast.owner.token)).await.expect(200);
    assert_eq!(actions(&log), ["lock"]);
}

#[tokio::test]
async fn the_api_description_lists_every_moderation_route() {
    let app = spawn_app().await;
    let doc = app.get("/openapi.json", None).await.expect(200);
    for (path, method) in [
        ("/api/v1/threads/{thread_id}/moderation", "post"),
        ("/api/v1/comments/{comment_id}/moderation", "post"),
        ("/api/v1/comments/{comment_id}/reports", "post"),
        ("/api/v1/groups/{group_id}/reports", "get"),
        ("/api/v1/reports/{report_id}", "get"),
        ("/api/v1/reports/{report_id}/resolve", "post"),
        ("/api/v1/groups/{group_id}/modlog", "get"),
        ("/api/v1/comments/{comment_id}/revisions", "get"),
    ] {
        let op = &doc["paths"][path][method];
        assert!(op.is_object(), "{method} {path} missing");
        assert_eq!(op["tags"][0], "moderation", "{method} {path}");
    }
}
