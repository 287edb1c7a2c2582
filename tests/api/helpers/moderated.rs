//! What moderation left behind, read every way a client or the database can:
//! counts by /counts, /paragraphs and a recount, lists, and the raw row.

use serde_json::Value;

use super::app::TestApp;
use super::roles::{id, Cast};
use super::threads::{recount, Recount};

/// (thread_count, comment_count) by /counts, by /paragraphs and by a recount
/// from the rows: all three must agree.
pub async fn all_counts(app: &TestApp, cast: &Cast, para: &str, token: Option<&str>) -> (i64, i64) {
    let counts = app.paragraph_counts(cast.session(), para, token).await;
    let paragraphs = app.get(&format!("/sessions/{}/paragraphs", cast.session()), token).await.expect(200);
    let p = paragraphs["paragraphs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["paragraph_id"] == para)
        .expect("paragraph")
        .clone();
    assert_eq!((p["thread_count"].as_i64().unwrap(), p["comment_count"].as_i64().unwrap()), counts);
    let Recount { threads, comments } = recount(&mut app.db().await, cast.session(), para).await;
    assert_eq!((threads, comments), counts, "counters differ from a recount");
    counts
}

pub async fn thread_ids(app: &TestApp, cast: &Cast, token: Option<&str>, para: &str) -> Vec<String> {
    let list = app
        .get(&format!("/sessions/{}/threads?paragraph_id={para}", cast.session()), token)
        .await
        .expect(200);
    list["items"].as_array().unwrap().iter().map(id).collect()
}

pub async fn comments_of(app: &TestApp, thread: &str, token: Option<&str>) -> Vec<Value> {
    let list = app.get(&format!("/threads/{thread}/comments"), token).await.expect(200);
    list["items"].as_array().unwrap().clone()
}

/// (hidden, hidden_by, hidden_reason) of a thread or comment row.
pub async fn hidden_state(
    app: &TestApp,
    table: &str,
    row_id: &str,
) -> (bool, Option<String>, Option<String>) {
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        hidden: bool,
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
        hidden_by: Option<String>,
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
        hidden_reason: Option<String>,
    }
    use diesel_async::RunQueryDsl;
    let row: Row = diesel::sql_query(format!(
        "SELECT hidden, hidden_by::text AS hidden_by, hidden_reason FROM {table} WHERE id = $1::uuid"
    ))
    .bind::<diesel::sql_types::Text, _>(row_id)
    .get_result(&mut app.db().await)
    .await
    .expect("hidden state");
    (row.hidden, row.hidden_by, row.hidden_reason)
}
