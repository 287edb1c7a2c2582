use serde_json::json;

use crate::helpers::{recount, spawn_app, ESSAY_QUOTE};

#[tokio::test]
async fn thread_with_quote_anchor_counts_its_opening_comment() {
    let app = spawn_app().await;
    let owner = app.register("organiser").await;
    let reading = app.reading(&owner, "public").await;
    // Paragraph 4 reads "... The listener’s ear, not the reader’s eye, ..."
    let text = reading.paragraph_text(4);
    let byte_start = text.find(ESSAY_QUOTE).expect("fixture text");
    let start = text[..byte_start].chars().count() as i64;
    let end = start + ESSAY_QUOTE.chars().count() as i64;
    let para = reading.paragraph_id(4);
    let created = app
        .post(
            &format!("/sessions/{}/threads", reading.session_id),
            Some(&owner.token),
            json!({"paragraph_id": para, "title": "Whose ear?", "body": "Is *redistribution* enough?",
                   "quote": {"exact": ESSAY_QUOTE, "start": start, "end": end}}),
        )
        .await
        .expect(201);
    assert_eq!(created["quote"]["exact"], ESSAY_QUOTE);
    assert_eq!(created["comment_count"], 1);
    assert_eq!(created["author"]["username"], "organiser");
    assert_eq!(app.paragraph_counts(&reading.session_id, &para, None).await, (1, 1));

    // Byte offsets (what a careless client might send) do not match.
    let bad = app
        .post(
            &format!("/sessions/{}/threads", reading.session_id),
            Some(&owner.token),
            json!({"paragraph_id": para, "body": "x",
                   "quote": {"exact": ESSAY_QUOTE, "start": byte_start, "end": byte_start + ESSAY_QUOTE.len()}}),
        )
        .await;
    bad.expect_problem(422, "validation_failed");
    assert_eq!(bad.body["errors"][0]["field"], "quote");
    assert_eq!(recount(&mut app.db().await, &reading.session_id, &para).await.threads, 1);
}

#[tokio::test]
async fn quote_offsets_are_code_points_with_emoji_and_dashes() {
    let app = spawn_app().await;
    let owner = app.register("organiser").await;
    let group = app.create_group(&owner, "public").await;
    let essay = app
        .post(
            &format!("/groups/{group}/essays"),
            Some(&owner.token),
            json!({"title": "Emoji", "format": "text", "body": "“Fire” — 🔥🔥 burns — and then?"}),
        )
        .await
        .expect(201);
    let session = app.open_session(&group, &owner, essay["id"].as_str().unwrap()).await;
    let para = essay["paragraphs"][0]["id"].as_str().unwrap();
    let threads_path = format!("/sessions/{session}/threads");
    let post = |exact: &str, start: i64, end: i64| {
        app.post(
            &threads_path,
            Some(&owner.token),
            json!({"paragraph_id": para, "body": "b", "quote": {"exact": exact, "start": start, "end": end}}),
        )
    };
    assert_eq!(post("🔥🔥 burns", 9, 17).await.status, 201);
    // UTF-16 offsets would put "burns" at 14..19, UTF-8 bytes at 20..25.
    assert_eq!(post("burns", 14, 19).await.status, 422);
    assert_eq!(post("burns", 20, 25).await.status, 422);
    assert_eq!(post("burns", 12, 17).await.status, 201);
    assert_eq!(post("", 3, 3).await.status, 422);
    assert_eq!(post("?", 30, 31).await.status, 422);
}

#[tokio::test]
async fn paragraph_of_another_essay_is_422_and_closed_session_is_409() {
    let app = spawn_app().await;
    let owner = app.register("organiser").await;
    let reading = app.reading(&owner, "public").await;
    let other = app.reading(&owner, "public").await;
    let res = app
        .post(
            &format!("/sessions/{}/threads", reading.session_id),
            Some(&owner.token),
            json!({"paragraph_id": other.paragraph_id(0), "body": "wrong essay"}),
        )
        .await;
    res.expect_problem(422, "validation_failed");
    assert_eq!(res.body["errors"][0]["field"], "paragraph_id");

    let thread = app.start_thread(&reading.session_id, &owner, &reading.paragraph_id(0), "first").await;
    app.patch(&format!("/sessions/{}", reading.session_id), Some(&owner.token), json!({"status": "closed"}))
        .await
        .expect(200);
    app.post(
        &format!("/sessions/{}/threads", reading.session_id),
        Some(&owner.token),
        json!({"paragraph_id": reading.paragraph_id(0), "body": "late"}),
    )
    .await
    .expect_problem(409, "session_closed");
    app.post(
        &format!("/threads/{}/comments", thread["id"].as_str().unwrap()),
        Some(&owner.token),
        json!({"body": "late"}),
    )
    .await
    .expect_problem(409, "session_closed");
}

#[tokio::test]
async fn threads_list_by_latest_activity_and_filter_by_paragraph() {
    let app = spawn_app().await;
    let owner = app.register("organiser").await;
    let reading = app.reading(&owner, "public").await;
    let a = app.start_thread(&reading.session_id, &owner, &reading.paragraph_id(1), "a").await;
    let b = app.start_thread(&reading.session_id, &owner, &reading.paragraph_id(2), "b").await;
    let c = app.start_thread(&reading.session_id, &owner, &reading.paragraph_id(1), "c").await;
    // A reply makes `a` the most recently active.
    app.comment(a["id"].as_str().unwrap(), &owner, None, "bump").await;
    let list = app.get(&format!("/sessions/{}/threads", reading.session_id), None).await.expect(200);
    let ids: Vec<&str> =
        list["items"].as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [a["id"].as_str().unwrap(), c["id"].as_str().unwrap(), b["id"].as_str().unwrap()]);
    let filtered = app
        .get(
            &format!("/sessions/{}/threads?paragraph_id={}", reading.session_id, reading.paragraph_id(1)),
            None,
        )
        .await
        .expect(200);
    assert_eq!(filtered["items"].as_array().unwrap().len(), 2);
    let page = app.get(&format!("/sessions/{}/threads?limit=2", reading.session_id), None).await.expect(200);
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    let cursor = page["next_cursor"].as_str().expect("a second page");
    let rest = app
        .get(&format!("/sessions/{}/threads?limit=2&cursor={cursor}", reading.session_id), None)
        .await
        .expect(200);
    assert_eq!(rest["items"][0]["id"], b["id"]);
    assert!(rest["next_cursor"].is_null());
    app.get(&format!("/sessions/{}/threads?limit=101", reading.session_id), None)
        .await
        .expect_problem(422, "validation_failed");
}

#[tokio::test]
async fn private_threads_are_404_to_outsiders_and_writes_need_membership() {
    let app = spawn_app().await;
    let owner = app.register("organiser").await;
    let outsider = app.register("outsider").await;
    let reading = app.reading(&owner, "private").await;
    let thread = app.start_thread(&reading.session_id, &owner, &reading.paragraph_id(0), "secret").await;
    let tid = thread["id"].as_str().unwrap();
    let cid = app.get(&format!("/threads/{tid}/comments"), Some(&owner.token)).await.expect(200)["items"][0]
        ["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for token in [None, Some(outsider.token.as_str())] {
        app.get(&format!("/threads/{tid}"), token).await.expect_problem(404, "not_found");
        app.get(&format!("/threads/{tid}/comments"), token).await.expect_problem(404, "not_found");
        app.get(&format!("/sessions/{}/threads", reading.session_id), token)
            .await
            .expect_problem(404, "not_found");
        app.get(&format!("/sessions/{}/counts", reading.session_id), token)
            .await
            .expect_problem(404, "not_found");
    }
    app.post(&format!("/threads/{tid}/comments"), Some(&outsider.token), json!({"body": "hi"}))
        .await
        .expect_problem(404, "not_found");
    app.patch(&format!("/comments/{cid}"), Some(&outsider.token), json!({"body": "hi"}))
        .await
        .expect_problem(404, "not_found");
    app.delete(&format!("/comments/{cid}"), Some(&outsider.token)).await.expect_problem(404, "not_found");

    // In a public group an outsider reads but must join to write.
    let public = app.reading(&owner, "public").await;
    let open = app.start_thread(&public.session_id, &owner, &public.paragraph_id(0), "open").await;
    let oid = open["id"].as_str().unwrap();
    app.get(&format!("/threads/{oid}"), Some(&outsider.token)).await.expect(200);
    app.post(&format!("/threads/{oid}/comments"), Some(&outsider.token), json!({"body": "hi"}))
        .await
        .expect_problem(403, "not_a_member");
    app.post(&format!("/threads/{oid}/comments"), None, json!({"body": "hi"}))
        .await
        .expect_problem(401, "missing_token");
    // Anyone reads a public thread's comments, until a moderator hides the thread.
    let page = app.get(&format!("/threads/{oid}/comments"), None).await.expect(200);
    assert_eq!(page["items"][0]["body"], "open");
    app.post(&format!("/threads/{oid}/moderation"), Some(&owner.token), json!({"action": "hide"}))
        .await
        .expect(200);
    for token in [None, Some(outsider.token.as_str())] {
        app.get(&format!("/threads/{oid}/comments"), token).await.expect_problem(404, "not_found");
    }
    app.get(&format!("/threads/{oid}/comments"), Some(&owner.token)).await.expect(200);
}

#[tokio::test]
async fn banned_members_cannot_write_anywhere() {
    let app = spawn_app().await;
    let owner = app.register("organiser").await;
    let member = app.register("member").await;
    let reading = app.reading(&owner, "public").await;
    app.post(&format!("/groups/{}/join", reading.group_id), Some(&member.token), json!({})).await.expect(201);
    let thread = app.start_thread(&reading.session_id, &member, &reading.paragraph_id(0), "mine").await;
    let tid = thread["id"].as_str().unwrap();
    let comment = app.comment(tid, &member, None, "reply").await;
    let cid = comment["id"].as_str().unwrap();
    app.post(
        &format!("/groups/{}/bans", reading.group_id),
        Some(&owner.token),
        json!({"user_id": member.id, "reason": "spam"}),
    )
    .await
    .expect(201);
    app.post(
        &format!("/sessions/{}/threads", reading.session_id),
        Some(&member.token),
        json!({"paragraph_id": reading.paragraph_id(0), "body": "x"}),
    )
    .await
    .expect_problem(403, "banned");
    app.post(&format!("/threads/{tid}/comments"), Some(&member.token), json!({"body": "x"}))
        .await
        .expect_problem(403, "banned");
    app.patch(&format!("/comments/{cid}"), Some(&member.token), json!({"body": "x"}))
        .await
        .expect_problem(403, "banned");
    app.delete(&format!("/comments/{cid}"), Some(&member.token)).await.expect_problem(403, "banned");
    // Reading a public group still works.
    app.get(&format!("/threads/{tid}/comments"), Some(&member.token)).await.expect(200);
}

/// Closing a session while members post: every post acknowledged with 201
/// is stored, nothing else is, and every post sent after the close answered
/// is refused with 409 `session_closed`.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn closing_a_session_under_load_is_exact() {
    let app = std::sync::Arc::new(
        crate::helpers::spawn_app_with(|s| {
            s.database.pool_size = 24;
            s.server.workers = 2;
        })
        .await,
    );
    let owner = app.register("organiser").await;
    let reading = app.reading(&owner, "public").await;
    let thread = app.start_thread(&reading.session_id, &owner, &reading.paragraph_id(3), "open").await;
    let tid = thread["id"].as_str().unwrap().to_owned();
    let closed_at = std::sync::Arc::new(tokio::sync::OnceCell::<std::time::Instant>::new());
    let mut posters = Vec::new();
    for _ in 0..6 {
        let (app, owner, tid, closed_at) = (app.clone(), owner.clone(), tid.clone(), closed_at.clone());
        posters.push(tokio::spawn(async move {
            let (mut accepted, mut refused_after_close) = (0i64, 0i64);
            // Post until the close has been seen a few times (bounded), so
            // the close always lands while posts are in flight.
            for i in 0..2000 {
                if refused_after_close >= 3 {
                    break;
                }
                let sent = std::time::Instant::now();
                let res = app
                    .post(
                        &format!("/threads/{tid}/comments"),
                        Some(&owner.token),
                        json!({"body": format!("p{i}")}),
                    )
                    .await;
                match res.status {
                    201 => {
                        let closed_before_sent = closed_at.get().is_some_and(|t| *t < sent);
                        assert!(!closed_before_sent, "a post sent after the close was accepted");
                        accepted += 1;
                    }
                    409 => {
                        res.expect_problem(409, "session_closed");
                        refused_after_close += 1;
                    }
                    other => panic!("unexpected {other}: {}", res.body),
                }
            }
            (accepted, refused_after_close)
        }));
    }
    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    app.patch(&format!("/sessions/{}", reading.session_id), Some(&owner.token), json!({"status": "closed"}))
        .await
        .expect(200);
    closed_at.set(std::time::Instant::now()).unwrap();
    let mut accepted = 0;
    let mut refused = 0;
    for p in posters {
        let (a, r) = p.await.unwrap();
        accepted += a;
        refused += r;
    }
    assert!(refused > 0, "the close came after every post; nothing was tested");
    let stored =
        app.get(&format!("/threads/{tid}"), None).await.expect(200)["comment_count"].as_i64().unwrap();
    assert_eq!(stored, accepted + 1, "stored comments differ from acknowledged ones");
}
