//! Counting a reader's unread comments, per thread and per paragraph.
//!
//! Only the threads the reader has marked are visited: a thread never marked
//! has all its counted comments unread (and none of the reader's own: posting
//! marks), which `threads.comment_count` and, per paragraph,
//! `paragraph_counts.comment_count` already hold. So a paragraph's unread
//! count is its comment count minus, over its marked threads that count, the
//! comments at or below the mark (or the reader's own). A marked thread costs
//! an index range over its comments above the mark (`comments_unread_idx`).
//! One statement each, so one snapshot: the numbers are exact together.

use std::collections::HashMap;

use diesel::sql_types::{Array, BigInt, Uuid as SqlUuid};
use diesel::{QueryResult, QueryableByName};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::error::ApiResult;

#[derive(QueryableByName)]
struct Unread {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = BigInt)]
    unread: i64,
}

/// `user_id`'s unread comments in each of the threads `ids`; a hidden thread
/// has none that count, so 0 (the thread view's `unread_count`).
#[tracing::instrument(skip_all, fields(threads = ids.len()))]
pub async fn thread_unread(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    ids: &[Uuid],
) -> ApiResult<HashMap<Uuid, i64>> {
    let rows: Vec<Unread> = crate::sql!("models/threads.sql")
        .bind::<SqlUuid, _>(user_id)
        .bind::<Array<SqlUuid>, _>(ids)
        .load(conn)
        .await?;
    Ok(rows.into_iter().map(|r| (r.id, r.unread)).collect())
}

/// `user_id`'s unread comments per paragraph of the session (paragraphs
/// with none are absent), over the threads that count. Takes the connection
/// shared, so it can be pipelined with the read it belongs to.
#[tracing::instrument(skip_all)]
pub async fn paragraph_unread(
    conn: &AsyncPgConnection,
    user_id: Uuid,
    session_id: Uuid,
) -> QueryResult<HashMap<Uuid, i64>> {
    let rows: Vec<Unread> = crate::sql!("models/paragraphs.sql")
        .bind::<SqlUuid, _>(user_id)
        .bind::<SqlUuid, _>(session_id)
        .load(&mut &*conn)
        .await?;
    Ok(rows.into_iter().filter(|r| r.unread > 0).map(|r| (r.id, r.unread)).collect())
}
