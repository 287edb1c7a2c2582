//! Threads, comments and the counts they move, read both through the API and
//! recomputed from the rows.

use diesel_async::{AnsiTransactionManager, AsyncPgConnection, RunQueryDsl, TransactionManager};
use serde_json::{json, Value};

use super::app::TestApp;
use super::users::TestUser;

impl TestApp {
    /// A comment on `thread_id` by its author, inserted by a transaction
    /// left open: commit it with `AnsiTransactionManager::commit_transaction`.
    /// It stands for a write that commits after a read has begun.
    pub async fn comment_left_uncommitted(&self, thread_id: &str) -> AsyncPgConnection {
        let mut writer = self.db().await;
        AnsiTransactionManager::begin_transaction(&mut writer).await.expect("begin");
        diesel::sql_query(format!(
            "INSERT INTO comments (id, thread_id, depth, sort_key, author_id, body) \
             SELECT gen_random_uuid(), '{thread_id}', 0, '', author_id, 'late' FROM threads WHERE id = '{thread_id}'"
        ))
        .execute(&mut writer)
        .await
        .expect("insert in the open transaction");
        writer
    }

    /// Starts a thread on the paragraph; returns the thread JSON.
    pub async fn start_thread(
        &self,
        session_id: &str,
        user: &TestUser,
        paragraph_id: &str,
        body: &str,
    ) -> Value {
        self.post(
            &format!("/sessions/{session_id}/threads"),
            Some(&user.token),
            json!({"paragraph_id": paragraph_id, "body": body}),
        )
        .await
        .expect(201)
    }

    /// Comments on a thread (replying to `parent` when given); returns the comment JSON.
    pub async fn comment(&self, thread_id: &str, user: &TestUser, parent: Option<&str>, body: &str) -> Value {
        self.post(
            &format!("/threads/{thread_id}/comments"),
            Some(&user.token),
            json!({"body": body, "parent_id": parent}),
        )
        .await
        .expect(201)
    }

    /// (thread_count, comment_count) of one paragraph, as /counts reports it.
    pub async fn paragraph_counts(
        &self,
        session_id: &str,
        paragraph_id: &str,
        token: Option<&str>,
    ) -> (i64, i64) {
        let counts = self.get(&format!("/sessions/{session_id}/counts"), token).await.expect(200);
        let p = counts["paragraphs"]
            .as_array()
            .expect("paragraphs")
            .iter()
            .find(|p| p["paragraph_id"] == paragraph_id)
            .expect("paragraph in counts")
            .clone();
        (
            p["thread_count"].as_i64().expect("thread_count"),
            p["comment_count"].as_i64().expect("comment_count"),
        )
    }
}

#[derive(diesel::QueryableByName, Debug, PartialEq, Eq)]
pub struct Recount {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub threads: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub comments: i64,
}

/// Counts for one paragraph recomputed from the rows by the contract's rule.
pub async fn recount(conn: &mut AsyncPgConnection, session_id: &str, paragraph_id: &str) -> Recount {
    diesel::sql_query(
        "SELECT count(DISTINCT t.id) FILTER (WHERE NOT t.hidden) AS threads,
                count(c.id) FILTER (WHERE NOT t.hidden AND NOT c.hidden AND NOT c.deleted) AS comments
           FROM threads t LEFT JOIN comments c ON c.thread_id = t.id
          WHERE t.session_id = $1::uuid AND t.paragraph_id = $2::uuid",
    )
    .bind::<diesel::sql_types::Text, _>(session_id)
    .bind::<diesel::sql_types::Text, _>(paragraph_id)
    .get_result(conn)
    .await
    .expect("recount")
}
