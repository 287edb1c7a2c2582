//! Revocation is immediate: nothing committed after a ban reaches the
//! banned reader's stream or long-poll, and anonymous readers of a session
//! share one access check per interval.

use std::time::Duration;

use diesel_async::{AnsiTransactionManager, RunQueryDsl, TransactionManager};
use serde_json::{json, Value};

use crate::helpers::{created_comment_ids, spawn_app, spawn_app_with, SOON};

#[tokio::test]
async fn a_comment_posted_right_after_a_ban_never_reaches_the_banned_reader() {
    let app = spawn_app().await;
    let owner = app.register("owner").await;
    let reading = app.reading(&owner, "public").await;
    let (g, s) = (&reading.group_id, &reading.session_id);
    let thread = app.start_thread(s, &owner, &reading.paragraph_id(0), "Open").await;
    let thread_id = thread["id"].as_str().expect("thread id").to_owned();
    // The ban and the comment land in one batch most of the time; every
    // round must hold.
    for round in 0..10 {
        let member = app.register(&format!("member{round}")).await;
        app.add_member(g, &owner, &member, "member").await;
        let mut stream = app.subscribe(s, Some(&member.token)).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        app.post(
            &format!("/groups/{g}/bans"),
            Some(&owner.token),
            json!({"user_id": member.id, "reason": "spam"}),
        )
        .await
        .expect(201);
        let comment = app.comment(&thread_id, &owner, None, &format!("after ban {round}")).await;
        let events = stream.until_end(SOON).await;
        assert!(stream.ended, "round {round}: the stream closes");
        let last = events.last().expect("events");
        assert_eq!((last.event.as_str(), &last.data), ("access_revoked", &json!({"reason": "banned"})));
        let id = comment["id"].as_str().expect("comment id").to_owned();
        assert!(
            !created_comment_ids(&events).contains(&id),
            "round {round}: the banned reader got {events:#?}"
        );
    }
}

#[tokio::test]
async fn a_comment_that_commits_after_a_ban_but_sorts_before_it_is_withheld() {
    let app = spawn_app().await;
    let owner = app.register("owner").await;
    let member = app.register("member").await;
    let reading = app.reading(&owner, "public").await;
    let (g, s) = (&reading.group_id, &reading.session_id);
    app.add_member(g, &owner, &member, "member").await;
    let thread = app.start_thread(s, &owner, &reading.paragraph_id(0), "Open").await;
    let mut stream = app.subscribe(s, Some(&member.token)).await;
    tokio::time::sleep(Duration::from_millis(100)).await;

    // The comment takes its xid first; another transaction's xid sits
    // between it and the ban's, so once the comment commits (after the ban)
    // it settles while the ban does not yet: the log puts the comment first.
    let mut comment = app.comment_left_uncommitted(thread["id"].as_str().expect("thread id")).await;
    let mut between = app.db().await;
    AnsiTransactionManager::begin_transaction(&mut between).await.expect("begin");
    diesel::sql_query("SELECT txid_current()").execute(&mut between).await.expect("an xid");
    app.post(
        &format!("/groups/{g}/bans"),
        Some(&owner.token),
        json!({"user_id": member.id, "reason": "spam"}),
    )
    .await
    .expect(201);
    AnsiTransactionManager::commit_transaction(&mut comment).await.expect("commit the comment");
    // Long enough for the comment's batch to be read and sent.
    tokio::time::sleep(Duration::from_millis(700)).await;
    AnsiTransactionManager::commit_transaction(&mut between).await.expect("commit");

    let events = stream.until_end(SOON).await;
    assert!(events.iter().all(|e| e.event != "comment.created"), "the banned reader got {events:#?}");
    assert_eq!(events.last().map(|e| e.event.as_str()), Some("access_revoked"), "{events:#?}");
}

#[tokio::test]
async fn revoking_a_users_tokens_ends_their_streams_before_anything_later() {
    // The periodic check (15 s by default) would come too late.
    let app = spawn_app().await;
    let owner = app.register("owner").await;
    let member = app.register("member").await;
    let reading = app.reading(&owner, "private").await;
    let (g, s) = (&reading.group_id, &reading.session_id);
    app.add_member(g, &owner, &member, "member").await;
    let thread = app.start_thread(s, &owner, &reading.paragraph_id(0), "Open").await;
    let mut stream = app.subscribe(s, Some(&member.token)).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let new_password =
        json!({"current_password": member.password, "new_password": "a whole new sentence of words"});
    app.post("/me/password", Some(&member.token), new_password).await.expect(204);
    app.comment(thread["id"].as_str().expect("thread id"), &owner, None, "after the revocation").await;
    let events = stream.until_end(SOON).await;
    assert!(stream.ended, "the stream closes at once: {events:#?}");
    assert!(events.iter().all(|e| e.event != "comment.created"), "{events:#?}");
    let last = events.last().expect("events");
    assert_eq!((last.event.as_str(), &last.data), ("access_revoked", &json!({"reason": "token_revoked"})));
}

#[tokio::test]
async fn a_waiting_long_poll_of_a_member_who_is_banned_answers_nothing_after_the_ban() {
    let app = spawn_app().await;
    let owner = app.register("owner").await;
    let member = app.register("member").await;
    let reading = app.reading(&owner, "public").await;
    let (g, s) = (&reading.group_id, &reading.session_id);
    app.add_member(g, &owner, &member, "member").await;
    let thread = app.start_thread(s, &owner, &reading.paragraph_id(0), "Open").await;
    let thread_id = thread["id"].as_str().expect("thread id").to_owned();
    let read = app.get(&format!("/sessions/{s}/paragraphs"), Some(&member.token)).await;
    let mut cursor = read.header("pilcrow-event-cursor").expect("cursor").to_owned();
    let long_poll = |cursor: &str| {
        let request = app
            .client
            .get(app.url(&format!("/sessions/{s}/events?after={cursor}&wait=20")))
            .bearer_auth(&member.token)
            .header("accept", "application/json");
        tokio::spawn(async move {
            let answer = request.send().await.expect("response");
            assert_eq!(answer.status(), 200);
            answer.json::<Value>().await.expect("json")
        })
    };

    let mut poll = long_poll(&cursor);
    tokio::time::sleep(Duration::from_millis(300)).await;
    app.post(
        &format!("/groups/{g}/bans"),
        Some(&owner.token),
        json!({"user_id": member.id, "reason": "spam"}),
    )
    .await
    .expect(201);
    let comment = app.comment(&thread_id, &owner, None, "said after the ban").await;

    // Usually the waiting poll answers the ban; under load the thread's own
    // events (from before the ban) may come first. Never the comment.
    for answers in 1.. {
        let page = tokio::time::timeout(SOON, poll).await.expect("answered").expect("task");
        let items = page["items"].as_array().expect("items");
        assert!(
            items
                .iter()
                .all(|i| i["event"] != "comment.created" || i["data"]["comment"]["id"] != comment["id"]),
            "{page:#}"
        );
        if let Some(last) = items.last().filter(|i| i["event"] == "access_revoked") {
            assert_eq!(last["data"]["reason"], "banned");
            break;
        }
        assert!(answers < 5, "no access_revoked: {page:#}");
        cursor = page["cursor"].as_str().expect("cursor").to_owned();
        poll = long_poll(&cursor);
    }
}

#[tokio::test]
async fn anonymous_readers_of_a_session_share_one_access_check() {
    let app = spawn_app_with(|s| s.events.access_recheck_ms = 300).await;
    let owner = app.register("owner").await;
    let reading = app.reading(&owner, "public").await;
    let s = &reading.session_id;
    let mut streams = Vec::new();
    for _ in 0..20 {
        streams.push(app.subscribe(s, None).await);
    }
    tokio::time::sleep(Duration::from_millis(400)).await;
    let before = app.events.access_checks();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let checks = app.events.access_checks() - before;
    // Five intervals: about five checks, where one per stream would be 100.
    assert!(checks <= 10, "{checks} access checks in 1.5 s for 20 anonymous streams");
    // And they do check.
    let started = tokio::time::Instant::now();
    while app.events.access_checks() == before {
        assert!(started.elapsed() < SOON, "no access check at all");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // The shared check still ends every one of them.
    app.patch(&format!("/groups/{}", reading.group_id), Some(&owner.token), json!({"visibility": "private"}))
        .await
        .expect(200);
    for (n, stream) in streams.iter_mut().enumerate() {
        let end = stream.until(SOON, |e| e.event == "access_revoked").await;
        assert!(end.data["reason"].is_string(), "stream {n}: {:?}", end.data);
        stream.until_end(SOON).await;
        assert!(stream.ended, "stream {n} closes");
    }
}
