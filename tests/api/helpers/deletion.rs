//! Deleting accounts: the request, waiting for what follows it, and the
//! rows a deleted user may still have.

use std::time::{Duration, Instant};

use diesel::sql_types::{BigInt, Text};
use diesel_async::RunQueryDsl;
use reqwest::Method;
use serde_json::json;

use super::app::TestApp;
use super::client::Resp;
use super::users::TestUser;

/// The deletion the contract allows a minute for.
pub const DELETION_WAIT: Duration = Duration::from_secs(60);

/// Tables holding a user's personal rows, with the column naming them:
/// after a deletion none of them names the user.
pub const PERSONAL_ROWS: &[(&str, &str)] = &[
    ("thread_reads", "user_id"),
    ("paragraph_reads", "user_id"),
    ("watches", "user_id"),
    ("notifications", "recipient_id"),
    ("inbox_events", "recipient_id"),
    ("push_subscriptions", "user_id"),
    ("notification_settings", "user_id"),
    ("email_verifications", "user_id"),
    ("password_resets", "user_id"),
    ("event_tickets", "user_id"),
    ("refresh_tokens", "user_id"),
    ("idempotency_keys", "user_id"),
    ("blocks", "blocker_id"),
    ("blocks", "blocked_id"),
    ("comment_mentions", "user_id"),
    ("memberships", "user_id"),
    ("calendar_feeds", "user_id"),
    ("session_briefings", "user_id"),
    ("personal_exports", "user_id"),
];

#[derive(diesel::QueryableByName)]
struct N {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

impl TestApp {
    /// `DELETE /me` with the user's password.
    pub async fn delete_account(&self, user: &TestUser, content: &str) -> Resp {
        let body = json!({"password": user.password, "content": content});
        self.call(Method::DELETE, "/me", Some(&user.token), Some(body)).await
    }

    /// Waits until the deletion of `user_id` is done (panics after a minute).
    pub async fn deletion_done(&self, user_id: &str) {
        let started = Instant::now();
        while !self.deletion_finished(user_id).await {
            assert!(
                started.elapsed() < DELETION_WAIT,
                "the deletion of {user_id} did not finish in a minute"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn deletion_finished(&self, user_id: &str) -> bool {
        self.count(
            "SELECT count(*) AS n FROM account_deletions WHERE user_id = $1::uuid AND done_at IS NOT NULL",
            user_id,
        )
        .await
            == 1
    }

    /// `sql` (selecting a bigint `n`, with `$1` a text) for `arg`.
    pub async fn count(&self, sql: &str, arg: &str) -> i64 {
        let row: N = diesel::sql_query(sql)
            .bind::<Text, _>(arg)
            .get_result(&mut self.db().await)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        row.n
    }

    /// The personal rows that still name `user_id`, by table.
    pub async fn personal_rows(&self, user_id: &str) -> Vec<(String, i64)> {
        let mut found = Vec::new();
        for (table, column) in PERSONAL_ROWS {
            let n = self
                .count(&format!("SELECT count(*) AS n FROM {table} WHERE {column} = $1::uuid"), user_id)
                .await;
            if n > 0 {
                found.push((format!("{table}.{column}"), n));
            }
        }
        found
    }
}
