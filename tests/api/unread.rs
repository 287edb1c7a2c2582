//! Unread counts: per paragraph on /counts and /paragraphs, per thread on
//! thread lists, for signed-in callers only; through reads, out-of-order
//! marks, hides, deletes and the caller's own posts.

use serde_json::{json, Value};

use crate::helpers::{id, spawn_app, TestApp, TestUser};

/// `user`'s unread count of the paragraph by /counts, by /paragraphs (which
/// must agree) and by a recount from the rows by the contract's rule.
async fn unread(app: &TestApp, session: &str, para: &str, user: &TestUser) -> i64 {
    let counted = app.paragraph_entry(session, para, Some(&user.token)).await["unread_count"]
        .as_i64()
        .expect("unread_count for a signed-in caller");
    let listed = app.get(&format!("/sessions/{session}/paragraphs"), Some(&user.token)).await.expect(200);
    let listed = listed["paragraphs"].as_array().unwrap().iter().find(|p| p["paragraph_id"] == para).unwrap()
        ["unread_count"]
        .as_i64()
        .unwrap();
    assert_eq!(listed, counted, "/paragraphs and /counts differ");
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    use diesel_async::RunQueryDsl;
    let recount: Count = diesel::sql_query(
        "SELECT count(*) AS n FROM comments c JOIN threads t ON t.id = c.thread_id
           LEFT JOIN thread_reads r ON r.thread_id = t.id AND r.user_id = $3::uuid
          WHERE t.session_id = $1::uuid AND t.paragraph_id = $2::uuid AND NOT t.hidden
            AND NOT c.hidden AND NOT c.deleted AND c.author_id <> $3::uuid
            AND (r.seq IS NULL OR c.seq > r.seq)",
    )
    .bind::<diesel::sql_types::Text, _>(session)
    .bind::<diesel::sql_types::Text, _>(para)
    .bind::<diesel::sql_types::Text, _>(&user.id)
    .get_result(&mut app.db().await)
    .await
    .unwrap();
    assert_eq!(counted, recount.n, "unread_count differs from a recount");
    counted
}

/// The thread's `unread_count` in the session's thread list, as `user` sees it.
async fn thread_unread(app: &TestApp, session: &str, thread: &str, user: &TestUser) -> Value {
    let list = app.get(&format!("/sessions/{session}/threads"), Some(&user.token)).await.expect(200);
    list["items"].as_array().unwrap().iter().find(|t| t["id"] == thread).expect("thread listed")
        ["unread_count"]
        .clone()
}

#[tokio::test]
async fn unread_counts_follow_reads_posts_hides_and_deletes() {
    let app = spawn_app().await;
    let owner = app.register("owner").await;
    let (alice, bob) = (app.register("alice").await, app.register("bob").await);
    let reading = app.reading(&owner, "public").await;
    app.add_member(&reading.group_id, &owner, &alice, "member").await;
    app.add_member(&reading.group_id, &owner, &bob, "member").await;
    let (sid, para) = (&reading.session_id, reading.paragraph_id(0));

    let t = id(&app.start_thread(sid, &alice, &para, "opening").await);
    assert_eq!(unread(&app, sid, &para, &bob).await, 1, "a thread never marked: all of it");
    assert_eq!(unread(&app, sid, &para, &alice).await, 0, "her own opening comment");
    let anonymous = app.paragraph_entry(sid, &para, None).await;
    assert!(anonymous.get("unread_count").is_none(), "anonymous callers get none: {anonymous}");
    let anonymous_list = app.get(&format!("/sessions/{sid}/threads"), None).await.expect(200);
    assert!(anonymous_list["items"][0].get("unread_count").is_none());

    // Posting marks the author's thread read up to the new comment.
    let b1 = id(&app.comment(&t, &bob, None, "bob replies").await);
    assert_eq!(unread(&app, sid, &para, &bob).await, 0);
    assert_eq!(unread(&app, sid, &para, &alice).await, 1);
    assert_eq!(thread_unread(&app, sid, &t, &alice).await, 1);

    let a1 = id(&app.comment(&t, &alice, Some(&b1), "alice answers").await);
    let a2 = id(&app.comment(&t, &alice, None, "and adds").await);
    assert_eq!(unread(&app, sid, &para, &bob).await, 2);
    app.mark_read(sid, &bob, &t, &a1).await;
    assert_eq!(unread(&app, sid, &para, &bob).await, 1);
    assert_eq!(thread_unread(&app, sid, &t, &bob).await, 1);
    // Out of order: an older mark never moves it back.
    app.mark_read(sid, &bob, &t, &a2).await;
    app.mark_read(sid, &bob, &t, &a1).await;
    app.mark_read(sid, &bob, &t, &b1).await;
    assert_eq!(unread(&app, sid, &para, &bob).await, 0);
    assert_eq!(thread_unread(&app, sid, &t, &bob).await, 0);

    // Hidden and deleted comments are not unread; restored, they are again.
    let a3 = id(&app.comment(&t, &alice, None, "third").await);
    let a4 = id(&app.comment(&t, &alice, None, "fourth").await);
    assert_eq!(unread(&app, sid, &para, &bob).await, 2);
    app.post(&format!("/comments/{a3}/moderation"), Some(&owner.token), json!({"action": "hide"}))
        .await
        .expect(200);
    assert_eq!(unread(&app, sid, &para, &bob).await, 1);
    app.delete(&format!("/comments/{a4}"), Some(&alice.token)).await.expect(204);
    assert_eq!(unread(&app, sid, &para, &bob).await, 0);
    app.post(&format!("/comments/{a3}/moderation"), Some(&owner.token), json!({"action": "restore"}))
        .await
        .expect(200);
    assert_eq!(unread(&app, sid, &para, &bob).await, 1);

    // A hidden thread's comments are nobody's unread, not even a moderator's.
    let t2 = id(&app.start_thread(sid, &alice, &para, "second thread").await);
    app.comment(&t2, &alice, None, "more").await;
    assert_eq!(unread(&app, sid, &para, &bob).await, 3);
    assert_eq!(unread(&app, sid, &para, &owner).await, 7);
    app.post(&format!("/threads/{t2}/moderation"), Some(&owner.token), json!({"action": "hide"}))
        .await
        .expect(200);
    assert_eq!(unread(&app, sid, &para, &bob).await, 1);
    assert_eq!(unread(&app, sid, &para, &owner).await, 5);
    assert_eq!(thread_unread(&app, sid, &t2, &owner).await, 0);

    // Another paragraph is untouched, and reads one paragraph at a time.
    let other = reading.paragraph_id(1);
    assert_eq!(unread(&app, sid, &other, &bob).await, 0);
}

#[tokio::test]
async fn read_marks_are_checked() {
    let app = spawn_app().await;
    let owner = app.register("owner").await;
    let outsider = app.register("outsider").await;
    let member = app.register("member").await;
    let reading = app.reading(&owner, "private").await;
    app.add_member(&reading.group_id, &owner, &member, "member").await;
    let sid = &reading.session_id;
    let t = id(&app.start_thread(sid, &owner, &reading.paragraph_id(0), "one").await);
    let t2 = id(&app.start_thread(sid, &owner, &reading.paragraph_id(1), "two").await);
    let c2 = app.get(&format!("/threads/{t2}/comments"), None).await;
    assert_eq!(c2.status, 404, "private");
    let c2 =
        id(&app.get(&format!("/threads/{t2}/comments"), Some(&member.token)).await.expect(200)["items"][0]);
    let path = format!("/sessions/{sid}/reads");

    app.put(&path, None, json!({"threads": {}})).await.expect_problem(401, "missing_token");
    app.put(&path, Some(&outsider.token), json!({"threads": {}})).await.expect_problem(404, "not_found");
    app.put(&path, Some(&member.token), json!({"threads": {}})).await.expect(204);
    app.put(&path, Some(&member.token), json!({"threads": {}, "user_id": owner.id}))
        .await
        .expect_problem(422, "validation_failed");
    // A comment of another thread is refused, naming the thread.
    let res = app.put(&path, Some(&member.token), json!({"threads": {&t: &c2}})).await;
    res.expect_problem(422, "validation_failed");
    assert_eq!(res.body["errors"][0]["field"], format!("threads.{t}"));
    // A hidden thread is not the member's to mark.
    app.post(&format!("/threads/{t2}/moderation"), Some(&owner.token), json!({"action": "hide"}))
        .await
        .expect(200);
    app.put(&path, Some(&member.token), json!({"threads": {&t2: &c2}}))
        .await
        .expect_problem(422, "validation_failed");
    app.put(&path, Some(&owner.token), json!({"threads": {&t2: &c2}})).await.expect(204);
    let many: serde_json::Map<String, Value> =
        (0..501).map(|_| (uuid::Uuid::now_v7().to_string(), json!(uuid::Uuid::now_v7()))).collect();
    app.put(&path, Some(&member.token), json!({"threads": many}))
        .await
        .expect_problem(422, "validation_failed");
}

/// The commit-order pitfall: a comment's seq is drawn only once its thread's
/// row lock is held, so a comment waiting for that lock draws a higher seq
/// than the one that holds it, even when its INSERT started first. Raw SQL,
/// so no route's own locking helps.
#[tokio::test]
async fn a_comment_draws_its_seq_only_under_its_threads_lock() {
    use diesel_async::{RunQueryDsl, SimpleAsyncConnection};
    let app = spawn_app().await;
    let owner = app.register("owner").await;
    let reading = app.reading(&owner, "public").await;
    let t = id(&app.start_thread(&reading.session_id, &owner, &reading.paragraph_id(0), "opening").await);
    let insert = |body: &str| {
        format!(
            "INSERT INTO comments (id, thread_id, depth, sort_key, author_id, body) \
             VALUES (gen_random_uuid(), '{t}', 0, '', '{}', '{body}')",
            owner.id
        )
    };
    let mut holder = app.db().await;
    holder
        .batch_execute(&format!("BEGIN; SELECT 1 FROM threads WHERE id = '{t}' FOR NO KEY UPDATE"))
        .await
        .unwrap();
    let mut waiter = app.db().await;
    let late_insert = insert("started first");
    let waiting = tokio::spawn(async move { waiter.batch_execute(&late_insert).await });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(!waiting.is_finished(), "the insert did not wait for the thread's lock");
    holder.batch_execute(&insert("holds the lock")).await.unwrap();
    holder.batch_execute("COMMIT").await.unwrap();
    waiting.await.unwrap().unwrap();

    #[derive(diesel::QueryableByName)]
    struct Seq {
        #[diesel(sql_type = diesel::sql_types::Text)]
        body: String,
    }
    let order: Vec<Seq> =
        diesel::sql_query(format!("SELECT body FROM comments WHERE thread_id = '{t}' ORDER BY seq"))
            .load(&mut app.db().await)
            .await
            .unwrap();
    let order: Vec<String> = order.into_iter().map(|s| s.body).collect();
    assert_eq!(order, vec!["opening", "holds the lock", "started first"]);
}
