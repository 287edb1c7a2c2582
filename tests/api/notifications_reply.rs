//! A reply notifies the parent's author (and the thread's) once, with the
//! contract's shape; a later reply adds to the same item.

use serde_json::Value;

use crate::helpers::{id, items, spawn_notifying_app};

#[tokio::test]
async fn a_reply_notifies_the_parent_author_once_with_the_item_shape() {
    let app = spawn_notifying_app().await;
    let owner = app.register("owner").await;
    let (alice, bob) = (app.register("alice").await, app.register("bob").await);
    let reading = app.reading_with(&owner, "public", &[&alice, &bob]).await;
    let (sid, para) = (&reading.session_id, reading.paragraph_id(0));
    let thread = app.start_thread(sid, &owner, &para, "what does the first line mean?").await;
    let t = id(&thread);
    let a1 = id(&app.comment(&t, &alice, None, "alice's reading").await);
    let b1 = id(&app.comment(&t, &bob, Some(&a1), "bob answers alice").await);

    let inbox = app.inbox_until(&alice, |i| !items(i).is_empty()).await;
    app.notifier_settled().await;
    let inbox2 = app.inbox(&alice, "").await;
    assert_eq!(inbox, inbox2, "nothing more arrives");
    let list = items(&inbox);
    assert_eq!(list.len(), 1, "one item per thread: {inbox}");
    let item = &list[0];
    assert_eq!(item["reason"], "reply");
    assert_eq!(item["thread"]["id"], t.as_str());
    assert_eq!(item["thread"]["session_id"], sid.as_str());
    assert_eq!(item["thread"]["group_id"], reading.group_id.as_str());
    assert_eq!(item["thread"]["paragraph_id"], para.as_str());
    assert!(item["thread"].get("title").is_some());
    assert_eq!(item["latest_comment_id"], b1.as_str());
    assert_eq!(item["new_count"], 1);
    assert_eq!(item["unread"], true);
    assert!(item["id"].is_string() && item["updated_at"].is_string());
    let actors = item["actors"].as_array().unwrap();
    assert_eq!(actors.len(), 1);
    assert_eq!(actors[0]["username"], "bob");
    assert_eq!(inbox["unread_count"], 1);
    assert_eq!(inbox["next_cursor"], Value::Null);

    // The thread's author is told of both comments, in one item.
    let owner_inbox =
        app.inbox_until(&owner, |i| items(i).first().is_some_and(|x| x["new_count"] == 2)).await;
    assert_eq!(items(&owner_inbox).len(), 1);
    assert_eq!(items(&owner_inbox)[0]["reason"], "reply");
    // Bob wrote the latest comment and replied to nobody's of his own: nothing for him.
    assert!(items(&app.inbox(&bob, "").await).is_empty());

    // Another reply to alice: the same item, two new.
    let b2 = id(&app.comment(&t, &bob, Some(&a1), "and more").await);
    let inbox = app.inbox_until(&alice, |i| items(i)[0]["latest_comment_id"] == b2.as_str()).await;
    assert_eq!(items(&inbox).len(), 1);
    assert_eq!(items(&inbox)[0]["new_count"], 2);
}

#[tokio::test]
async fn the_inbox_needs_a_token() {
    let app = spawn_notifying_app().await;
    app.get("/me/notifications", None).await.expect_unauthorized("missing_token");
}
