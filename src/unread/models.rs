//! Counting a reader's unread comments, per thread and per paragraph, by
//! arithmetic over numbers the triggers keep ("UNREAD BY ARITHMETIC" in
//! src/db/replaceable/triggers.sql): a thread's unread count is its counted
//! comments less its mark's `below`, a paragraph's is its counted comments
//! less the reader's `seen` there. Neither visits a comment, so the cost does
//! not grow with the threads the reader has marked or the comments in them.

use std::collections::HashMap;

use diesel::sql_types::{Array, BigInt, Uuid as SqlUuid};
use diesel::{QueryResult, QueryableByName};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::error::ApiResult;

#[derive(QueryableByName)]
struct Seen {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = BigInt)]
    seen: i64,
}

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

/// `user_id`'s seen counts per paragraph of the session (paragraphs with
/// none are absent): a paragraph's unread count is its counted comments
/// less this. Takes the connection shared, so it can be pipelined with the
/// read it belongs to.
#[tracing::instrument(skip_all)]
pub async fn paragraph_seen(
    conn: &AsyncPgConnection,
    user_id: Uuid,
    session_id: Uuid,
) -> QueryResult<HashMap<Uuid, i64>> {
    let rows: Vec<Seen> = crate::sql!("models/paragraphs.sql")
        .bind::<SqlUuid, _>(user_id)
        .bind::<SqlUuid, _>(session_id)
        .load(&mut &*conn)
        .await?;
    Ok(rows.into_iter().map(|r| (r.id, r.seen)).collect())
}
