//! Counts, paragraphs and comment pages are read over a connection the
//! worker's reads share, their statements pipelined (src/db/shared.rs).
//! Each read still gets its own answer, decided for its own caller, and a
//! shared connection the database drops is replaced by the next read.

use std::time::{Duration, Instant};

use futures_util::future::join_all;

use crate::helpers::{cast, spawn_app_with, TestApp};

fn one_lane(s: &mut pilcrow::config::Settings) {
    // One worker with two pooled connections: one lane for every read.
    s.server.workers = 1;
    s.database.pool_size = 2;
}

async fn comment_counts(app: &TestApp, session: &str, token: Option<&str>) -> (u16, i64) {
    let res = app.get(&format!("/sessions/{session}/counts"), token).await;
    let total = res.body["paragraphs"]
        .as_array()
        .map_or(0, |ps| ps.iter().map(|p| p["comment_count"].as_i64().unwrap_or(0)).sum::<i64>());
    (res.status, total)
}

#[tokio::test]
async fn reads_sent_together_each_get_their_own_callers_answer() {
    let app = spawn_app_with(one_lane).await;
    let open = cast(&app, "public").await;
    let closed = cast(&app, "private").await;
    let para = open.reading.paragraph_id(0);
    let thread =
        crate::helpers::id(&app.start_thread(&open.reading.session_id, &open.member, &para, "Two").await);
    app.comment(&thread, &open.member, None, "one more").await;
    let cpara = closed.reading.paragraph_id(0);
    let cthread = crate::helpers::id(
        &app.start_thread(&closed.reading.session_id, &closed.member, &cpara, "Hidden").await,
    );

    let app = &app;
    let mut reads = Vec::new();
    for n in 0..60 {
        let (session, token, expected) = match n % 3 {
            0 => (&open.reading.session_id, Some(open.outsider.token.as_str()), (200, 2)),
            1 => (&closed.reading.session_id, Some(closed.outsider.token.as_str()), (404, 0)),
            _ => (&closed.reading.session_id, Some(closed.member.token.as_str()), (200, 1)),
        };
        reads.push(async move { (comment_counts(app, session, token).await, expected) });
    }
    for (got, expected) in join_all(reads).await {
        assert_eq!(got, expected);
    }
    let pages = (0..30).map(|n| {
        let (t, token, status) = if n % 2 == 0 {
            (&thread, open.outsider.token.as_str(), 200)
        } else {
            (&cthread, closed.outsider.token.as_str(), 404)
        };
        async move { (app.get(&format!("/threads/{t}/comments"), Some(token)).await.status, status) }
    });
    for (got, expected) in join_all(pages).await {
        assert_eq!(got, expected);
    }
}

#[tokio::test]
async fn a_shared_connection_the_database_drops_is_opened_again() {
    use diesel_async::RunQueryDsl;

    let app = spawn_app_with(one_lane).await;
    let open = cast(&app, "public").await;
    let para = open.reading.paragraph_id(0);
    app.start_thread(&open.reading.session_id, &open.member, &para, "Before the drop").await;
    assert_eq!(comment_counts(&app, &open.reading.session_id, None).await, (200, 1));

    let mut db = app.db().await;
    diesel::sql_query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
          WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .execute(&mut db)
    .await
    .unwrap();

    // The read that meets the dropped connection may get 503 (never a 500);
    // the lane is open again by the next.
    let start = Instant::now();
    loop {
        let (status, total) = comment_counts(&app, &open.reading.session_id, None).await;
        if status == 200 {
            assert_eq!(total, 1);
            break;
        }
        assert_eq!(status, 503, "only unavailability while the lane reopens");
        assert!(start.elapsed() < Duration::from_secs(5), "the lane never came back");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
