//! Live events show each reader what REST would: members never receive a
//! hidden thread or a hidden comment's body; private sessions are 404 to
//! outsiders; tickets work on their own session only.

use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::{cast, spawn_app, EventStream, SOON};

async fn hide(app: &crate::helpers::TestApp, what: &str, id: &Value, token: &str, action: &str) {
    app.post(&format!("/{what}/{}/moderation", id.as_str().unwrap()), Some(token), json!({"action": action}))
        .await
        .expect(200);
}

fn bodies(events: &[crate::helpers::Sse]) -> String {
    events.iter().map(|e| e.data.to_string()).collect::<Vec<_>>().join("\n")
}

#[tokio::test]
async fn hidden_things_reach_members_only_as_tombstones_or_removals() {
    let app = spawn_app().await;
    let cast = cast(&app, "private").await;
    let s = cast.session();
    let para = cast.reading.paragraph_id(0);
    let thread = app.start_thread(s, &cast.member, &para, "opening").await;
    let t = thread["id"].clone();
    let mut member = app.subscribe(s, Some(&cast.member.token)).await;
    let mut moderator = app.subscribe(s, Some(&cast.moderator.token)).await;
    tokio::time::sleep(Duration::from_millis(200)).await;

    // A hidden comment: members get it with body null, moderators in full.
    let rude = app.comment(t.as_str().unwrap(), &cast.member, None, "SECRET rude words").await;
    hide(&app, "comments", &rude["id"], &cast.moderator.token, "hide").await;
    let m = member.until(SOON, |e| e.event == "comment.updated").await;
    assert_eq!(m.data["comment"]["hidden"], true);
    assert_eq!(m.data["comment"]["body"], Value::Null);
    let d = moderator.until(SOON, |e| e.event == "comment.updated").await;
    assert_eq!(d.data["comment"]["body"], "SECRET rude words");
    assert_eq!(d.data["comment"]["moderation"]["hidden_by"], cast.moderator.id.as_str());

    // A hidden thread: members get thread.removed, moderators the thread.
    hide(&app, "threads", &t, &cast.moderator.token, "hide").await;
    // (Streams opened without a cursor may first repeat the thread's
    // creation: they start at the horizon.)
    let removed = member.until(SOON, |e| e.event == "thread.removed").await;
    assert_eq!(removed.data, json!({"thread_id": t}));
    let updated = moderator.until(SOON, |e| e.event == "thread.updated").await;
    assert_eq!(updated.data["thread"]["hidden"], true);

    // What happens inside the hidden thread reaches moderators only.
    let inside = app.comment(t.as_str().unwrap(), &cast.moderator, None, "SECRET moderators' note").await;
    moderator.until(SOON, |e| e.event == "comment.created" && e.data["comment"]["id"] == inside["id"]).await;

    // Replaying the whole history as a member leaks nothing either, while
    // the thread is hidden.
    let history =
        app.get(&format!("/sessions/{s}/events?after=0.0"), Some(&cast.member.token)).await.expect(200);
    let text = history["items"].to_string();
    assert!(text.contains("thread.removed") && !text.contains("SECRET"), "{text}");
    let full =
        app.get(&format!("/sessions/{s}/events?after=0.0"), Some(&cast.moderator.token)).await.expect(200);
    assert!(full["items"].to_string().contains("SECRET moderators' note"));

    // Restoring brings it back for members.
    hide(&app, "threads", &t, &cast.moderator.token, "restore").await;
    let restored = member.until(SOON, |e| e.event == "thread.restored").await;
    assert_eq!(restored.data["thread"]["id"], t);
    let mut rest = member.collect_for(Duration::from_millis(500)).await;
    rest.insert(0, m);
    rest.insert(1, removed);
    assert!(!bodies(&rest).contains("SECRET"), "a hidden body reached a member: {}", bodies(&rest));
}

#[tokio::test]
async fn outsiders_get_404_with_or_without_a_ticket_from_elsewhere() {
    let app = spawn_app().await;
    let cast = cast(&app, "private").await;
    let s = cast.session();
    for token in [None, Some(cast.outsider.token.as_str()), Some(cast.other_mod.token.as_str())] {
        let stream: EventStream = app.open_events(s, token, "", None).await;
        assert_eq!(stream.status, 404);
        app.get(&format!("/sessions/{s}/events"), token).await.expect_problem(404, "not_found");
    }
    app.post(&format!("/sessions/{s}/event-tickets"), Some(&cast.outsider.token), json!({}))
        .await
        .expect_problem(404, "not_found");
    app.post(&format!("/sessions/{s}/event-tickets"), None, json!({}))
        .await
        .expect_unauthorized("missing_token");

    // A ticket for a session the outsider can read does not open this one.
    let theirs = app.reading(&cast.outsider, "private").await;
    let ticket = app
        .post(
            &format!("/sessions/{}/event-tickets", theirs.session_id),
            Some(&cast.outsider.token),
            json!({}),
        )
        .await
        .expect(201);
    let ticket = ticket["ticket"].as_str().unwrap();
    let stream = app.open_events(s, None, &format!("?ticket={ticket}"), None).await;
    assert_eq!(stream.status, 404);
    // On its own session it works.
    let own = app.open_events(&theirs.session_id, None, &format!("?ticket={ticket}"), None).await;
    assert_eq!(own.status, 200);
    // A made-up ticket is 401.
    let fake = app.open_events(s, None, "?ticket=not-a-ticket", None).await;
    assert_eq!(fake.status, 401);
}

#[tokio::test]
async fn a_ticket_opens_its_session_and_dies_with_the_users_tokens() {
    let app = spawn_app_with_fast_checks().await;
    let cast = cast(&app, "private").await;
    let s = cast.session();
    let issued = app.post(&format!("/sessions/{s}/event-tickets"), Some(&cast.member.token), json!({})).await;
    assert_eq!(issued.status, 201);
    assert_eq!(issued.header("location"), Some(format!("/api/v1/sessions/{s}/events").as_str()));
    assert!(issued.body["expires_in"].as_i64().unwrap() <= 900);
    let ticket = issued.body["ticket"].as_str().unwrap().to_owned();
    // Tickets work on the events route only.
    app.get(&format!("/sessions/{s}/counts?ticket={ticket}"), None).await.expect_problem(404, "not_found");

    let mut stream = app.open_events(s, None, &format!("?ticket={ticket}"), None).await;
    assert_eq!(stream.status, 200);
    let para = cast.reading.paragraph_id(0);
    app.start_thread(s, &cast.member, &para, "with a ticket").await;
    stream.until(SOON, |e| e.event == "thread.created").await;

    app.post(
        "/me/password",
        Some(&cast.member.token),
        json!({"current_password": cast.member.password, "new_password": "a whole new sentence of words"}),
    )
    .await
    .expect(204);
    let end = stream.until(SOON, |e| e.event == "access_revoked").await;
    assert_eq!(end.data["reason"], "token_revoked");
    stream.until_end(SOON).await;
    assert!(stream.ended, "the stream closes after access_revoked");
    let again = app.open_events(s, None, &format!("?ticket={ticket}"), None).await;
    assert_eq!(again.status, 401, "the ticket died with the tokens");
}

async fn spawn_app_with_fast_checks() -> crate::helpers::TestApp {
    crate::helpers::spawn_app_with(|s| s.events.access_recheck_ms = 300).await
}
