//! Counting a reader's unread comments, per thread and per paragraph.
//!
//! Cost: one row per thread of the session (the reader's marks come from
//! one index range), plus an index range over `(thread_id, seq)` for the
//! comments above each mark, i.e. proportional to what is unread in threads
//! the reader has marked. A thread never marked costs nothing more: all of
//! its counted comments are unread, and `threads.comment_count` says how many.

use std::collections::HashMap;

use diesel::sql_types::{Array, BigInt, Uuid as SqlUuid};
use diesel::QueryableByName;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::error::ApiResult;
use crate::threads::models::ThreadView;

/// The unread comments of thread `t` for reader `$1`, given their mark `r`.
/// Only valid where `t` counts (the caller filters or zeroes hidden threads).
const UNREAD: &str = "CASE WHEN r.seq IS NULL THEN t.comment_count::bigint \
     ELSE (SELECT count(*) FROM comments c \
            WHERE c.thread_id = t.id AND c.seq > r.seq \
              AND NOT c.hidden AND NOT c.deleted AND c.author_id <> $1) END";

#[derive(QueryableByName)]
struct Unread {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = BigInt)]
    unread: i64,
}

/// Sets `unread_count` on each thread for `user_id`; a hidden thread has none
/// that count, so 0.
#[tracing::instrument(skip_all, fields(threads = views.len()))]
pub async fn fill_threads(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    views: &mut [ThreadView],
) -> ApiResult<()> {
    if views.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = views.iter().map(|v| v.id).collect();
    let rows: Vec<Unread> = diesel::sql_query(format!(
        "SELECT t.id, CASE WHEN t.hidden THEN 0 ELSE {UNREAD} END AS unread \
           FROM threads t \
           LEFT JOIN thread_reads r \
             ON r.user_id = $1 AND r.session_id = t.session_id AND r.thread_id = t.id \
          WHERE t.id = ANY($2)"
    ))
    .bind::<SqlUuid, _>(user_id)
    .bind::<Array<SqlUuid>, _>(&ids)
    .load(conn)
    .await?;
    let unread: HashMap<Uuid, i64> = rows.into_iter().map(|r| (r.id, r.unread)).collect();
    for view in views {
        view.unread_count = Some(unread.get(&view.id).copied().unwrap_or(0));
    }
    Ok(())
}

/// `user_id`'s unread comments per paragraph of the session (paragraphs
/// with none are absent), over the threads that count.
#[tracing::instrument(skip_all)]
pub async fn paragraph_unread(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    session_id: Uuid,
) -> ApiResult<HashMap<Uuid, i64>> {
    let rows: Vec<Unread> = diesel::sql_query(format!(
        "SELECT t.paragraph_id AS id, sum({UNREAD})::bigint AS unread \
           FROM threads t \
           LEFT JOIN thread_reads r \
             ON r.user_id = $1 AND r.session_id = $2 AND r.thread_id = t.id \
          WHERE t.session_id = $2 AND NOT t.hidden \
          GROUP BY t.paragraph_id"
    ))
    .bind::<SqlUuid, _>(user_id)
    .bind::<SqlUuid, _>(session_id)
    .load(conn)
    .await?;
    Ok(rows.into_iter().filter(|r| r.unread > 0).map(|r| (r.id, r.unread)).collect())
}
