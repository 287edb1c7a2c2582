//! The inbox, live: `notification` and `notification.read` on
//! GET /me/notifications/events (SSE and long-poll), resumable, across
//! instances, with tickets for EventSource.

use serde_json::json;

use crate::helpers::{id, items, notifying_instance_on, spawn_notifying_app, TestApp, TestUser, SOON};

/// A public reading where `alice` has a comment that `bob` can reply to.
async fn reading(app: &TestApp) -> (TestUser, TestUser, String, String) {
    let owner = app.register("owner").await;
    let (alice, bob) = (app.register("alice").await, app.register("bob").await);
    let reading = app.reading_with(&owner, "public", &[&alice, &bob]).await;
    let t = id(&app.start_thread(&reading.session_id, &owner, &reading.paragraph_id(0), "a thread").await);
    let a1 = id(&app.comment(&t, &alice, None, "alice's comment").await);
    app.notifier_settled().await;
    (alice, bob, t, a1)
}

#[tokio::test]
async fn a_reply_arrives_live_and_reading_it_is_announced() {
    let app = spawn_notifying_app().await;
    let (alice, bob, t, a1) = reading(&app).await;
    let mut stream = app.open_inbox_events(Some(&alice.token), "", None).await;
    assert_eq!(stream.status, 200);

    let reply = id(&app.comment(&t, &bob, Some(&a1), "bob replies").await);
    let got = stream.until(SOON, |e| e.event == "notification").await;
    assert_eq!(got.data["reason"], "reply");
    assert_eq!(got.data["latest_comment_id"], reply.as_str());
    assert_eq!(got.data["unread"], true);
    // The item exactly as the inbox shows it.
    let inbox = app.inbox(&alice, "").await;
    assert_eq!(items(&inbox)[0], got.data);
    let item = got.data["id"].as_str().unwrap().to_owned();
    let first_id = got.id.clone().expect("an event id");

    app.put("/me/notifications/read", Some(&alice.token), json!({"all": true})).await.expect(204);
    let read = stream.until(SOON, |e| e.event == "notification.read").await;
    assert_eq!(read.data, json!({"ids": [item]}));

    // Resuming after the first event replays the read, and only it.
    drop(stream);
    let mut resumed = app.open_inbox_events(Some(&alice.token), "", Some(&first_id)).await;
    let again = resumed.until(SOON, |e| e.event.starts_with("notification")).await;
    assert_eq!(again.event, "notification.read");
    assert_eq!(again.id, read.id);
}

#[tokio::test]
async fn reading_the_thread_is_reading_the_item_live() {
    let app = spawn_notifying_app().await;
    let (alice, bob, t, a1) = reading(&app).await;
    app.comment(&t, &bob, Some(&a1), "bob replies").await;
    let inbox = app.inbox_until(&alice, |i| !items(i).is_empty()).await;
    let item = items(&inbox)[0]["id"].clone();
    let mut stream = app.open_inbox_events(Some(&alice.token), "", None).await;
    // Posting in the thread raises alice's read mark past bob's reply.
    app.comment(&t, &alice, None, "alice posts again").await;
    let read = stream.until(SOON, |e| e.event == "notification.read").await;
    assert_eq!(read.data["ids"], json!([item]));
    assert_eq!(app.inbox(&alice, "").await["unread_count"], 0);
}

#[tokio::test]
async fn a_stream_on_another_instance_hears_of_it() {
    let app = spawn_notifying_app().await;
    let other = notifying_instance_on(&app).await;
    let (alice, bob, t, a1) = reading(&app).await;
    let mut stream = other.open_inbox_events(Some(&alice.token), "", None).await;
    assert_eq!(stream.status, 200);
    app.comment(&t, &bob, Some(&a1), "written on the first instance").await;
    let got = stream.until(SOON, |e| e.event == "notification").await;
    assert_eq!(got.data["reason"], "reply");
    // And a read mark made on the first instance reaches it too.
    app.put("/me/notifications/read", Some(&alice.token), json!({"all": true})).await.expect(204);
    stream.until(SOON, |e| e.event == "notification.read").await;
}

#[tokio::test]
async fn the_long_poll_waits_for_the_next_notification() {
    let app = spawn_notifying_app().await;
    let (alice, bob, t, a1) = reading(&app).await;
    let cursor = app.get("/me/notifications", Some(&alice.token)).await;
    let cursor = cursor.header("pilcrow-event-cursor").expect("a cursor").to_owned();
    let path = format!("/me/notifications/events?after={cursor}&wait=20");
    let (answer, _) = tokio::join!(app.get(&path, Some(&alice.token)), async {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        app.comment(&t, &bob, Some(&a1), "bob replies").await
    });
    let page = answer.expect(200);
    let events = page["items"].as_array().unwrap();
    assert_eq!(events[0]["event"], "notification", "{page}");
    assert_eq!(events[0]["data"]["reason"], "reply");
    let next = page["cursor"].as_str().unwrap();
    let empty =
        app.get(&format!("/me/notifications/events?after={next}"), Some(&alice.token)).await.expect(200);
    assert_eq!(empty["items"], json!([]));
    // An unreadable cursor starts over with resync.
    let bad = app.get("/me/notifications/events?after=nonsense", Some(&alice.token)).await.expect(200);
    assert_eq!(bad["items"][0]["event"], "resync");
}

#[tokio::test]
async fn a_ticket_opens_only_the_inbox_stream() {
    let app = spawn_notifying_app().await;
    let (alice, bob, t, a1) = reading(&app).await;
    app.get("/me/notifications/events", None).await.expect_unauthorized("missing_token");
    let ticket = app.post("/me/notifications/event-tickets", Some(&alice.token), json!({})).await.expect(201);
    let ticket = ticket["ticket"].as_str().unwrap();
    let mut stream = app.open_inbox_events(None, &format!("?ticket={ticket}"), None).await;
    assert_eq!(stream.status, 200);
    app.comment(&t, &bob, Some(&a1), "bob replies").await;
    assert_eq!(stream.until(SOON, |e| e.event == "notification").await.data["reason"], "reply");

    // Not a session's ticket, and a session's ticket is not this one.
    let session = app.get(&format!("/threads/{t}"), None).await.expect(200)["session_id"].clone();
    let session = session.as_str().unwrap();
    let s = app.open_events(session, None, &format!("?ticket={ticket}"), None).await;
    assert_eq!(s.status, 404, "a ticket is for its own stream only");
    let theirs = app
        .post(&format!("/sessions/{session}/event-tickets"), Some(&alice.token), json!({}))
        .await
        .expect(201);
    let s =
        app.open_inbox_events(None, &format!("?ticket={}", theirs["ticket"].as_str().unwrap()), None).await;
    assert_eq!(s.status, 401);
}
