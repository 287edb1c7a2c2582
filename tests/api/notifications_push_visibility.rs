//! The pusher checks again, when it sends, that the item is unread and
//! its recipient may still see it. Here the app's own pusher waits an hour
//! between rounds and the test runs the rounds itself, so what changes
//! between the notifier's derivation and the push is under its control.

use std::sync::Arc;

use pilcrow::notifications::push::{sender, Push};
use serde_json::json;

use crate::helpers::{id, items, spawn_app_with, Browser, PushReceiver};

#[tokio::test]
async fn someone_who_left_the_group_or_read_the_thread_is_not_pushed_to() {
    let app = spawn_app_with(|s| {
        s.notifications.derive_interval_ms = 50;
        s.push.interval_ms = 3_600_000;
        s.push.allow_private_endpoints = true;
    })
    .await;
    let push = Arc::new(Push::new(&app.settings).expect("push"));
    let receiver = PushReceiver::start().await;
    let owner = app.register("owner").await;
    let (alice, bob, carol) =
        (app.register("alice").await, app.register("bob").await, app.register("carol").await);
    let reading = app.reading_with(&owner, "private", &[&alice, &bob, &carol]).await;
    let browsers = [Browser::new(&receiver), Browser::new(&receiver), Browser::new(&receiver)];
    for (user, browser) in [&alice, &bob, &carol].into_iter().zip(&browsers) {
        app.subscribe_push(user, browser).await;
    }
    let thread = app.start_thread(&reading.session_id, &owner, &reading.paragraph_id(0), "a question").await;
    let t = id(&thread);
    let mut firsts = Vec::new();
    for user in [&alice, &bob, &carol] {
        firsts.push(id(&app.comment(&t, user, None, "my reading").await));
    }
    for first in &firsts {
        app.comment(&t, &owner, Some(first), "the owner answers").await;
    }
    for user in [&alice, &bob, &carol] {
        app.inbox_until(user, |i| !items(i).is_empty()).await;
    }
    // Alice leaves; bob reads his item; carol does neither.
    app.delete(&format!("/groups/{}/members/me", reading.group_id), Some(&alice.token)).await.expect(204);
    app.put("/me/notifications/read", Some(&bob.token), json!({"all": true})).await.expect(204);

    let mut claimed = 0;
    loop {
        let round = sender::push_once(&app.events.pool, &push).await.expect("a round");
        if round == 0 {
            break;
        }
        claimed += round;
    }
    assert!(claimed >= 3, "the three items were claimed: {claimed}");
    assert_eq!(receiver.received(&browsers[2].path).len(), 1, "carol is told");
    assert!(receiver.received(&browsers[0].path).is_empty(), "not alice, who left");
    assert!(receiver.received(&browsers[1].path).is_empty(), "not bob, who read it");
}
