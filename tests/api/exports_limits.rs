//! One export a day per user (429 with Retry-After), whatever the timing of
//! the requests; `Idempotency-Key` replays the first answer; a failed export
//! does not count.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use pilcrow::schema::personal_exports as pe;

use crate::helpers::{spawn_export_app, TestApp, TestUser};

async fn post_export(app: &TestApp, user: &TestUser, key: Option<&str>) -> crate::helpers::Resp {
    let mut req = app.client.post(app.url("/me/exports")).bearer_auth(&user.token);
    if let Some(key) = key {
        req = req.header("Idempotency-Key", key);
    }
    app.raw(req).await
}

#[tokio::test]
async fn a_second_export_within_a_day_is_refused_with_when_to_ask_again() {
    let app = spawn_export_app().await;
    let user = app.register("eager").await;
    let first = app.request_export(&user).await;
    let again = post_export(&app, &user, None).await;
    again.expect_problem(429, "rate_limited");
    let wait: u64 = again.header("retry-after").expect("Retry-After").parse().unwrap();
    assert!((86_000..=86_400).contains(&wait), "{wait}");
    assert!(again.body["detail"].as_str().unwrap().contains("One export a day"), "{}", again.body);
    // Also once the first is ready.
    app.export_done(&user, &first, 30).await;
    post_export(&app, &user, None).await.expect_problem(429, "rate_limited");
    // Others are not held back.
    let other = app.register("patient").await;
    app.request_export(&other).await;

    // A failed export does not count.
    let mut db = app.db().await;
    diesel::update(pe::table.find(first.parse::<uuid::Uuid>().unwrap()))
        .set(pe::status.eq("failed"))
        .execute(&mut db)
        .await
        .unwrap();
    let retried = app.request_export(&user).await;
    assert_ne!(retried, first);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn requests_at_once_make_one_export() {
    let app = spawn_export_app().await;
    let user = app.register("hasty").await;
    let answers = futures_util::future::join_all((0..6).map(|_| post_export(&app, &user, None))).await;
    let statuses: Vec<u16> = answers.iter().map(|a| a.status).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 202).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 5, "{statuses:?}");
    let mut db = app.db().await;
    let rows: i64 = pe::table
        .filter(pe::user_id.eq(user.id.parse::<uuid::Uuid>().unwrap()))
        .count()
        .get_result(&mut db)
        .await
        .unwrap();
    assert_eq!(rows, 1);
}

#[tokio::test]
async fn a_retried_request_with_its_key_gets_the_first_answer() {
    let app = spawn_export_app().await;
    let user = app.register("careful").await;
    let first = post_export(&app, &user, Some("export-key-1")).await;
    assert_eq!(first.status, 202, "{}", first.body);
    assert!(first.header("idempotency-replayed").is_none());
    let location = first.header("location").unwrap().to_owned();
    let replay = post_export(&app, &user, Some("export-key-1")).await;
    assert_eq!(replay.status, 202, "{}", replay.body);
    assert_eq!(replay.header("idempotency-replayed"), Some("true"));
    assert_eq!(replay.header("location"), Some(location.as_str()));
    assert_eq!(replay.body["id"], first.body["id"]);
    // A new key is a new request: the daily limit answers.
    post_export(&app, &user, Some("export-key-2")).await.expect_problem(429, "rate_limited");
    // Another user's same key is theirs.
    let other = app.register("other").await;
    let theirs = post_export(&app, &other, Some("export-key-1")).await;
    assert_eq!(theirs.status, 202);
    assert_ne!(theirs.body["id"], first.body["id"]);
    let mut db = app.db().await;
    let rows: i64 = pe::table.count().get_result(&mut db).await.unwrap();
    assert_eq!(rows, 2);
}
