//! Open streams share their periodic access checks: one per session and
//! standing (anonymous, or signed in with one role) and one for every
//! signed-in reader's token, however many streams there are; what concerns
//! one reader alone still ends that reader's stream at once. An idle
//! session's feed reads nothing until something is written.

use std::time::Duration;

use serde_json::json;

use crate::helpers::{spawn_app_with, EventStream, TestApp, TestUser, SOON};

fn series(text: &str, name: &str) -> f64 {
    text.lines().find_map(|l| l.strip_prefix(name).and_then(|v| v.trim().parse().ok())).unwrap_or(0.0)
}

async fn checks_metric(app: &TestApp) -> f64 {
    let text = app.get("!/metrics", None).await.body.as_str().unwrap_or("").to_owned();
    series(&text, "pilcrow_events_access_checks_total")
}

/// `count` members of `group`, each added by `owner`.
async fn members(app: &TestApp, group: &str, owner: &TestUser, count: usize) -> Vec<TestUser> {
    let mut users = Vec::new();
    for n in 0..count {
        let user = app.register(&format!("reader{n}")).await;
        app.add_member(group, owner, &user, "member").await;
        users.push(user);
    }
    users
}

#[tokio::test]
async fn many_streams_of_a_session_cost_a_few_access_checks_per_interval() {
    let app = spawn_app_with(|s| {
        s.events.access_recheck_ms = 300;
        s.metrics.enabled = true;
    })
    .await;
    let owner = app.register("owner").await;
    let reading = app.reading(&owner, "public").await;
    let (g, s) = (&reading.group_id, &reading.session_id);
    let readers = members(&app, g, &owner, 6).await;
    let mut outsiders = Vec::new();
    for n in 0..3 {
        outsiders.push(app.register(&format!("outsider{n}")).await);
    }
    let mut streams: Vec<EventStream> = Vec::new();
    for user in &readers {
        for _ in 0..4 {
            streams.push(app.subscribe(s, Some(&user.token)).await);
        }
    }
    streams.push(app.subscribe(s, Some(&owner.token)).await);
    for user in &outsiders {
        for _ in 0..2 {
            streams.push(app.subscribe(s, Some(&user.token)).await);
        }
    }
    for _ in 0..10 {
        streams.push(app.subscribe(s, None).await);
    }
    tokio::time::sleep(Duration::from_millis(400)).await;

    let (before, metric_before) = (app.events.access_checks(), checks_metric(&app).await);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let checks = app.events.access_checks() - before;
    // Five intervals, each at most one check per standing (anonymous,
    // member, owner, no role) and one of the tokens: 25. A check per stream
    // would be 5 × 41.
    assert!(checks <= 32, "{checks} access checks in 1.5 s for {} streams", streams.len());
    assert!(checks >= 3, "the streams do check: {checks}");
    // The metric counts them (other apps of this process add theirs).
    assert!(checks_metric(&app).await - metric_before >= checks as f64);

    // A change for everyone still reaches every one of them: the outsiders
    // and anonymous readers lose the session, the members keep it.
    app.patch(&format!("/groups/{g}"), Some(&owner.token), json!({"visibility": "private"}))
        .await
        .expect(200);
    let (kept, lost) = streams.split_at_mut(25);
    for (n, stream) in lost.iter_mut().enumerate() {
        let end = stream.until(SOON, |e| e.event == "access_revoked").await;
        assert_eq!(end.data["reason"], "left", "stream {n}");
    }
    app.start_thread(s, &owner, &reading.paragraph_id(0), "members still read").await;
    for (n, stream) in kept.iter_mut().enumerate() {
        let next = stream.until(SOON, |e| e.event != "counts").await;
        assert_eq!(next.event, "thread.created", "member stream {n}");
    }
}

#[tokio::test]
async fn a_banned_member_among_many_alike_is_cut_off_at_once() {
    // No periodic check within the test: only the ban's own event can end it.
    let app = spawn_app_with(|s| s.events.access_recheck_ms = 600_000).await;
    let owner = app.register("owner").await;
    let reading = app.reading(&owner, "private").await;
    let (g, s) = (&reading.group_id, &reading.session_id);
    let readers = members(&app, g, &owner, 4).await;
    let mut streams = Vec::new();
    for user in &readers {
        streams.push(app.subscribe(s, Some(&user.token)).await);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let banned = &readers[0];
    app.post(
        &format!("/groups/{g}/bans"),
        Some(&owner.token),
        json!({"user_id": banned.id, "reason": "spam"}),
    )
    .await
    .expect(201);
    app.start_thread(s, &owner, &reading.paragraph_id(0), "after the ban").await;

    let events = streams[0].until_end(SOON).await;
    assert!(streams[0].ended, "the banned reader's stream closes: {events:#?}");
    assert!(events.iter().all(|e| e.event != "thread.created"), "{events:#?}");
    assert_eq!(events.last().map(|e| e.data.clone()), Some(json!({"reason": "banned"})));
    for (n, stream) in streams.iter_mut().enumerate().skip(1) {
        let next = stream.until(SOON, |e| e.event != "counts").await;
        assert_eq!(next.event, "thread.created", "member stream {n}");
    }
}

#[tokio::test]
async fn a_non_members_revoked_token_ends_their_stream_within_the_interval() {
    // A non-member's tokens are in no group, so revoking them logs no event
    // for this session: the instance's token check notices.
    let app = spawn_app_with(|s| s.events.access_recheck_ms = 300).await;
    let owner = app.register("owner").await;
    let reading = app.reading(&owner, "public").await;
    let s = &reading.session_id;
    let leaving = app.register("leaving").await;
    let staying = app.register("staying").await;
    let mut gone = app.subscribe(s, Some(&leaving.token)).await;
    let mut kept = app.subscribe(s, Some(&staying.token)).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let new_password =
        json!({"current_password": leaving.password, "new_password": "a whole new sentence of words"});
    app.post("/me/password", Some(&leaving.token), new_password).await.expect(204);
    let end = gone.until(SOON, |e| e.event == "access_revoked").await;
    assert_eq!(end.data, json!({"reason": "token_revoked"}));
    gone.until_end(SOON).await;
    assert!(gone.ended);

    // The other reader of the same standing reads on.
    tokio::time::sleep(Duration::from_millis(700)).await;
    app.start_thread(s, &owner, &reading.paragraph_id(0), "still open").await;
    let next = kept.until(SOON, |e| e.event != "counts").await;
    assert_eq!(next.event, "thread.created");
}

#[tokio::test]
async fn idle_sessions_read_nothing_until_something_is_written() {
    let app = spawn_app_with(|_| {}).await;
    let owner = app.register("owner").await;
    let mut readings = Vec::new();
    let mut streams = Vec::new();
    for _ in 0..4 {
        let reading = app.reading(&owner, "public").await;
        streams.push(app.subscribe(&reading.session_id, None).await);
        readings.push(reading);
    }
    // Each feed's first read, then the writes above settle and are read.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let before = app.events.feed_reads();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(app.events.feed_reads() - before, 0, "idle feeds polled the database");

    // A write wakes its own session's feed, and its readers get it.
    let first = &readings[0];
    app.start_thread(&first.session_id, &owner, &first.paragraph_id(0), "the first word").await;
    let next = streams[0].until(SOON, |e| e.event != "counts").await;
    assert_eq!(next.event, "thread.created");
    let woken = app.events.feed_reads() - before;
    assert!((1..=4).contains(&woken), "{woken} reads for one write");
}
