//! Votes on threads: who may vote, idempotence, exactness under concurrency,
//! and whose votes count (members not banned, on threads that count).

use reqwest::Method;
use serde_json::json;

use crate::helpers::Who::*;
use crate::helpers::{cast, check_cell, id, recount_votes, spawn_app, MatrixRow};

/// PUT and DELETE /threads/{id}/vote: members in good standing only.
const VOTE_ROUTE: [MatrixRow; 8] = [
    (Anonymous, (401, "missing_token"), (401, "missing_token")),
    (Outsider, (403, "not_a_member"), (404, "not_found")),
    (Member, (204, ""), (204, "")),
    (OtherMod, (403, "not_a_member"), (404, "not_found")),
    (BannedMod, (403, "banned"), (404, "not_found")),
    (Moderator, (204, ""), (204, "")),
    (Organiser, (204, ""), (204, "")),
    (Owner, (204, ""), (204, "")),
];

#[tokio::test]
async fn vote_role_matrix() {
    let app = spawn_app().await;
    for visibility in ["public", "private"] {
        let cast = cast(&app, visibility).await;
        let para = cast.reading.paragraph_id(1);
        let thread = app.ask(cast.session(), &cast.member, &para, "Why the ear?").await;
        assert_eq!((thread["kind"].clone(), thread["vote_count"].clone()), (json!("question"), json!(0)));
        let path = format!("/threads/{}/vote", id(&thread));
        for row in &VOTE_ROUTE {
            check_cell(&app, &cast, row.0, Method::PUT, &path, None, cast.pick(row)).await;
            // Twice: idempotent.
            check_cell(&app, &cast, row.0, Method::PUT, &path, None, cast.pick(row)).await;
        }
        let seen = app.get(&format!("/threads/{}", id(&thread)), Some(&cast.member.token)).await.expect(200);
        assert_eq!(seen["vote_count"], 4, "member, moderator, organiser, owner: {seen}");
        assert_eq!(seen["voted_by_me"], true);
        let outsider_view = app.get(&format!("/threads/{}", id(&thread)), cast.token(Outsider)).await;
        if visibility == "public" {
            assert_eq!(outsider_view.body["voted_by_me"], false);
            assert_eq!(outsider_view.body["vote_count"], 4);
        }
        for row in &VOTE_ROUTE {
            check_cell(&app, &cast, row.0, Method::DELETE, &path, None, cast.pick(row)).await;
            check_cell(&app, &cast, row.0, Method::DELETE, &path, None, cast.pick(row)).await;
        }
        let seen = app.get(&format!("/threads/{}", id(&thread)), Some(&cast.owner.token)).await.expect(200);
        assert_eq!((seen["vote_count"].clone(), seen["voted_by_me"].clone()), (json!(0), json!(false)));
        assert_eq!(recount_votes(&mut app.db().await, &id(&thread)).await, 0);
    }
}

#[tokio::test]
async fn thirty_six_concurrent_votes_by_twelve_members_are_twelve() {
    let app = spawn_app().await;
    let owner = app.register("owner").await;
    let reading = app.reading(&owner, "public").await;
    let thread = app.ask(&reading.session_id, &owner, &reading.paragraph_id(0), "Which reading?").await;
    let thread = id(&thread);
    let mut voters = Vec::new();
    for i in 0..12 {
        let voter = app.register(&format!("voter{i}")).await;
        app.add_member(&reading.group_id, &owner, &voter, "member").await;
        voters.push(voter);
    }
    let votes = voters.iter().cycle().take(36).map(|v| app.vote(&thread, Some(&v.token)));
    for res in futures_util::future::join_all(votes).await {
        assert_eq!(res.status, 204, "{}", res.body);
    }
    let seen = app.get(&format!("/threads/{thread}"), None).await.expect(200);
    assert_eq!(seen["vote_count"], 12);
    assert_eq!(recount_votes(&mut app.db().await, &thread).await, 12);

    // And 36 concurrent withdrawals, mixed with 12 more votes by half of them.
    let unvotes = voters.iter().cycle().take(36).map(|v| app.unvote(&thread, Some(&v.token)));
    let revotes = voters.iter().take(6).map(|v| app.vote(&thread, Some(&v.token)));
    let (a, b) = futures_util::future::join(
        futures_util::future::join_all(unvotes),
        futures_util::future::join_all(revotes),
    )
    .await;
    assert!(a.iter().chain(b.iter()).all(|r| r.status == 204));
    let seen = app.get(&format!("/threads/{thread}"), None).await.expect(200);
    let stored = recount_votes(&mut app.db().await, &thread).await;
    assert_eq!(seen["vote_count"], stored, "the counter differs from the rows");
    assert!(stored <= 6);
}

#[tokio::test]
async fn banned_and_departed_voters_do_not_count() {
    let app = spawn_app().await;
    let owner = app.register("owner").await;
    let reading = app.reading(&owner, "public").await;
    let group = &reading.group_id;
    let (alice, bob) = (app.register("alice").await, app.register("bob").await);
    app.add_member(group, &owner, &alice, "member").await;
    app.add_member(group, &owner, &bob, "member").await;
    let thread =
        app.start_thread(&reading.session_id, &owner, &reading.paragraph_id(2), "a discussion").await;
    let thread = id(&thread);
    let path = format!("/threads/{thread}");
    app.vote(&thread, Some(&alice.token)).await.expect(204);
    app.vote(&thread, Some(&bob.token)).await.expect(204);
    app.vote(&thread, Some(&owner.token)).await.expect(204);
    assert_eq!(app.get(&path, None).await.expect(200)["vote_count"], 3);

    // A ban suspends Alice's vote; lifting it brings it back.
    app.post(
        &format!("/groups/{group}/bans"),
        Some(&owner.token),
        json!({"user_id": alice.id, "reason": "spam"}),
    )
    .await
    .expect(201);
    assert_eq!(app.get(&path, None).await.expect(200)["vote_count"], 2);
    let sorted =
        app.get(&format!("/sessions/{}/threads?sort=votes", reading.session_id), None).await.expect(200);
    assert_eq!(sorted["items"][0]["vote_count"], 2);
    app.vote(&thread, Some(&alice.token)).await.expect_problem(403, "banned");
    app.delete(&format!("/groups/{group}/bans/{}", alice.id), Some(&owner.token)).await.expect(204);
    assert_eq!(app.get(&path, None).await.expect(200)["vote_count"], 3);

    // A ban that has ended by itself needs nobody to lift it.
    let past = (chrono::Utc::now() + chrono::Duration::seconds(2)).to_rfc3339();
    app.post(
        &format!("/groups/{group}/bans"),
        Some(&owner.token),
        json!({"user_id": alice.id, "reason": "short", "expires_at": past}),
    )
    .await
    .expect(201);
    assert_eq!(app.get(&path, None).await.expect(200)["vote_count"], 2);
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    assert_eq!(app.get(&path, None).await.expect(200)["vote_count"], 3);

    // Leaving the group takes Bob's vote with him.
    app.delete(&format!("/groups/{group}/members/me"), Some(&bob.token)).await.expect(204);
    assert_eq!(app.get(&path, None).await.expect(200)["vote_count"], 2);
    assert_eq!(recount_votes(&mut app.db().await, &thread).await, 2);
}

#[tokio::test]
async fn votes_only_on_threads_that_count_in_open_sessions() {
    let app = spawn_app().await;
    let owner = app.register("owner").await;
    let member = app.register("member").await;
    let reading = app.reading(&owner, "public").await;
    app.add_member(&reading.group_id, &owner, &member, "member").await;
    let sid = &reading.session_id;
    let thread = id(&app.ask(sid, &member, &reading.paragraph_id(0), "Hidden soon?").await);
    app.vote(&thread, Some(&member.token)).await.expect(204);
    app.post(&format!("/threads/{thread}/moderation"), Some(&owner.token), json!({"action": "hide"}))
        .await
        .expect(200);
    app.vote(&thread, Some(&member.token)).await.expect_problem(404, "not_found");
    app.unvote(&thread, Some(&member.token)).await.expect_problem(404, "not_found");
    app.vote(&thread, Some(&owner.token)).await.expect_problem(409, "thread_hidden");
    app.post(&format!("/threads/{thread}/moderation"), Some(&owner.token), json!({"action": "restore"}))
        .await
        .expect(200);
    let seen = app.get(&format!("/threads/{thread}"), Some(&member.token)).await.expect(200);
    assert_eq!((seen["vote_count"].clone(), seen["voted_by_me"].clone()), (json!(1), json!(true)));

    app.patch(&format!("/sessions/{sid}"), Some(&owner.token), json!({"status": "closed"})).await.expect(200);
    app.vote(&thread, Some(&owner.token)).await.expect_problem(409, "session_closed");
    app.unvote(&thread, Some(&member.token)).await.expect_problem(409, "session_closed");
    assert_eq!(app.get(&format!("/threads/{thread}"), None).await.expect(200)["vote_count"], 1);
    // Unknown threads are 404 like everything else.
    app.vote(&uuid::Uuid::now_v7().to_string(), Some(&member.token)).await.expect_problem(404, "not_found");
}

/// Votes and answers update the hot thread row (and the paragraph's counter
/// row) without touching an indexed column, so the updates are HOT.
#[tokio::test]
async fn votes_and_answers_update_rows_in_place() {
    use diesel_async::{RunQueryDsl, SimpleAsyncConnection};
    let app = spawn_app().await;
    let owner = app.register("owner").await;
    let reading = app.reading(&owner, "public").await;
    let q = id(&app.ask(&reading.session_id, &owner, &reading.paragraph_id(0), "Hot?").await);
    let answer = id(&app.comment(&q, &owner, None, "Yes.").await);
    #[derive(diesel::QueryableByName, Debug, PartialEq)]
    struct Updates {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        threads: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        threads_hot: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        counters: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        counters_hot: i64,
    }
    let mut db = app.db().await;
    db.batch_execute(&format!(
        "BEGIN; \
         INSERT INTO thread_votes (thread_id, user_id, group_id) VALUES ('{q}', '{}', '{}'); \
         INSERT INTO thread_answers (thread_id, comment_id, accepted_by) VALUES ('{q}', '{answer}', '{}')",
        owner.id, reading.group_id, owner.id
    ))
    .await
    .unwrap();
    let updates: Updates = diesel::sql_query(
        "SELECT pg_stat_get_xact_tuples_updated('threads'::regclass) AS threads, \
                pg_stat_get_xact_tuples_hot_updated('threads'::regclass) AS threads_hot, \
                pg_stat_get_xact_tuples_updated('paragraph_counts'::regclass) AS counters, \
                pg_stat_get_xact_tuples_hot_updated('paragraph_counts'::regclass) AS counters_hot",
    )
    .get_result(&mut db)
    .await
    .unwrap();
    db.batch_execute("COMMIT").await.unwrap();
    assert_eq!(updates, Updates { threads: 2, threads_hot: 2, counters: 1, counters_hot: 1 });
    let seen = app.get(&format!("/threads/{q}"), None).await.expect(200);
    assert_eq!((seen["vote_count"].clone(), seen["answered"].clone()), (json!(1), json!(true)));
}
