//! A reply reaches the parent's author as a Web Push: signed with the
//! server's VAPID key for the endpoint's origin, encrypted to the browser's
//! keys, with the notification's ids (and, in a public group, what it says).

use crate::helpers::{id, items, spawn_pushing_app, Browser, PushReceiver};

#[tokio::test]
async fn a_reply_is_pushed_to_the_parent_author_with_the_notification_ids() {
    let app = spawn_pushing_app().await;
    let receiver = PushReceiver::start().await;
    let owner = app.register("owner").await;
    let (alice, bob) = (app.register("alice").await, app.register("bob").await);
    let reading = app.reading_with(&owner, "public", &[&alice, &bob]).await;
    let browser = Browser::new(&receiver);
    app.subscribe_push(&alice, &browser).await;
    let key = app.push_key().await;
    assert_eq!(key.len(), 87, "65 bytes in base64url without padding: {key}");

    let thread = app
        .post(
            &format!("/sessions/{}/threads", reading.session_id),
            Some(&owner.token),
            serde_json::json!({"paragraph_id": reading.paragraph_id(0), "title": "On the first line", "body": "?"}),
        )
        .await
        .expect(201);
    let t = id(&thread);
    let a1 = id(&app.comment(&t, &alice, None, "alice's reading").await);
    app.comment(&t, &bob, Some(&a1), "bob answers alice").await;

    let pushes = receiver.wait_for(&browser.path, 1).await;
    let push = &pushes[0];
    let payload = browser.open(push, &key, &receiver.origin);
    let inbox = app.inbox_until(&alice, |i| !items(i).is_empty()).await;
    let item = &items(&inbox)[0];
    assert_eq!(payload["kind"], "notification");
    assert_eq!(payload["notification_id"], item["id"]);
    assert_eq!(payload["thread_id"], t.as_str());
    // A public group's push says what happened.
    assert_eq!(payload["reason"], "reply");
    assert_eq!(payload["new_count"], 1);
    assert_eq!(payload["actors"], serde_json::json!(["bob"]));
    assert_eq!(payload["title"], "On the first line");
    assert_eq!(item["thread"]["title"], "On the first line");
    // A newer push about the thread replaces an older one at the push service.
    assert_eq!(push.headers.get("topic"), Some(&uuid::Uuid::parse_str(&t).unwrap().simple().to_string()));
    assert!(push.headers.get("ttl").is_some_and(|v| v.parse::<u64>().is_ok_and(|ttl| ttl > 0)));
    assert_eq!(push.headers.get("urgency").map(String::as_str), Some("high"));
}

#[tokio::test]
async fn a_private_group_push_carries_ids_only() {
    let app = spawn_pushing_app().await;
    let receiver = PushReceiver::start().await;
    let owner = app.register("owner").await;
    let alice = app.register("alice").await;
    let reading = app.reading_with(&owner, "private", &[&alice]).await;
    let browser = Browser::new(&receiver);
    app.subscribe_push(&owner, &browser).await;
    let key = app.push_key().await;

    let thread =
        app.start_thread(&reading.session_id, &owner, &reading.paragraph_id(0), "a private matter").await;
    let t = id(&thread);
    app.comment(&t, &alice, None, "secret words").await;

    let pushes = receiver.wait_for(&browser.path, 1).await;
    let payload = browser.open(&pushes[0], &key, &receiver.origin);
    let inbox = app.inbox_until(&owner, |i| !items(i).is_empty()).await;
    assert_eq!(
        payload,
        serde_json::json!({
            "kind": "notification",
            "notification_id": items(&inbox)[0]["id"],
            "thread_id": t,
        }),
        "ids only"
    );
    assert!(pushes[0].headers.contains_key("topic"));
}
