//! The counts and paragraphs of a session are tagged by a version read from
//! the event log, so a current client gets its 304 before any counter is
//! read. These tests hold a tag across every kind of change that moves a
//! count and check that the old tag never earns a 304 afterwards, including
//! for a write that commits after the tag was handed out.

use diesel_async::{AnsiTransactionManager, TransactionManager};
use serde_json::json;

use crate::helpers::{cast, spawn_app, TestApp};

/// The current tag of `path`, checked to be current (a 304 right away).
async fn current_tag(app: &TestApp, path: &str, token: Option<&str>) -> String {
    let res = app.get(path, token).await;
    assert_eq!(res.status, 200, "{path}");
    let tag = res.header("etag").expect("an ETag").to_owned();
    assert_eq!(app.revalidate(path, token, &tag).await.status, 304, "{path}: a fresh tag revalidates");
    tag
}

/// After a change, the tag held before it earns a full answer.
async fn assert_stale(app: &TestApp, path: &str, token: Option<&str>, tag: &str, change: &str) {
    let res = app.revalidate(path, token, tag).await;
    assert_eq!(res.status, 200, "{path}: the tag from before `{change}` must not revalidate");
}

/// What, how, where, with what body, as whom.
type Change<'a> = (&'a str, reqwest::Method, String, Option<serde_json::Value>, Option<&'a str>);

#[tokio::test]
async fn every_change_that_moves_a_count_retires_the_tag() {
    let app = spawn_app().await;
    let cast = cast(&app, "private").await;
    let s = cast.session();
    let p = cast.reading.paragraph_id(2);
    let member = Some(cast.member.token.as_str());
    let moderator = Some(cast.owner.token.as_str());
    let paths = [format!("/sessions/{s}/counts"), format!("/sessions/{s}/paragraphs")];

    let mut tags = Vec::new();
    for path in &paths {
        tags.push(current_tag(&app, path, member).await);
    }
    let question = app.ask(s, &cast.moderator, &p, "Why here?").await;
    let q = question["id"].as_str().unwrap().to_owned();
    let answer = app.comment(&q, &cast.organiser, None, "Because.").await;
    let a = answer["id"].as_str().unwrap().to_owned();

    let changes: [Change; 6] = [
        (
            "hide the answer",
            reqwest::Method::POST,
            format!("/comments/{a}/moderation"),
            Some(json!({"action": "hide"})),
            moderator,
        ),
        (
            "restore it",
            reqwest::Method::POST,
            format!("/comments/{a}/moderation"),
            Some(json!({"action": "restore"})),
            moderator,
        ),
        ("accept it", reqwest::Method::POST, format!("/threads/{q}/answers/{a}"), None, moderator),
        (
            "hide the thread",
            reqwest::Method::POST,
            format!("/threads/{q}/moderation"),
            Some(json!({"action": "hide"})),
            moderator,
        ),
        (
            "restore the thread",
            reqwest::Method::POST,
            format!("/threads/{q}/moderation"),
            Some(json!({"action": "restore"})),
            moderator,
        ),
        (
            "mark it read",
            reqwest::Method::PUT,
            format!("/sessions/{s}/reads"),
            Some(json!({"threads": {&q: &a}})),
            member,
        ),
    ];
    for (what, method, route, body, token) in changes {
        let mut before = Vec::new();
        for path in &paths {
            before.push(current_tag(&app, path, member).await);
        }
        let res = app.call(method, &route, token, body).await;
        assert!(res.status == 200 || res.status == 201 || res.status == 204, "{what}: {}", res.status);
        for (path, tag) in paths.iter().zip(&before) {
            assert_stale(&app, path, member, tag, what).await;
        }
    }
    for (path, tag) in paths.iter().zip(&tags) {
        assert_stale(&app, path, member, tag, "everything").await;
    }
}

#[tokio::test]
async fn a_write_that_commits_after_the_tag_still_retires_it() {
    let app = spawn_app().await;
    let cast = cast(&app, "public").await;
    let s = cast.session();
    let p = cast.reading.paragraph_id(1);
    let thread = app.start_thread(s, &cast.member, &p, "first").await;
    let t = thread["id"].as_str().unwrap().to_owned();
    let path = format!("/sessions/{s}/counts");

    // A comment written by a transaction that is still open while the tag
    // is handed out: its event is invisible, and its xid is below nothing
    // the server has seen.
    let mut writer = app.comment_left_uncommitted(&t).await;

    let before = app.get(&path, None).await;
    assert_eq!(before.status, 200);
    let tag = before.header("etag").expect("an ETag").to_owned();
    let comments_before = before.body["paragraphs"][1]["comment_count"].as_i64().unwrap();
    assert_eq!(app.revalidate(&path, None, &tag).await.status, 304);

    AnsiTransactionManager::commit_transaction(&mut writer).await.expect("commit");
    let after = app.revalidate(&path, None, &tag).await;
    assert_eq!(after.status, 200, "the late commit must retire the tag");
    assert_eq!(after.body["paragraphs"][1]["comment_count"].as_i64().unwrap(), comments_before + 1);
}

#[tokio::test]
async fn the_tag_is_per_reader() {
    let app = spawn_app().await;
    let cast = cast(&app, "public").await;
    let s = cast.session();
    let path = format!("/sessions/{s}/counts");
    let member = app.get(&path, Some(&cast.member.token)).await;
    assert_eq!(member.status, 200);
    let tag = member.header("etag").expect("an ETag").to_owned();
    // Anonymous readers get no unread counts: another answer, another tag.
    assert_eq!(app.revalidate(&path, None, &tag).await.status, 200);
    // Every reader who has marked nothing read in the session gets the same
    // answer (all counted comments unread), so the same tag is current for them.
    assert_eq!(app.revalidate(&path, Some(&cast.moderator.token), &tag).await.status, 304);
    assert_eq!(app.revalidate(&path, Some(&cast.member.token), &tag).await.status, 304);
    // Once the moderator has read a thread (replying marks it read), their
    // answer is their own.
    let thread = app.start_thread(s, &cast.organiser, &cast.reading.paragraph_id(0), "a first comment").await;
    app.comment(thread["id"].as_str().unwrap(), &cast.moderator, None, "a reply").await;
    let moderator = app.get(&path, Some(&cast.moderator.token)).await;
    let member = app.get(&path, Some(&cast.member.token)).await;
    assert_eq!((moderator.status, member.status), (200, 200));
    assert_ne!(moderator.body, member.body, "the moderator has read the comment, the member has not");
    for (who, res) in [("moderator", &moderator), ("member", &member)] {
        let tag = res.header("etag").expect("an ETag").to_owned();
        let other = if who == "member" { &cast.moderator } else { &cast.member };
        assert_eq!(app.revalidate(&path, Some(&other.token), &tag).await.status, 200, "{who}'s tag");
    }
}
