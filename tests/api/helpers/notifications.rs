//! The inbox, and waiting for the notifier (a bounded poll loop, never a
//! fixed sleep).

use std::time::{Duration, Instant};

use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::Value;

use super::{spawn_app_on, spawn_app_with, TestApp, TestUser};

/// How long the notifier may take before a test gives up.
pub const NOTIFIER_WAIT: Duration = Duration::from_secs(20);

/// An app whose notifier runs every 50 ms.
pub async fn spawn_notifying_app() -> TestApp {
    spawn_app_with(|s| s.notifications.derive_interval_ms = 50).await
}

/// Another instance on the same database, with a fast notifier too.
pub async fn notifying_instance_on(app: &TestApp) -> TestApp {
    let secret = app.settings.auth.jwt_secret.clone();
    spawn_app_on(&app.db_url, move |s| {
        s.auth.jwt_secret = secret;
        s.notifications.derive_interval_ms = 50;
    })
    .await
}

#[derive(diesel::QueryableByName)]
struct Position {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    xid: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    id: i64,
}

impl TestApp {
    /// The caller's inbox (first page, or with `query` such as `?unread=true`).
    pub async fn inbox(&self, user: &TestUser, query: &str) -> Value {
        self.get(&format!("/me/notifications{query}"), Some(&user.token)).await.expect(200)
    }

    /// Waits until the notifier has derived everything in the log so far.
    pub async fn notifier_settled(&self) {
        let mut conn = self.db().await;
        let top: Position = diesel::sql_query(
            "SELECT coalesce(max(xid), 0) AS xid, coalesce(max(id), 0) AS id FROM session_events
              WHERE xid = (SELECT max(xid) FROM session_events)",
        )
        .get_result(&mut conn)
        .await
        .expect("log top");
        let started = Instant::now();
        loop {
            let at: Position =
                diesel::sql_query("SELECT xid, id FROM notifier_cursor WHERE name = 'notifications'")
                    .get_result(&mut conn)
                    .await
                    .expect("notifier cursor");
            if (at.xid, at.id) >= (top.xid, top.id) {
                return;
            }
            assert!(started.elapsed() < NOTIFIER_WAIT, "the notifier did not reach the log's top");
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Waits until `user`'s inbox satisfies `done`; returns it.
    pub async fn inbox_until(&self, user: &TestUser, done: impl Fn(&Value) -> bool) -> Value {
        let started = Instant::now();
        loop {
            let inbox = self.inbox(user, "").await;
            if done(&inbox) {
                return inbox;
            }
            assert!(started.elapsed() < NOTIFIER_WAIT, "inbox never matched: {inbox}");
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// A connection holding the notifier's cursor row: no instance derives
    /// until it is dropped (or its transaction ends).
    pub async fn hold_notifier(&self) -> AsyncPgConnection {
        let mut conn = self.db().await;
        diesel::sql_query("BEGIN").execute(&mut conn).await.expect("begin");
        diesel::sql_query("SELECT 1 FROM notifier_cursor WHERE name = 'notifications' FOR UPDATE")
            .execute(&mut conn)
            .await
            .expect("holding the cursor");
        conn
    }
}

/// The items of an inbox.
pub fn items(inbox: &Value) -> &Vec<Value> {
    inbox["items"].as_array().expect("items")
}

/// Releases a connection from [`TestApp::hold_notifier`].
pub async fn release_notifier(mut conn: AsyncPgConnection) {
    diesel::sql_query("COMMIT").execute(&mut conn).await.expect("commit");
}

impl TestApp {
    /// A reading in a new group of `owner`'s, with `members` joined as members.
    pub async fn reading_with(
        &self,
        owner: &TestUser,
        visibility: &str,
        members: &[&TestUser],
    ) -> super::Reading {
        let reading = self.reading(owner, visibility).await;
        for member in members {
            self.add_member(&reading.group_id, owner, member, "member").await;
        }
        reading
    }
}
