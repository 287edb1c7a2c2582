//! Search: the caller's visibility exactly (hidden, deleted and private
//! canaries never appear, not even in snippets), snippets with `<mark>`
//! around escaped text, keyset pages, the session filter, and hostile
//! queries that are never a 5xx.

use serde_json::{json, Value};

use crate::helpers::{id, spawn_app, TestApp};

fn snippets(page: &Value) -> Vec<String> {
    page["items"].as_array().unwrap().iter().map(|i| i["snippet"].as_str().unwrap().to_owned()).collect()
}

async fn search(app: &TestApp, group: &str, q: &str, token: Option<&str>) -> Value {
    let url = format!("/groups/{group}/search?q={}", urlencoding(q));
    app.get(&url, token).await.expect(200)
}

fn urlencoding(q: &str) -> String {
    q.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn canaries_never_appear() {
    let app = spawn_app().await;
    let owner = app.register("owner").await;
    let member = app.register("member").await;
    let outsider = app.register("outsider").await;
    let reading = app.reading(&owner, "public").await;
    let group = &reading.group_id;
    app.add_member(group, &owner, &member, "member").await;
    let sid = &reading.session_id;
    let para = reading.paragraph_id(0);

    let visible = id(&app.start_thread(sid, &member, &para, "The canary sings in plain view").await);
    let hidden_comment = id(&app.comment(&visible, &member, None, "hiddencanary words").await);
    app.post(
        &format!("/comments/{hidden_comment}/moderation"),
        Some(&owner.token),
        json!({"action": "hide"}),
    )
    .await
    .expect(200);
    let deleted = id(&app.comment(&visible, &member, None, "deletedcanary words").await);
    app.delete(&format!("/comments/{deleted}"), Some(&member.token)).await.expect(204);
    let hidden_thread = app
        .post(
            &format!("/sessions/{sid}/threads"),
            Some(&member.token),
            json!({"paragraph_id": para, "title": "threadcanary title", "body": "threadcanary body"}),
        )
        .await
        .expect(201);
    app.post(
        &format!("/threads/{}/moderation", id(&hidden_thread)),
        Some(&owner.token),
        json!({"action": "hide"}),
    )
    .await
    .expect(200);
    // A private group's canary, found by its members only and 404 to others.
    let private = app.reading(&owner, "private").await;
    app.start_thread(&private.session_id, &owner, &private.paragraph_id(0), "privatecanary secret").await;

    for token in [None, Some(member.token.as_str()), Some(outsider.token.as_str())] {
        for q in ["hiddencanary", "deletedcanary", "threadcanary", "privatecanary", "words"] {
            let page = search(&app, group, q, token).await;
            assert_eq!(page["items"], json!([]), "{q} found by {token:?}: {page}");
        }
        let page = search(&app, group, "canary", token).await;
        assert_eq!(page["items"].as_array().unwrap().len(), 1, "{page}");
        assert_eq!(page["items"][0]["thread_id"], visible);
        assert_eq!(page["items"][0]["matched"], "comment");
        assert_eq!(snippets(&page), vec!["The <mark>canary</mark> sings in plain view"]);
        let private_search =
            app.get(&format!("/groups/{}/search?q=privatecanary", private.group_id), token).await;
        private_search.expect_problem(404, "not_found");
    }
    // Moderators find hidden content (flagged), never deleted content.
    let page = search(&app, group, "hiddencanary or threadcanary or deletedcanary", Some(&owner.token)).await;
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 3, "hidden comment, hidden thread's title and body: {page}");
    assert!(items.iter().all(|i| i["hidden"] == true));
    assert!(items.iter().all(|i| i["comment_id"] != deleted));
    let own_private = search(&app, &private.group_id, "privatecanary", Some(&owner.token)).await;
    assert_eq!(own_private["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn snippets_escape_everything_but_the_marks() {
    let app = spawn_app().await;
    let owner = app.register("owner").await;
    let reading = app.reading(&owner, "public").await;
    let t = id(&app
        .post(
            &format!("/sessions/{}/threads", reading.session_id),
            Some(&owner.token),
            json!({"paragraph_id": reading.paragraph_id(0), "title": "On script <3 & \"quotes\"",
                   "body": "Some <b>Bold</b> claims about script\u{2}tags\u{3} & <mark>fake</mark> marks"}),
        )
        .await
        .expect(201));
    let page = search(&app, &reading.group_id, "script", None).await;
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "the body and the title: {page}");
    assert_eq!(items[0]["matched"], "comment");
    assert_eq!(items[0]["thread_id"], t);
    assert_eq!(
        items[0]["snippet"],
        "Some &lt;b&gt;Bold&lt;/b&gt; claims about <mark>script</mark> tags  &amp; &lt;mark&gt;fake&lt;/mark&gt; marks"
    );
    assert_eq!((items[1]["matched"].clone(), items[1]["comment_id"].clone()), (json!("title"), Value::Null));
    assert_eq!(items[1]["snippet"], "On <mark>script</mark> &lt;3 &amp; &quot;quotes&quot;");
    // A long comment gives fragments around the match, not the whole text.
    let filler = "lorem ipsum dolor sit amet ".repeat(30);
    app.comment(&t, &owner, None, &format!("{filler} the needle appears here {filler}")).await;
    let long = search(&app, &reading.group_id, "needle", None).await;
    let snippet = long["items"][0]["snippet"].as_str().unwrap();
    assert!(snippet.contains("<mark>needle</mark>"), "{snippet}");
    assert!(snippet.len() < 400, "a fragment, not the {}-character text: {snippet}", 2 * filler.len());
    // Phrases and exclusions.
    assert_eq!(
        search(&app, &reading.group_id, "\"claims about\"", None).await["items"].as_array().unwrap().len(),
        1
    );
    assert_eq!(search(&app, &reading.group_id, "\"about claims\"", None).await["items"], json!([]));
    assert_eq!(
        search(&app, &reading.group_id, "script -quotes", None).await["items"].as_array().unwrap().len(),
        1
    );
}

#[tokio::test]
async fn pages_and_the_session_filter() {
    let app = spawn_app().await;
    let owner = app.register("owner").await;
    let reading = app.reading(&owner, "public").await;
    let essay_id = reading.essay["id"].as_str().unwrap();
    let other_session = app.open_session(&reading.group_id, &owner, essay_id).await;
    let t = id(&app.start_thread(&reading.session_id, &owner, &reading.paragraph_id(0), "needle 0").await);
    let mut written = vec![];
    for i in 1..7 {
        written.push(id(&app.comment(&t, &owner, None, &format!("needle {i}")).await));
    }
    let o = id(&app.start_thread(&other_session, &owner, &reading.paragraph_id(0), "needle elsewhere").await);
    let path = format!("/groups/{}/search?q=needle", reading.group_id);
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let url = match &cursor {
            Some(c) => format!("{path}&limit=3&cursor={c}"),
            None => format!("{path}&limit=3"),
        };
        let page = app.get(&url, None).await.expect(200);
        // Writes between pages do not disturb them.
        app.comment(&t, &owner, None, "needle while paging").await;
        seen.extend(page["items"].as_array().unwrap().iter().map(|i| i["thread_id"].clone()));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 8, "seven in the first session, one in the other: {seen:?}");
    assert_eq!(seen[0], o, "newest first");
    let filtered = app.get(&format!("{path}&session_id={other_session}"), None).await.expect(200);
    assert_eq!(filtered["items"].as_array().unwrap().len(), 1);
    assert_eq!(filtered["items"][0]["session_id"], other_session);
    let foreign = app.reading(&owner, "public").await;
    let res = app.get(&format!("{path}&session_id={}", foreign.session_id), None).await;
    res.expect_problem(422, "validation_failed");
    assert_eq!(res.body["errors"][0]["field"], "session_id");
}

#[tokio::test]
async fn hostile_queries_are_never_a_server_error() {
    let app = spawn_app().await;
    let owner = app.register("owner").await;
    let reading = app.reading(&owner, "public").await;
    app.start_thread(&reading.session_id, &owner, &reading.paragraph_id(0), "it's a \"quoted\" word & more")
        .await;
    let group = &reading.group_id;
    for q in [
        "\"unbalanced",
        "\"\"\"",
        "a & | ! b",
        "!!!",
        "(((",
        "a:*",
        "'; DROP TABLE comments; --",
        "1' OR '1'='1",
        "-",
        "or",
        "-or -and",
        "word <-> other",
        "\\",
        "%",
        "ünïcödé 日本語 🦀",
        "a'b'c",
        "\u{2}\u{3}",
    ] {
        let res = app.get(&format!("/groups/{group}/search?q={}", urlencoding(q)), None).await;
        assert_eq!(res.status, 200, "{q:?}: {}", res.body);
    }
    let long = "x".repeat(501);
    app.get(&format!("/groups/{group}/search?q={long}"), None).await.expect_problem(422, "validation_failed");
    app.get(&format!("/groups/{group}/search?q=%00"), None).await.expect_problem(422, "validation_failed");
    app.get(&format!("/groups/{group}/search?q=%20%20"), None).await.expect_problem(422, "validation_failed");
    let missing = app.get(&format!("/groups/{group}/search"), None).await;
    assert!(missing.status == 400 || missing.status == 422, "{}", missing.body);
    app.get(&format!("/groups/{group}/search?q=x&cursor=nonsense"), None)
        .await
        .expect_problem(400, "invalid_cursor");
    let found = search(&app, group, "quoted", None).await;
    assert_eq!(found["items"].as_array().unwrap().len(), 1);
}

/// Migration 000070: the comment index's pending list is merged at 256 kB,
/// not PostgreSQL's 4 MB, so no post waits for a merge of 4 MB.
/// `gin_clean_pending_list` returns the pages it merged: the list of a few
/// posts is merged whole, and the index still finds them afterwards.
#[tokio::test]
async fn the_comment_index_merges_its_pending_list_small() {
    use diesel::sql_types::{BigInt, Text};
    use diesel_async::RunQueryDsl;

    #[derive(diesel::QueryableByName)]
    struct Options {
        #[diesel(sql_type = Text)]
        options: String,
    }
    #[derive(diesel::QueryableByName)]
    struct Merged {
        #[diesel(sql_type = BigInt)]
        pages: i64,
    }

    let app = spawn_app().await;
    let owner = app.register("owner").await;
    let reading = app.reading(&owner, "public").await;
    let para = reading.paragraph_id(0);
    let thread = id(&app.start_thread(&reading.session_id, &owner, &para, "Pending words").await);
    for n in 0..3 {
        app.post(
            &format!("/threads/{thread}/comments"),
            Some(&owner.token),
            json!({"body": format!("lantern {n}")}),
        )
        .await
        .expect(201);
    }

    let mut db = app.db().await;
    let options: Options = diesel::sql_query(
        "SELECT array_to_string(reloptions, ',') AS options FROM pg_class WHERE relname = 'comments_search_idx'",
    )
    .get_result(&mut db)
    .await
    .unwrap();
    assert!(options.options.contains("gin_pending_list_limit=256"), "{}", options.options);
    let merged: Merged = diesel::sql_query("SELECT gin_clean_pending_list('comments_search_idx') AS pages")
        .get_result(&mut db)
        .await
        .unwrap();
    assert!(merged.pages >= 1, "the posts waited in the pending list: {}", merged.pages);
    let found = search(&app, &reading.group_id, "lantern", Some(&owner.token)).await;
    assert_eq!(snippets(&found).len(), 3, "{found}");
}
