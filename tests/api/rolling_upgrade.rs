//! A release's migration adding and dropping columns while an instance of
//! the previous release serves: statements the schema change invalidated
//! are prepared again and the request retried, so no request gets a 5xx.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use crate::helpers::*;

/// Tables every request below reads or writes.
const TABLES: [&str; 7] =
    ["comments", "threads", "reading_sessions", "users", "groups", "paragraph_counts", "memberships"];

#[tokio::test]
async fn columns_added_and_dropped_under_load_cost_no_server_error() {
    let app = Arc::new(spawn_app().await);
    let owner = Arc::new(app.register("ines").await);
    let reading = Arc::new(app.reading(&owner, "public").await);
    let thread =
        app.start_thread(&reading.session_id, &owner, &reading.paragraph_id(0), "Before the upgrade.").await;
    let thread_id: Arc<str> = thread["id"].as_str().expect("thread id").into();

    let stop = Arc::new(AtomicBool::new(false));
    let (served, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let load: Vec<_> = (0..4)
        .map(|n| {
            let (app, owner, reading, thread_id) =
                (app.clone(), owner.clone(), reading.clone(), thread_id.clone());
            let (stop, served, failed) = (stop.clone(), served.clone(), failed.clone());
            tokio::spawn(async move {
                let mut i = 0usize;
                while !stop.load(Ordering::Relaxed) {
                    let resp = match (n + i) % 5 {
                        0 => {
                            app.post(
                                &format!("/threads/{thread_id}/comments"),
                                Some(&owner.token),
                                json!({"body": format!("Reply {n}.{i} during the upgrade.")}),
                            )
                            .await
                        }
                        1 => {
                            app.get(&format!("/sessions/{}/counts", reading.session_id), Some(&owner.token))
                                .await
                        }
                        2 => app.get(&format!("/threads/{thread_id}/comments"), None).await,
                        3 => {
                            app.get(&format!("/sessions/{}/threads", reading.session_id), Some(&owner.token))
                                .await
                        }
                        _ => app.get("/me", Some(&owner.token)).await,
                    };
                    if resp.status >= 500 {
                        failed.fetch_add(1, Ordering::Relaxed);
                        eprintln!("{} {}", resp.status, resp.body);
                    } else {
                        served.fetch_add(1, Ordering::Relaxed);
                    }
                    i += 1;
                }
            })
        })
        .collect();

    let mut db = app.db().await;
    let mut alter = async |sql: String| {
        diesel_async::RunQueryDsl::execute(diesel::sql_query(sql), &mut db).await.expect("altering a table");
    };
    for round in 0..3 {
        for table in TABLES {
            tokio::time::sleep(Duration::from_millis(60)).await;
            alter(format!("ALTER TABLE {table} ADD COLUMN upgrade_probe_{round} integer DEFAULT 7")).await;
        }
        for table in TABLES {
            tokio::time::sleep(Duration::from_millis(60)).await;
            alter(format!("ALTER TABLE {table} DROP COLUMN upgrade_probe_{round}")).await;
        }
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.store(true, Ordering::Relaxed);
    for task in load {
        task.await.expect("load task");
    }
    assert_eq!(failed.load(Ordering::Relaxed), 0, "requests failed while columns came and went");
    assert!(served.load(Ordering::Relaxed) > 50, "the load ran ({})", served.load(Ordering::Relaxed));
}
