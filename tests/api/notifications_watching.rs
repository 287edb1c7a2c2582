//! Watch levels: watching a paragraph tells of new threads and comments
//! there; muting tells nothing; the most specific level set wins; access
//! to the watch routes is the group's.

use serde_json::json;

use crate::helpers::{id, items, spawn_notifying_app};

#[tokio::test]
async fn watching_a_paragraph_tells_of_threads_and_comments_there_and_muted_tells_nothing() {
    let app = spawn_notifying_app().await;
    let owner = app.register("owner").await;
    let (alice, bob, carol) =
        (app.register("alice").await, app.register("bob").await, app.register("carol").await);
    let reading = app.reading_with(&owner, "public", &[&alice, &bob, &carol]).await;
    let (sid, p0, p1) = (&reading.session_id, reading.paragraph_id(0), reading.paragraph_id(1));
    let watch = app
        .put(
            &format!("/sessions/{sid}/paragraphs/{p0}/watch"),
            Some(&carol.token),
            json!({"level": "watching"}),
        )
        .await
        .expect(200);
    assert_eq!(watch, json!({"level": "watching"}));

    let t = id(&app.start_thread(sid, &alice, &p0, "on the first paragraph").await);
    let inbox = app.inbox_until(&carol, |i| !items(i).is_empty()).await;
    assert_eq!(items(&inbox)[0]["reason"], "watching");
    assert_eq!(items(&inbox)[0]["thread"]["id"], t.as_str());
    app.comment(&t, &bob, None, "a comment there").await;
    app.inbox_until(&carol, |i| items(i)[0]["new_count"] == 2).await;
    // Elsewhere: nothing.
    app.start_thread(sid, &alice, &p1, "on the second paragraph").await;
    app.notifier_settled().await;
    assert_eq!(items(&app.inbox(&carol, "").await).len(), 1);

    // The thread muted (more specific than the paragraph): nothing more from it,
    // not even replies to her own comments.
    let c1 = id(&app.comment(&t, &carol, None, "carol joins").await);
    app.put(&format!("/threads/{t}/watch"), Some(&carol.token), json!({"level": "muted"})).await.expect(200);
    app.notifier_settled().await;
    let before = app.inbox(&carol, "").await;
    app.comment(&t, &bob, Some(&c1), "replying to carol").await;
    app.notifier_settled().await;
    assert_eq!(app.inbox(&carol, "").await["items"], before["items"], "muted tells nothing");

    // Removing the thread's level goes back to the paragraph's.
    app.delete(&format!("/threads/{t}/watch"), Some(&carol.token)).await.expect(204);
    app.comment(&t, &bob, None, "now heard").await;
    app.inbox_until(&carol, |i| items(i)[0]["new_count"] != before["items"][0]["new_count"]).await;

    let watches = app.get("/me/watches", Some(&carol.token)).await.expect(200);
    let scopes: Vec<&str> =
        watches["items"].as_array().unwrap().iter().map(|w| w["scope"].as_str().unwrap()).collect();
    assert_eq!(scopes, ["paragraph"], "{watches}");
    assert_eq!(watches["items"][0]["id"], p0.as_str());
    assert_eq!(watches["items"][0]["level"], "watching");
}

#[tokio::test]
async fn commenting_sets_the_thread_to_watching_unless_muted() {
    let app = spawn_notifying_app().await;
    let owner = app.register("owner").await;
    let (alice, bob, carol) =
        (app.register("alice").await, app.register("bob").await, app.register("carol").await);
    let reading = app.reading_with(&owner, "public", &[&alice, &bob, &carol]).await;
    let (sid, para) = (&reading.session_id, reading.paragraph_id(0));
    let t = id(&app.start_thread(sid, &alice, &para, "a thread").await);
    app.comment(&t, &bob, None, "bob joins").await;
    app.notifier_settled().await;
    let watches = app.get("/me/watches", Some(&bob.token)).await.expect(200);
    assert_eq!(watches["items"][0], json!({"scope": "thread", "id": t, "level": "watching"}));
    // A comment by someone else tells bob, who is watching now.
    app.comment(&t, &carol, None, "carol too").await;
    let inbox = app.inbox_until(&bob, |i| !items(i).is_empty()).await;
    assert_eq!(items(&inbox)[0]["reason"], "watching");
}

#[tokio::test]
async fn watch_routes_answer_as_the_group() {
    let app = spawn_notifying_app().await;
    let owner = app.register("owner").await;
    let outsider = app.register("outsider").await;
    let reading = app.reading(&owner, "private").await;
    let (g, sid) = (&reading.group_id, &reading.session_id);
    let level = json!({"level": "watching"});
    app.put(&format!("/groups/{g}/watch"), None, level.clone()).await.expect(401);
    app.put(&format!("/groups/{g}/watch"), Some(&outsider.token), level.clone()).await.expect(404);
    app.put(&format!("/sessions/{sid}/watch"), Some(&outsider.token), level.clone()).await.expect(404);
    app.put(&format!("/groups/{g}/watch"), Some(&owner.token), level.clone()).await.expect(200);
    app.put(&format!("/sessions/{sid}/watch"), Some(&owner.token), json!({"level": "loud"}))
        .await
        .expect(422);
    let other = uuid::Uuid::new_v4();
    app.put(&format!("/sessions/{sid}/paragraphs/{other}/watch"), Some(&owner.token), level)
        .await
        .expect(404);
    app.delete(&format!("/groups/{g}/watch"), Some(&owner.token)).await.expect(204);
}
