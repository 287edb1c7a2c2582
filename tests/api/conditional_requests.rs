//! Conditional GETs: strong ETags over exactly what the caller would get,
//! 304 on a current tag, and the access check before any of it.

use reqwest::header::{CACHE_CONTROL, ETAG};
use serde_json::json;

use crate::helpers::{cast, spawn_app, Resp};

fn tag(res: &Resp) -> String {
    res.header("etag").expect("an ETag").to_owned()
}

#[tokio::test]
async fn every_session_read_revalidates_with_a_304() {
    let app = spawn_app().await;
    let cast = cast(&app, "private").await;
    let s = cast.session();
    let thread = app.start_thread(s, &cast.member, &cast.reading.paragraph_id(0), "first").await;
    let t = thread["id"].as_str().unwrap();
    let token = Some(cast.member.token.as_str());
    for path in [
        format!("/sessions/{s}/counts"),
        format!("/sessions/{s}/paragraphs"),
        format!("/sessions/{s}/threads"),
        format!("/threads/{t}"),
        format!("/threads/{t}/comments"),
    ] {
        let first = app.get(&path, token).await;
        assert_eq!(first.status, 200, "{path}");
        let etag = tag(&first);
        assert!(etag.starts_with('"') && etag.ends_with('"') && !etag.starts_with("W/"), "strong: {etag}");
        assert_eq!(first.header("cache-control"), Some("private, no-cache"), "{path}");
        assert!(first.header("pilcrow-event-cursor").is_some(), "{path} carries the event cursor");

        let again = app.revalidate(&path, token, &etag).await;
        assert_eq!(again.status, 304, "{path}");
        assert_eq!(again.body, serde_json::Value::Null, "a 304 has no body");
        assert_eq!(again.header("etag"), Some(etag.as_str()));
        assert_eq!(again.header("cache-control"), Some("private, no-cache"));
        // A list of tags, and the weak form, match too (RFC 9110 weak comparison).
        assert_eq!(app.revalidate(&path, token, &format!("\"nope\", W/{etag}")).await.status, 304);
        assert_eq!(app.revalidate(&path, token, "\"nope\"").await.status, 200);
    }
}

#[tokio::test]
async fn a_change_gives_a_new_tag_and_a_full_answer() {
    let app = spawn_app().await;
    let cast = cast(&app, "public").await;
    let s = cast.session();
    let thread = app.start_thread(s, &cast.member, &cast.reading.paragraph_id(1), "first").await;
    let t = thread["id"].as_str().unwrap();
    let counts = app.get(&format!("/sessions/{s}/counts"), None).await;
    let comments = app.get(&format!("/threads/{t}/comments"), None).await;

    app.comment(t, &cast.member, None, "second").await;
    let counts_after = app.revalidate(&format!("/sessions/{s}/counts"), None, &tag(&counts)).await;
    assert_eq!(counts_after.status, 200);
    assert_ne!(tag(&counts_after), tag(&counts));
    assert_eq!(counts_after.body["paragraphs"][1]["comment_count"], 2);
    let comments_after = app.revalidate(&format!("/threads/{t}/comments"), None, &tag(&comments)).await;
    assert_eq!(comments_after.status, 200);
    assert_eq!(comments_after.body["items"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn a_304_never_bypasses_access() {
    let app = spawn_app().await;
    let cast = cast(&app, "private").await;
    let s = cast.session();
    let thread = app.start_thread(s, &cast.member, &cast.reading.paragraph_id(0), "first").await;
    let t = thread["id"].as_str().unwrap();
    for path in [format!("/sessions/{s}/counts"), format!("/sessions/{s}/threads"), format!("/threads/{t}")] {
        let etag = tag(&app.get(&path, Some(&cast.member.token)).await);
        // Outsiders and anonymous callers replaying a valid tag still get 404.
        app.revalidate(&path, Some(&cast.outsider.token), &etag).await.expect_problem(404, "not_found");
        app.revalidate(&path, None, &etag).await.expect_problem(404, "not_found");
        app.revalidate(&path, None, "*").await.expect_problem(404, "not_found");
    }
    // A revoked token is 401 even with a current tag.
    let path = format!("/sessions/{s}/counts");
    let etag = tag(&app.get(&path, Some(&cast.member.token)).await);
    app.post(
        "/me/password",
        Some(&cast.member.token),
        json!({"current_password": cast.member.password, "new_password": "a whole new sentence of words"}),
    )
    .await
    .expect(204);
    app.revalidate(&path, Some(&cast.member.token), &etag).await.expect_unauthorized("token_revoked");
}

#[tokio::test]
async fn members_and_moderators_get_different_tags_when_something_is_hidden() {
    let app = spawn_app().await;
    let cast = cast(&app, "public").await;
    let s = cast.session();
    let thread = app.start_thread(s, &cast.member, &cast.reading.paragraph_id(0), "first").await;
    let t = thread["id"].as_str().unwrap();
    let reply = app.comment(t, &cast.member, None, "rude words").await;
    let member = Some(cast.member.token.as_str());
    let moderator = Some(cast.moderator.token.as_str());
    let comments = format!("/threads/{t}/comments");
    // Nothing hidden: both see the same comments (under tags of their own:
    // a page's tag names the kind of reader as well, see src/comments/routes.rs).
    assert_eq!(app.get(&comments, member).await.body, app.get(&comments, moderator).await.body);

    app.post(
        &format!("/comments/{}/moderation", reply["id"].as_str().unwrap()),
        moderator,
        json!({"action": "hide"}),
    )
    .await
    .expect(200);
    let as_member = app.get(&comments, member).await;
    let as_moderator = app.get(&comments, moderator).await;
    assert_ne!(tag(&as_member), tag(&as_moderator));
    // The moderator's tag does not revalidate the member's view, nor the reverse.
    assert_eq!(app.revalidate(&comments, member, &tag(&as_moderator)).await.status, 200);
    assert_eq!(app.revalidate(&comments, moderator, &tag(&as_member)).await.status, 200);

    // A hidden thread: the member's list leaves it out, the moderator's has it.
    app.post(&format!("/threads/{t}/moderation"), moderator, json!({"action": "hide"})).await.expect(200);
    let threads = format!("/sessions/{s}/threads");
    assert_ne!(tag(&app.get(&threads, member).await), tag(&app.get(&threads, moderator).await));
}

#[tokio::test]
async fn other_routes_stay_uncacheable() {
    let app = spawn_app().await;
    let cast = cast(&app, "public").await;
    let res = app.get(&format!("/sessions/{}", cast.session()), None).await;
    assert_eq!(res.header("cache-control"), Some("no-store"));
    assert!(res.headers.get(ETAG).is_none());
    let _ = CACHE_CONTROL;
}
