//! Server-side timeouts: a request stuck behind someone else's lock answers
//! 503 `database_busy` within the configured time instead of holding a pool
//! slot for ever.

use std::time::{Duration, Instant};

use diesel_async::{RunQueryDsl, SimpleAsyncConnection};
use serde_json::json;

use crate::helpers::spawn_app_with;

#[tokio::test]
async fn a_request_waiting_on_a_held_row_lock_gets_503_database_busy_in_time() {
    let app = spawn_app_with(|s| {
        s.database.lock_timeout_ms = 400;
        s.database.statement_timeout_ms = 1500;
    })
    .await;
    let ada = app.register("ada").await;

    // Another session locks ada's row and keeps its transaction open.
    let mut holder = app.db().await;
    holder.batch_execute("BEGIN").await.expect("begin");
    diesel::sql_query(format!("SELECT 1 FROM users WHERE id = '{}' FOR UPDATE", ada.id))
        .execute(&mut holder)
        .await
        .expect("lock");

    let started = Instant::now();
    let res = app.patch("/me", Some(&ada.token), json!({"display_name": "Ada L."})).await;
    let took = started.elapsed();
    res.expect_problem(503, "database_busy");
    assert_eq!(res.header("retry-after"), Some("1"));
    assert!(took < Duration::from_millis(1400), "took {took:?}; lock_timeout is 400 ms");

    // Reads that need no lock still work meanwhile, and the write works once the lock is gone.
    app.get("/me", Some(&ada.token)).await.expect(200);
    holder.batch_execute("ROLLBACK").await.expect("rollback");
    let me = app.patch("/me", Some(&ada.token), json!({"display_name": "Ada L."})).await.expect(200);
    assert_eq!(me["display_name"], "Ada L.");
}

/// The pool's connector sends the limits as startup options; a statement
/// over its limit is cancelled by the server and recognised as a timeout.
#[tokio::test]
async fn the_connector_sets_the_limits_and_a_cancelled_statement_counts_as_a_timeout() {
    let app = spawn_app_with(|_| {}).await;
    let settings = &app.settings.database;
    let options = pilcrow::db::timeouts::startup_options(settings);
    let connector = pilcrow::db::connect::shared(&app.db_url, &options).expect("connector");
    let mut conn = connector.connect().await.expect("connect");
    let shown: Vec<Setting> = diesel::sql_query(
        "SELECT string_agg(setting, ' ' ORDER BY name) AS value FROM pg_settings
          WHERE name IN ('idle_in_transaction_session_timeout', 'lock_timeout', 'statement_timeout')",
    )
    .load(&mut conn)
    .await
    .expect("settings");
    let expected = format!(
        "{} {} {}",
        settings.idle_in_transaction_timeout_ms, settings.lock_timeout_ms, settings.statement_timeout_ms
    );
    assert_eq!(shown[0].value, expected);

    let short = pilcrow::db::connect::shared(&app.db_url, "-c statement_timeout=200").expect("connector");
    let mut conn = short.connect().await.expect("connect");
    let err = diesel::sql_query("SELECT pg_sleep(2)").execute(&mut conn).await.expect_err("cancelled");
    assert!(pilcrow::db::is_timeout(&err), "{err}");
}

#[derive(diesel::QueryableByName)]
struct Setting {
    #[diesel(sql_type = diesel::sql_types::Text)]
    value: String,
}
