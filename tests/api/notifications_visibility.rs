//! Nobody is told of their own writing or of hidden content, and an item of
//! a group the recipient left or was banned from leaves the inbox.

use serde_json::json;

use crate::helpers::{id, items, release_notifier, spawn_notifying_app};

#[tokio::test]
async fn own_writing_never_notifies() {
    let app = spawn_notifying_app().await;
    let owner = app.register("owner").await;
    let alice = app.register("alice").await;
    let reading = app.reading_with(&owner, "public", &[&alice]).await;
    let (sid, para) = (&reading.session_id, reading.paragraph_id(0));
    let t = id(&app.start_thread(sid, &alice, &para, "my own thread").await);
    let a1 = id(&app.comment(&t, &alice, None, "talking to myself").await);
    app.comment(&t, &alice, Some(&a1), "replying to myself").await;
    app.notifier_settled().await;
    assert!(items(&app.inbox(&alice, "").await).is_empty());
    assert_eq!(app.inbox(&alice, "").await["unread_count"], 0);
}

#[tokio::test]
async fn a_comment_hidden_before_it_is_derived_never_notifies() {
    let app = spawn_notifying_app().await;
    let owner = app.register("owner").await;
    let (alice, bob) = (app.register("alice").await, app.register("bob").await);
    let reading = app.reading_with(&owner, "public", &[&alice, &bob]).await;
    let (sid, para) = (&reading.session_id, reading.paragraph_id(0));
    let t = id(&app.start_thread(sid, &alice, &para, "a thread").await);
    app.notifier_settled().await;

    let held = app.hold_notifier().await;
    let rude = id(&app.comment(&t, &bob, None, "something rude").await);
    app.post(
        &format!("/comments/{rude}/moderation"),
        Some(&owner.token),
        json!({"action": "hide", "reason": "rude"}),
    )
    .await
    .expect(200);
    release_notifier(held).await;
    app.notifier_settled().await;
    assert!(items(&app.inbox(&alice, "").await).is_empty(), "told of a hidden comment");

    // A visible one after it still notifies.
    app.comment(&t, &bob, None, "sorry").await;
    let inbox = app.inbox_until(&alice, |i| !items(i).is_empty()).await;
    assert_eq!(items(&inbox)[0]["new_count"], 1);
}

#[tokio::test]
async fn leaving_or_being_banned_takes_the_groups_items_away() {
    let app = spawn_notifying_app().await;
    let owner = app.register("owner").await;
    let (alice, bob) = (app.register("alice").await, app.register("bob").await);
    let private = app.reading(&owner, "private").await;
    let public = app.reading(&owner, "public").await;
    for g in [&private.group_id, &public.group_id] {
        app.add_member(g, &owner, &alice, "member").await;
        app.add_member(g, &owner, &bob, "member").await;
    }
    let tp =
        id(&app.start_thread(&private.session_id, &alice, &private.paragraph_id(0), "private talk").await);
    let tq = id(&app.start_thread(&public.session_id, &alice, &public.paragraph_id(0), "public talk").await);
    app.comment(&tp, &bob, None, "reply in private").await;
    app.comment(&tq, &bob, None, "reply in public").await;
    let inbox = app.inbox_until(&alice, |i| items(i).len() == 2).await;
    assert_eq!(inbox["unread_count"], 2);

    // Leaving the private group: its item goes.
    app.delete(&format!("/groups/{}/members/me", private.group_id), Some(&alice.token)).await.expect(204);
    let inbox = app.inbox(&alice, "").await;
    assert_eq!(items(&inbox).len(), 1);
    assert_eq!(items(&inbox)[0]["thread"]["id"], tq.as_str());
    assert_eq!(inbox["unread_count"], 1);

    // A ban in the public group: its item goes too.
    app.post(
        &format!("/groups/{}/bans", public.group_id),
        Some(&owner.token),
        json!({"user_id": alice.id, "reason": "spam"}),
    )
    .await
    .expect(201);
    let inbox = app.inbox(&alice, "").await;
    assert!(items(&inbox).is_empty(), "{inbox}");
    assert_eq!(inbox["unread_count"], 0);

    // And nothing new arrives from there while banned.
    app.comment(&tq, &bob, None, "another").await;
    app.notifier_settled().await;
    assert!(items(&app.inbox(&alice, "").await).is_empty());
}
