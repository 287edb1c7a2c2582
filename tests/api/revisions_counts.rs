//! Threads changing paragraph carry their counts (the `threads_counted_move`
//! trigger), and a moderator re-attaching an orphan moves them back, logged.

use diesel_async::SimpleAsyncConnection;
use serde_json::json;

use crate::helpers::{assert_counts_exact, fixture_blocks, id, modlog_rows, span_of, spawn_app};

#[tokio::test]
async fn a_thread_changing_paragraph_moves_exactly_its_counts() {
    let app = spawn_app().await;
    let owner = app.register("organiser").await;
    let reading = app.reading(&owner, "public").await;
    let sid = reading.session_id.as_str();
    let (p0, p1) = (reading.paragraph_id(0), reading.paragraph_id(1));
    let moving = app.start_thread(sid, &owner, &p0, "moving").await;
    let hidden = app.start_thread(sid, &owner, &p0, "hidden").await;
    app.comment(&id(&moving), &owner, None, "one").await;
    app.comment(&id(&hidden), &owner, None, "two").await;
    app.post(&format!("/threads/{}/moderation", id(&hidden)), Some(&owner.token), json!({"action": "hide"}))
        .await
        .expect(200);
    assert_eq!(app.paragraph_counts(sid, &p0, None).await, (1, 2));

    let mut db = app.db().await;
    for thread in [id(&moving), id(&hidden)] {
        db.batch_execute(&format!("UPDATE threads SET paragraph_id = '{p1}' WHERE id = '{thread}'"))
            .await
            .unwrap();
    }
    assert_eq!(app.paragraph_counts(sid, &p0, None).await, (0, 0));
    assert_eq!(app.paragraph_counts(sid, &p1, None).await, (1, 2), "the hidden thread moved nothing");
    assert_counts_exact(&app, sid, &owner.token).await;
    // Restoring it on its new paragraph counts it there.
    app.post(
        &format!("/threads/{}/moderation", id(&hidden)),
        Some(&owner.token),
        json!({"action": "restore"}),
    )
    .await
    .expect(200);
    assert_eq!(app.paragraph_counts(sid, &p1, None).await, (2, 4));
    // Moving and hiding in one statement would count twice: refused.
    let err = db
        .batch_execute(&format!(
            "UPDATE threads SET paragraph_id = '{p0}', hidden = true WHERE id = '{}'",
            id(&moving)
        ))
        .await
        .expect_err("moving and hiding at once");
    assert!(err.to_string().contains("cannot change in one update"), "{err}");
    assert_counts_exact(&app, sid, &owner.token).await;
}

#[tokio::test]
async fn a_moderator_reattaches_an_orphan_and_the_log_says_so() {
    let app = spawn_app().await;
    let owner = app.register("organiser").await;
    let reader = app.register("reader").await;
    let reading = app.reading(&owner, "public").await;
    app.add_member(&reading.group_id, &owner, &reader, "member").await;
    let (sid, essay_id) = (reading.session_id.as_str(), reading.essay["id"].as_str().unwrap());
    let text = reading.paragraph_text(13);
    let thread = app.start_quoted(sid, &reader, &reading.paragraph_id(13), &text, "never find out").await;
    app.comment(&id(&thread), &owner, None, "agreed").await;
    let mut blocks = fixture_blocks();
    blocks.remove(13);
    app.revise(essay_id, &owner, &blocks, json!({})).await.expect(201);
    let orphan = app.get(&format!("/threads/{}", id(&thread)), None).await.expect(200);
    assert_eq!(orphan["anchor"]["status"], "orphaned");
    let counts = app.get(&format!("/sessions/{sid}/counts"), None).await.expect(200);
    assert_eq!(counts["orphaned"], json!({"thread_count": 1, "comment_count": 2}));

    let target = reading.paragraph_id(12);
    let target_text = reading.paragraph_text(12);
    let (start, end) = span_of(&target_text, "the slowness is the point");
    let path = format!("/threads/{}/anchor", id(&thread));
    let body = json!({"paragraph_id": target, "quote": {"exact": "the slowness is the point", "start": start, "end": end}});
    app.post(&path, Some(&reader.token), body.clone()).await.expect_problem(403, "insufficient_role");
    let bad = json!({"paragraph_id": target, "quote": {"exact": "nope", "start": start, "end": end}});
    app.post(&path, Some(&owner.token), bad).await.expect_problem(422, "validation_failed");
    let retired = json!({"paragraph_id": reading.paragraph_id(13)});
    app.post(&path, Some(&owner.token), retired).await.expect_problem(422, "validation_failed");

    let moved = app.post(&path, Some(&owner.token), body).await.expect(200);
    assert_eq!(moved["paragraph_id"], target.as_str());
    assert_eq!(moved["anchor"]["status"], "anchored");
    assert_eq!(moved["anchor"]["revision"], 2);
    assert_eq!(moved["anchor"]["original_quote"]["exact"], "never find out");
    assert_eq!(moved["quote"]["exact"], "the slowness is the point");
    let (prefix, suffix) =
        (moved["anchor"]["prefix"].as_str().unwrap(), moved["anchor"]["suffix"].as_str().unwrap());
    assert!(target_text.contains(&format!("{prefix}the slowness is the point{suffix}")));
    assert_eq!(prefix.chars().count(), 32);
    assert_eq!(app.paragraph_counts(sid, &target, None).await, (1, 2));
    let counts = app.get(&format!("/sessions/{sid}/counts"), None).await.expect(200);
    assert_eq!(counts["orphaned"], json!({"thread_count": 0, "comment_count": 0}));
    assert_counts_exact(&app, sid, &owner.token).await;
    assert!(modlog_rows(&app, &reading.group_id).await.contains(&(
        "reanchor".to_owned(),
        "thread".to_owned(),
        id(&thread)
    )));
}
