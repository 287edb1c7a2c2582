//! Changes to one's own content: moderation (hidden, restored, locked; even
//! when muted), an accepted answer.

use serde_json::json;

use crate::helpers::{id, items, spawn_notifying_app};

#[tokio::test]
async fn hiding_a_comment_or_locking_a_thread_tells_its_author_even_when_muted() {
    let app = spawn_notifying_app().await;
    let owner = app.register("owner").await;
    let (alice, bob) = (app.register("alice").await, app.register("bob").await);
    let reading = app.reading_with(&owner, "public", &[&alice, &bob]).await;
    let (sid, para) = (&reading.session_id, reading.paragraph_id(0));
    let t = id(&app.start_thread(sid, &alice, &para, "a thread").await);
    let b1 = id(&app.comment(&t, &bob, None, "bob says something").await);
    app.put(&format!("/threads/{t}/watch"), Some(&bob.token), json!({"level": "muted"})).await.expect(200);
    app.notifier_settled().await;
    assert!(items(&app.inbox(&bob, "").await).is_empty());

    app.post(
        &format!("/comments/{b1}/moderation"),
        Some(&owner.token),
        json!({"action": "hide", "reason": "no"}),
    )
    .await
    .expect(200);
    let inbox = app.inbox_until(&bob, |i| !items(i).is_empty()).await;
    let item = &items(&inbox)[0];
    assert_eq!(item["reason"], "moderation");
    assert_eq!(item["thread"]["id"], t.as_str());
    assert_eq!(item["actors"], json!([]), "moderators act unnamed");

    app.post(&format!("/threads/{t}/moderation"), Some(&owner.token), json!({"action": "lock"}))
        .await
        .expect(200);
    let inbox = app.inbox_until(&alice, |i| items(i).iter().any(|x| x["reason"] == "moderation")).await;
    assert_eq!(items(&inbox).len(), 1, "one item per thread: {inbox}");
}

#[tokio::test]
async fn an_accepted_answer_tells_its_author() {
    let app = spawn_notifying_app().await;
    let owner = app.register("owner").await;
    let (alice, bob) = (app.register("alice").await, app.register("bob").await);
    let reading = app.reading_with(&owner, "public", &[&alice, &bob]).await;
    let (sid, para) = (&reading.session_id, reading.paragraph_id(0));
    let t = id(&app.ask(sid, &alice, &para, "what is meant here?").await);
    let answer = id(&app.comment(&t, &bob, None, "this, I think").await);
    app.notifier_settled().await;
    app.mark_read(sid, &bob, &t, &answer).await;
    assert!(items(&app.inbox(&bob, "").await).is_empty());
    app.accept(&t, &answer, Some(&alice.token)).await.expect(200);
    let inbox = app.inbox_until(&bob, |i| !items(i).is_empty()).await;
    let item = &items(&inbox)[0];
    assert_eq!(item["reason"], "answer_accepted");
    assert_eq!(item["actors"][0]["username"], "alice");
    assert_eq!(item["latest_comment_id"], answer.as_str());
}

#[tokio::test]
async fn a_revision_that_orphans_a_thread_tells_its_author() {
    let app = spawn_notifying_app().await;
    let owner = app.register("organiser").await;
    let reader = app.register("reader").await;
    let reading = app.reading_with(&owner, "public", &[&reader]).await;
    let (sid, essay_id) = (reading.session_id.as_str(), reading.essay["id"].as_str().unwrap().to_owned());
    let quoted = app
        .start_quoted(sid, &reader, &reading.paragraph_id(9), &reading.paragraph_text(9), "Charles Dickens")
        .await;
    app.notifier_settled().await;
    assert!(items(&app.inbox(&reader, "").await).is_empty());
    let mut blocks = crate::helpers::fixture_blocks();
    blocks[9] = blocks[9].replace("Charles Dickens toured", "Mark Twain toured");
    app.revise(&essay_id, &owner, &blocks, json!({})).await.expect(201);
    let inbox = app.inbox_until(&reader, |i| !items(i).is_empty()).await;
    assert_eq!(items(&inbox)[0]["reason"], "reanchored");
    assert_eq!(items(&inbox)[0]["thread"]["id"], quoted["id"]);
}
