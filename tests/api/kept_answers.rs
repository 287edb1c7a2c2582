//! A session's counts and paragraphs are kept in memory under the version
//! that names them, so an unchanged session is answered after the one
//! statement that decides access and reads the version. These tests check
//! that a kept answer is sent only while it is still the answer: after every
//! kind of change, after a write that commits late, and never past a ban.

use diesel_async::{AnsiTransactionManager, TransactionManager};
use serde_json::{json, Value};

use crate::helpers::{cast, spawn_app, Cast, TestApp};

/// One paragraph's entry in a counts answer.
fn entry<'a>(counts: &'a Value, paragraph_id: &str) -> &'a Value {
    counts["paragraphs"]
        .as_array()
        .expect("paragraphs")
        .iter()
        .find(|p| p["paragraph_id"] == paragraph_id)
        .expect("the paragraph")
}

pub fn hits(app: &TestApp) -> u64 {
    app.kept_responses.hits_and_misses().0
}

/// Reads `path` until an answer is sent from what was kept, and returns it.
/// A version exists only once every older transaction in the cluster has
/// ended (src/versions/session.rs), and tests in other databases of the
/// same cluster commit all the time, so the first reads may not be kept.
pub async fn kept(app: &TestApp, path: &str, token: Option<&str>) -> Value {
    for _ in 0..100 {
        let before = hits(app);
        let res = app.get(path, token).await;
        assert_eq!(res.status, 200, "{path}: {}", res.body);
        if hits(app) > before {
            return res.body;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("{path}: no answer was reused in 100 reads");
}

#[tokio::test]
async fn an_unchanged_session_is_answered_from_what_was_kept() {
    let app = spawn_app().await;
    let cast = cast(&app, "private").await;
    let s = cast.session();
    app.start_thread(s, &cast.moderator, &cast.reading.paragraph_id(0), "first").await;
    for path in [format!("/sessions/{s}/counts"), format!("/sessions/{s}/paragraphs")] {
        let body = kept(&app, &path, Some(&cast.member.token)).await;
        let before = hits(&app);
        let again = app.get(&path, Some(&cast.member.token)).await;
        assert_eq!(again.body, body, "{path}");
        assert!(again.header("pilcrow-event-cursor").is_some(), "{path}: the cursor is still sent");
        let tag = again.header("etag").expect("an ETag").to_owned();
        if hits(&app) > before {
            assert_eq!(app.revalidate(&path, Some(&cast.member.token), &tag).await.status, 304, "{path}");
        }
        // Another reader who has read nothing gets the same answer, kept.
        let before = hits(&app);
        let organiser = app.get(&path, Some(&cast.organiser.token)).await;
        assert_eq!((organiser.status, &organiser.body), (200, &body), "{path}");
        assert_eq!(organiser.header("etag"), Some(tag.as_str()), "{path}");
        assert!(hits(&app) > before, "{path}: the organiser's read reuses the member's answer");
        // The moderator posted, which marked the thread read: their unread
        // counts differ, and so do the answer and its tag.
        let moderator = app.get(&path, Some(&cast.moderator.token)).await;
        assert_eq!(moderator.status, 200);
        assert_ne!(moderator.body, body, "{path}");
        assert_ne!(moderator.header("etag"), Some(tag.as_str()), "{path}");
    }
}

#[tokio::test]
async fn every_change_shows_through_a_kept_answer_and_a_ban_comes_first() {
    let app = spawn_app().await;
    let cast = cast(&app, "private").await;
    let s = cast.session();
    let p = cast.reading.paragraph_id(2);
    let path = format!("/sessions/{s}/counts");
    let member = Some(cast.member.token.as_str());
    let empty = kept(&app, &path, member).await;
    assert_eq!(entry(&empty, &p)["comment_count"], 0);

    let thread = app.start_thread(s, &cast.moderator, &p, "A first comment").await;
    let t = thread["id"].as_str().unwrap().to_owned();
    let reply = app.comment(&t, &cast.organiser, None, "A reply").await;
    let after_posts = app.get(&path, member).await.expect(200);
    assert_eq!(entry(&after_posts, &p)["thread_count"], 1);
    assert_eq!(entry(&after_posts, &p)["comment_count"], 2);
    assert_eq!(entry(&after_posts, &p)["unread_count"], 2);
    assert_eq!(kept(&app, &path, member).await, after_posts, "kept once settled");

    let r = reply["id"].as_str().unwrap();
    app.put(&format!("/sessions/{s}/reads"), member, json!({"threads": {&t: r}})).await.expect(204);
    let after_reading = app.get(&path, member).await.expect(200);
    assert_eq!(entry(&after_reading, &p)["unread_count"], 0, "the reader's own marks show at once");

    app.post(&format!("/comments/{r}/moderation"), Some(&cast.owner.token), json!({"action": "hide"}))
        .await
        .expect(200);
    let after_hiding = app.get(&path, member).await.expect(200);
    assert_eq!(entry(&after_hiding, &p)["comment_count"], 1);
    assert_eq!(kept(&app, &path, member).await, after_hiding);

    a_ban_comes_first(&app, &cast, &path).await;
}

/// Bans the cast's member: their next read of `path` is 404, and nothing
/// kept was even looked at.
pub async fn a_ban_comes_first(app: &TestApp, cast: &Cast, path: &str) {
    let before = hits(app);
    app.post(
        &format!("/groups/{}/bans", cast.reading.group_id),
        Some(&cast.owner.token),
        json!({"user_id": cast.member.id, "reason": "cooling off"}),
    )
    .await
    .expect(201);
    app.get(path, Some(&cast.member.token)).await.expect_problem(404, "not_found");
    assert_eq!(hits(app), before, "access is decided before anything kept is looked at");
}

#[tokio::test]
async fn a_write_that_commits_late_is_not_hidden_by_a_kept_answer() {
    let app = spawn_app().await;
    let cast = cast(&app, "public").await;
    let s = cast.session();
    let p = cast.reading.paragraph_id(1);
    let thread = app.start_thread(s, &cast.member, &p, "first").await;
    let t = thread["id"].as_str().unwrap().to_owned();
    let path = format!("/sessions/{s}/counts");

    let mut writer = app.comment_left_uncommitted(&t).await;
    let built = kept(&app, &path, None).await;

    AnsiTransactionManager::commit_transaction(&mut writer).await.expect("commit");
    let after = app.get(&path, None).await.expect(200);
    assert_eq!(entry(&after, &p)["comment_count"], entry(&built, &p)["comment_count"].as_i64().unwrap() + 1);
}
