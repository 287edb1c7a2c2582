//! A page of a thread's comments is kept under the version that names it
//! (the session's events, the authors' profiles watermark, the page's place
//! and whether the reader moderates). These tests check that a kept page is
//! sent only while it is still the page.

use diesel_async::{AnsiTransactionManager, TransactionManager};
use serde_json::{json, Value};

use crate::helpers::{cast, spawn_app};
use crate::kept_answers::{a_ban_comes_first, hits, kept};

fn bodies(page: &Value) -> Vec<Value> {
    page["items"].as_array().expect("items").iter().map(|c| c["body"].clone()).collect()
}

#[tokio::test]
async fn a_page_is_kept_for_every_reader_who_sees_the_same() {
    let app = spawn_app().await;
    let cast = cast(&app, "public").await;
    let s = cast.session();
    let thread = app.start_thread(s, &cast.organiser, &cast.reading.paragraph_id(0), "first").await;
    let t = thread["id"].as_str().unwrap().to_owned();
    let reply = app.comment(&t, &cast.member, None, "second").await;
    app.post(
        &format!("/comments/{}/moderation", reply["id"].as_str().unwrap()),
        Some(&cast.moderator.token),
        json!({"action": "hide", "reason": "off topic"}),
    )
    .await
    .expect(200);
    let path = format!("/threads/{t}/comments");

    let member = kept(&app, &path, Some(&cast.member.token)).await;
    assert_eq!(bodies(&member), vec![json!("first"), Value::Null], "members see a tombstone");
    for reader in [Some(cast.outsider.token.as_str()), None] {
        let before = hits(&app);
        let other = app.get(&path, reader).await;
        assert_eq!((other.status, &other.body), (200, &member));
        assert!(hits(&app) > before, "another reader who sees the same is answered from the kept page");
        let tag = other.header("etag").expect("an ETag").to_owned();
        assert_eq!(app.revalidate(&path, Some(&cast.member.token), &tag).await.status, 304);
    }
    let tag = app.get(&path, None).await.header("etag").expect("an ETag").to_owned();

    let moderator = kept(&app, &path, Some(&cast.moderator.token)).await;
    assert_eq!(bodies(&moderator), vec![json!("first"), json!("second")], "moderators see hidden bodies");
    assert_eq!(moderator["items"][1]["moderation"]["hidden_reason"], "off topic");
    assert_eq!(app.revalidate(&path, Some(&cast.moderator.token), &tag).await.status, 200);

    let first_page = kept(&app, &format!("{path}?limit=1"), None).await;
    assert_eq!(bodies(&first_page), vec![json!("first")], "each page is kept under its own place");
    let next = first_page["next_cursor"].as_str().expect("a next page");
    assert_eq!(bodies(&kept(&app, &format!("{path}?limit=1&cursor={next}"), None).await), vec![Value::Null]);
}

#[tokio::test]
async fn every_change_shows_through_a_kept_page_and_a_ban_comes_first() {
    let app = spawn_app().await;
    let cast = cast(&app, "private").await;
    let s = cast.session();
    let thread = app.start_thread(s, &cast.organiser, &cast.reading.paragraph_id(1), "opening").await;
    let t = thread["id"].as_str().unwrap().to_owned();
    let path = format!("/threads/{t}/comments");
    let member = Some(cast.member.token.as_str());
    assert_eq!(bodies(&kept(&app, &path, member).await), vec![json!("opening")]);
    app.get(&path, Some(&cast.outsider.token)).await.expect_problem(404, "not_found");

    let reply = app.comment(&t, &cast.organiser, None, "a reply").await;
    let r = reply["id"].as_str().unwrap().to_owned();
    assert_eq!(bodies(&kept(&app, &path, member).await), vec![json!("opening"), json!("a reply")], "posted");

    app.patch(&format!("/comments/{r}"), Some(&cast.organiser.token), json!({"body": "a reply, edited"}))
        .await
        .expect(200);
    assert_eq!(bodies(&kept(&app, &path, member).await)[1], "a reply, edited", "edited");

    app.post(&format!("/comments/{r}/moderation"), Some(&cast.owner.token), json!({"action": "hide"}))
        .await
        .expect(200);
    assert_eq!(bodies(&kept(&app, &path, member).await)[1], Value::Null, "hidden");
    app.post(&format!("/comments/{r}/moderation"), Some(&cast.owner.token), json!({"action": "restore"}))
        .await
        .expect(200);
    assert_eq!(bodies(&kept(&app, &path, member).await)[1], "a reply, edited", "restored");

    app.patch("/me", Some(&cast.organiser.token), json!({"display_name": "Renamed Organiser"}))
        .await
        .expect(200);
    let renamed = kept(&app, &path, member).await;
    assert_eq!(renamed["items"][0]["author"]["display_name"], "Renamed Organiser", "the author renamed");
    app.patch("/me", Some(&cast.organiser.token), json!({"bio": "Reads slowly."})).await.expect(200);
    assert_eq!(kept(&app, &path, member).await["items"][1]["author"]["bio"], "Reads slowly.", "a new bio");

    app.delete(&format!("/comments/{r}"), Some(&cast.organiser.token)).await.expect(204);
    let deleted = kept(&app, &path, member).await;
    assert_eq!(
        (bodies(&deleted)[1].clone(), deleted["items"][1]["deleted"].clone()),
        (Value::Null, json!(true))
    );

    a_ban_comes_first(&app, &cast, &path).await;
}

#[tokio::test]
async fn a_comment_that_commits_late_is_not_hidden_by_a_kept_page() {
    let app = spawn_app().await;
    let cast = cast(&app, "public").await;
    let thread = app.start_thread(cast.session(), &cast.member, &cast.reading.paragraph_id(1), "first").await;
    let t = thread["id"].as_str().unwrap().to_owned();
    let path = format!("/threads/{t}/comments");

    let mut writer = app.comment_left_uncommitted(&t).await;
    assert_eq!(kept(&app, &path, None).await["items"].as_array().unwrap().len(), 1);

    AnsiTransactionManager::commit_transaction(&mut writer).await.expect("commit");
    let after = app.get(&path, None).await.expect(200);
    assert_eq!(after["items"].as_array().unwrap().len(), 2, "the late comment shows at once");
}
