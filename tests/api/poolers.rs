//! The server behind PgBouncer: a pooler it cannot work through is refused
//! at start in one sentence, and a session pooler with `direct_url` serves
//! the API (migrations and LISTEN on the direct URL).

use pilcrow::startup::Application;
use serde_json::json;

use crate::helpers::{fresh_database, spawn_app_on, test_settings, PgBouncer, PoolMode, SOON};

/// The error `Application::build` gives for these URLs, or `None` when it starts.
async fn start_error(url: String, direct_url: Option<String>) -> Option<String> {
    let mut settings = test_settings();
    settings.database.url = Some(url.into());
    settings.database.direct_url = direct_url.map(Into::into);
    match Application::build(settings).await {
        Ok(_) => None,
        Err(e) => Some(format!("{e:#}")),
    }
}

#[track_caller]
fn one_sentence(message: &str, says: &[&str]) {
    assert!(!message.contains('\n'), "more than one line: {message}");
    for words in says {
        assert!(message.contains(words), "{message:?} does not say {words:?}");
    }
}

#[tokio::test]
async fn a_transaction_pooler_without_prepared_statements_is_refused_in_words() {
    let Some(bouncer) = PgBouncer::start(PoolMode::Transaction, true, "transaction pooler refusal") else {
        return;
    };
    let db = fresh_database().await;
    let error = start_error(bouncer.url_for(&db), Some(db.clone())).await.expect("the start is refused");
    one_sentence(
        &error,
        &["database.url", "transaction pooler", "prepared statements", "pool_mode = session"],
    );
}

#[tokio::test]
async fn a_transaction_pooler_as_the_direct_url_is_refused_in_words() {
    let Some(bouncer) = PgBouncer::start(PoolMode::Transaction, true, "direct_url refusal") else { return };
    let db = fresh_database().await;
    let error = start_error(bouncer.url_for(&db), None).await.expect("the start is refused");
    one_sentence(&error, &["database.direct_url", "transaction pooler", "LISTEN"]);
    let error = start_error(db.clone(), Some(bouncer.url_for(&db))).await.expect("the start is refused");
    one_sentence(&error, &["database.direct_url", "transaction pooler"]);
}

#[tokio::test]
async fn a_pooler_that_refuses_the_timeouts_parameter_is_explained() {
    let Some(bouncer) = PgBouncer::start(PoolMode::Session, false, "startup parameter refusal") else {
        return;
    };
    let db = fresh_database().await;
    let error = start_error(bouncer.url_for(&db), Some(db.clone())).await.expect("the start is refused");
    one_sentence(&error, &["ignore_startup_parameters = options", "ALTER ROLE"]);
}

#[tokio::test]
async fn a_session_pooler_with_a_direct_url_serves_reads_writes_and_live_events() {
    let Some(bouncer) = PgBouncer::start(PoolMode::Session, true, "session pooler") else { return };
    let db = fresh_database().await;
    let pooled = bouncer.url_for(&db);
    let direct = db.clone();
    let app = spawn_app_on(&db, move |s| {
        s.database.direct_url = Some(direct.into());
        s.database.url = Some(pooled.into());
    })
    .await;
    let owner = app.register("pooled-owner").await;
    let reading = app.reading(&owner, "public").await;
    let mut stream = app.subscribe(&reading.session_id, None).await;
    let thread =
        app.start_thread(&reading.session_id, &owner, &reading.paragraph_id(0), "Through the pooler").await;
    let thread_id = thread["id"].as_str().expect("thread id");
    app.post(&format!("/threads/{thread_id}/comments"), Some(&owner.token), json!({"body": "pooled"}))
        .await
        .expect(201);
    let counts = app.get(&format!("/sessions/{}/counts", reading.session_id), None).await.expect(200);
    assert_eq!(counts["paragraphs"][0]["comment_count"], 2);
    let event =
        stream.until(SOON, |e| e.event == "comment.created" && e.data["comment"]["body"] == "pooled").await;
    assert_eq!(event.data["comment"]["thread_id"], thread_id);
}
