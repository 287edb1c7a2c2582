//! What a blocker reads: the blocked user's threads and comments come
//! collapsed (`author_blocked: true`, no title or body, the author kept) in
//! a thread, thread and question lists, comment pages and search, and in
//! full with `show_blocked=true`. The blocked user and everyone else read
//! exactly what they read before; counts are the same for all; a kept
//! comment page is renamed by blocking and unblocking and never crosses
//! readers; moderators act whatever blocks exist.

use serde_json::{json, Value};

use crate::helpers::{cast, id, spawn_app, Cast, TestApp, TestUser};
use crate::kept_answers::kept;

struct Scene {
    app: TestApp,
    cast: Cast,
    troll: TestUser,
    /// The organiser's thread, with a comment of the troll in it.
    open: String,
    troll_comment: String,
    /// The troll's question.
    question: String,
}

async fn scene() -> Scene {
    let app = spawn_app().await;
    let cast = cast(&app, "public").await;
    let troll = app.register("troll").await;
    app.add_member(cast.group(), &cast.owner, &troll, "member").await;
    let para = cast.reading.paragraph_id(0);
    let open = id(&app
        .post(
            &format!("/sessions/{}/threads", cast.session()),
            Some(&cast.organiser.token),
            json!({"paragraph_id": para, "title": "Opening remarks", "body": "Welcome, readers"}),
        )
        .await
        .expect(201));
    let troll_comment = id(&app.comment(&open, &troll, None, "Loud pelican words").await);
    let question = id(&app
        .post(
            &format!("/sessions/{}/threads", cast.session()),
            Some(&troll.token),
            json!({"paragraph_id": para, "title": "Pelican question", "body": "Pelican opening",
                   "kind": "question"}),
        )
        .await
        .expect(201));
    app.put(&format!("/me/blocks/{}", troll.id), Some(&cast.member.token), json!({})).await.expect(204);
    Scene { app, cast, troll, open, troll_comment, question }
}

fn by_id<'a>(items: &'a Value, wanted: &str) -> &'a Value {
    items["items"].as_array().expect("items").iter().find(|i| i["id"] == wanted).expect("listed")
}

/// Every read the scene offers, as `token` gets it (with `extra` appended
/// to each query): the question, both lists, both comment pages, a search.
async fn reads(s: &Scene, token: Option<&str>, extra: &str) -> Vec<Value> {
    let (app, session, group) = (&s.app, s.cast.session(), s.cast.group());
    let mut out = Vec::new();
    for path in [
        format!("/threads/{}?{extra}", s.question),
        format!("/sessions/{session}/threads?{extra}"),
        format!("/sessions/{session}/threads?kind=question&{extra}"),
        format!("/threads/{}/comments?{extra}", s.open),
        format!("/threads/{}/comments?{extra}", s.question),
        format!("/groups/{group}/search?q=pelican&{extra}"),
    ] {
        out.push(app.get(&path, token).await.expect(200));
    }
    out
}

/// Whether each read shows the troll's writing collapsed (`true`) or in full.
fn collapsed(s: &Scene, r: &[Value]) -> Vec<bool> {
    let thread = |t: &Value| {
        assert_eq!(t["author"]["id"], s.troll.id.as_str(), "the author is kept");
        match (&t["author_blocked"], &t["title"]) {
            (Value::Bool(true), Value::Null) => true,
            (Value::Bool(false), title) if title == "Pelican question" => false,
            other => panic!("inconsistent thread: {other:?}"),
        }
    };
    let comment = |c: &Value, body: &str| {
        assert_eq!(c["author"]["id"], s.troll.id.as_str(), "the author is kept");
        match (&c["author_blocked"], &c["body"]) {
            (Value::Bool(true), Value::Null) => true,
            (Value::Bool(false), b) if b == body => false,
            other => panic!("inconsistent comment: {other:?}"),
        }
    };
    let hits = r[5]["items"].as_array().expect("hits");
    assert_eq!(hits.len(), 3, "the troll's comment, opening and title are all found: {hits:?}");
    let hit_states: Vec<bool> = hits
        .iter()
        .map(|h| match (&h["author_blocked"], &h["snippet"]) {
            (Value::Bool(true), Value::Null) => true,
            (Value::Bool(false), Value::String(snippet)) => {
                assert!(snippet.to_lowercase().contains("<mark>pelican</mark>"), "{snippet}");
                false
            }
            other => panic!("inconsistent hit: {other:?}"),
        })
        .collect();
    assert!(hit_states.iter().all(|h| *h == hit_states[0]), "{hits:?}");
    // The organiser's writing is never collapsed.
    let opening = by_id(&r[1], &s.open);
    assert_eq!((&opening["author_blocked"], &opening["title"]), (&json!(false), &json!("Opening remarks")));
    assert_eq!(r[3]["items"][0]["body"], "Welcome, readers");
    vec![
        thread(&r[0]),
        thread(by_id(&r[1], &s.question)),
        thread(by_id(&r[2], &s.question)),
        comment(by_id(&r[3], &s.troll_comment), "Loud pelican words"),
        comment(&r[4]["items"][0], "Pelican opening"),
        hit_states[0],
    ]
}

#[tokio::test]
async fn the_blocker_reads_the_blocked_collapsed_everywhere_unless_asked() {
    let s = scene().await;
    let member = Some(s.cast.member.token.as_str());
    assert_eq!(collapsed(&s, &reads(&s, member, "").await), vec![true; 6]);
    assert_eq!(collapsed(&s, &reads(&s, member, "show_blocked=false").await), vec![true; 6]);
    assert_eq!(collapsed(&s, &reads(&s, member, "show_blocked=true").await), vec![false; 6]);
    s.app.get(&format!("/threads/{}?show_blocked=maybe", s.question), member).await.expect(400);

    // The blocked user, a third party, another member and an anonymous
    // reader read everything in full.
    for token in [
        Some(s.troll.token.as_str()),
        Some(s.cast.outsider.token.as_str()),
        Some(s.cast.organiser.token.as_str()),
        None,
    ] {
        assert_eq!(collapsed(&s, &reads(&s, token, "").await), vec![false; 6]);
    }

    // Unblocked: in full again.
    s.app.delete(&format!("/me/blocks/{}", s.troll.id), member).await.expect(204);
    assert_eq!(collapsed(&s, &reads(&s, member, "").await), vec![false; 6]);
}

#[tokio::test]
async fn counts_are_the_same_for_everyone() {
    let s = scene().await;
    let (app, session) = (&s.app, s.cast.session());
    let counts = |token: Option<String>| async move {
        let c = app.get(&format!("/sessions/{session}/counts"), token.as_deref()).await.expect(200);
        // Unread counts are each reader's own; the totals are everyone's.
        let totals: Vec<(Value, Value, Value)> = c["paragraphs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (p["thread_count"].clone(), p["comment_count"].clone(), p["open_question_count"].clone())
            })
            .collect();
        totals
    };
    let mine = counts(Some(s.cast.member.token.clone())).await;
    assert_eq!(mine[0], (json!(2), json!(3), json!(1)));
    assert_eq!(mine, counts(Some(s.troll.token.clone())).await);
    assert_eq!(mine, counts(None).await);

    let list = |token: String| async move {
        app.get(&format!("/sessions/{session}/threads"), Some(&token)).await.expect(200)
    };
    let blocker = list(s.cast.member.token.clone()).await;
    let other = list(s.cast.outsider.token.clone()).await;
    for t in [&s.open, &s.question] {
        assert_eq!(by_id(&blocker, t)["comment_count"], by_id(&other, t)["comment_count"]);
    }
    assert_eq!(by_id(&blocker, &s.open)["comment_count"], 2, "the troll's comment counts");
    // Unread counts too: the blocked comment is unread like any other.
    assert_eq!(by_id(&blocker, &s.open)["unread_count"], 2);
    assert_eq!(by_id(&blocker, &s.question)["unread_count"], 1);
}

#[tokio::test]
async fn a_kept_comment_page_follows_the_readers_blocks_and_never_crosses_readers() {
    let s = scene().await;
    let app = &s.app;
    let path = format!("/threads/{}/comments", s.open);
    let member = Some(s.cast.member.token.as_str());
    let troll_body = |page: &Value| by_id(page, &s.troll_comment)["body"].clone();

    let collapsed_page = kept(app, &path, member).await;
    assert_eq!(troll_body(&collapsed_page), Value::Null);
    let collapsed_tag = app.get(&path, member).await.header("etag").expect("an ETag").to_owned();

    // Readers who block nobody are never sent the blocker's page, kept or not.
    for token in [Some(s.cast.outsider.token.as_str()), Some(s.troll.token.as_str()), None] {
        let page = kept(app, &path, token).await;
        assert_eq!(troll_body(&page), "Loud pelican words");
        let res = app.revalidate(&path, token, &collapsed_tag).await;
        assert_eq!(res.status, 200, "the blocker's ETag names another page");
    }
    // Asking to see them: the full page, under the full page's name.
    let shown = app.get(&format!("{path}?show_blocked=true"), member).await;
    assert_eq!(troll_body(&shown.body), "Loud pelican words");
    assert_ne!(shown.header("etag"), Some(collapsed_tag.as_str()));

    // Unblocking renames the page: the old ETag is not answered with 304.
    app.delete(&format!("/me/blocks/{}", s.troll.id), member).await.expect(204);
    let res = app.revalidate(&path, member, &collapsed_tag).await;
    assert_eq!(res.status, 200);
    assert_eq!(troll_body(&res.body), "Loud pelican words");
    let full_tag = res.header("etag").expect("an ETag").to_owned();
    assert_ne!(full_tag, collapsed_tag);
    assert_eq!(troll_body(&kept(app, &path, member).await), "Loud pelican words");

    // Blocking again: collapsed again, under the collapsed name.
    app.put(&format!("/me/blocks/{}", s.troll.id), member, json!({})).await.expect(204);
    let res = app.revalidate(&path, member, &full_tag).await;
    assert_eq!(res.status, 200);
    assert_eq!(troll_body(&res.body), Value::Null);
    assert_eq!(troll_body(&kept(app, &path, member).await), Value::Null);
    assert_eq!(app.revalidate(&path, member, &collapsed_tag).await.status, 304);

    // Blocking someone else too renames it again.
    app.put(&format!("/me/blocks/{}", s.cast.outsider.id), member, json!({})).await.expect(204);
    assert_eq!(app.revalidate(&path, member, &collapsed_tag).await.status, 200);
}

#[tokio::test]
async fn moderators_act_on_the_content_of_users_they_block() {
    let s = scene().await;
    let app = &s.app;
    let moderator = Some(s.cast.moderator.token.as_str());
    app.put(&format!("/me/blocks/{}", s.troll.id), moderator, json!({})).await.expect(204);
    let page = app.get(&format!("/threads/{}/comments", s.open), moderator).await.expect(200);
    assert_eq!(by_id(&page, &s.troll_comment)["author_blocked"], true);

    let hidden = app
        .post(
            &format!("/comments/{}/moderation", s.troll_comment),
            moderator,
            json!({"action": "hide", "reason": "shouting"}),
        )
        .await
        .expect(200);
    assert_eq!(hidden["hidden"], true);
    assert_eq!(hidden["body"], "Loud pelican words", "moderation answers in full");
    assert_eq!(hidden["author_blocked"], false);
    let shown =
        app.get(&format!("/threads/{}/comments?show_blocked=true", s.open), moderator).await.expect(200);
    assert_eq!(by_id(&shown, &s.troll_comment)["body"], "Loud pelican words");
    // Other members get the hidden tombstone, the blocker included.
    let outsider = app.get(&format!("/threads/{}/comments", s.open), Some(&s.cast.outsider.token)).await;
    assert_eq!(by_id(&outsider.expect(200), &s.troll_comment)["body"], Value::Null);

    let thread = app
        .post(
            &format!("/threads/{}/moderation", s.question),
            moderator,
            json!({"action": "lock", "reason": "enough"}),
        )
        .await
        .expect(200);
    assert_eq!((&thread["locked"], &thread["title"]), (&json!(true), &json!("Pelican question")));
}

#[tokio::test]
async fn moderators_list_members_whom_several_members_block() {
    let s = scene().await;
    let (app, group) = (&s.app, s.cast.group());
    let path = format!("/groups/{group}/members?blocked_by_at_least=3");
    let names = |page: Value| -> Vec<String> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["user"]["username"].as_str().unwrap().to_owned())
            .collect()
    };
    let moderator = Some(s.cast.moderator.token.as_str());
    // One member blocks the troll; blocks from outside the group do not count.
    app.put(&format!("/me/blocks/{}", s.troll.id), Some(&s.cast.outsider.token), json!({})).await.expect(204);
    app.put(&format!("/me/blocks/{}", s.troll.id), Some(&s.cast.other_mod.token), json!({}))
        .await
        .expect(204);
    assert!(names(app.get(&path, moderator).await.expect(200)).is_empty());
    app.put(&format!("/me/blocks/{}", s.troll.id), Some(&s.cast.organiser.token), json!({}))
        .await
        .expect(204);
    assert!(names(app.get(&path, moderator).await.expect(200)).is_empty(), "two members are not three");
    app.put(&format!("/me/blocks/{}", s.troll.id), Some(&s.cast.owner.token), json!({})).await.expect(204);
    assert_eq!(names(app.get(&path, moderator).await.expect(200)), vec!["troll".to_owned()]);
    // Without the filter, every member.
    let all = names(app.get(&format!("/groups/{group}/members?limit=100"), moderator).await.expect(200));
    assert!(all.len() > 3 && all.contains(&"troll".to_owned()));

    app.get(&path, Some(&s.cast.member.token)).await.expect_problem(403, "insufficient_role");
    app.get(&path, Some(&s.troll.token)).await.expect_problem(403, "insufficient_role");
    app.get(&format!("/groups/{group}/members?blocked_by_at_least=2"), moderator)
        .await
        .expect_problem(422, "validation_failed");
}
