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

use crate::db::prepared::Prepared;
use crate::error::ApiResult;

/// Counted comments by others above the mark `m.seq` in thread `m.thread_id`
/// (`$1` is the reader).
macro_rules! above_mark {
    () => {
        "(SELECT count(*) FROM comments c \
          WHERE c.thread_id = m.thread_id AND c.seq > m.seq \
            AND NOT c.hidden AND NOT c.deleted AND c.author_id <> $1)"
    };
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
    // The mark is looked up per thread (a primary-key probe), whatever the
    // planner guesses about how many marks the reader has.
    const SQL: &str = concat!(
        "WITH m AS MATERIALIZED ( \
           SELECT t.id AS thread_id, t.hidden, t.comment_count, \
                  (SELECT r.seq FROM thread_reads r \
                    WHERE r.user_id = $1 AND r.session_id = t.session_id AND r.thread_id = t.id) AS seq \
             FROM threads t WHERE t.id = ANY($2)) \
         SELECT m.thread_id AS id, \
                CASE WHEN m.hidden THEN 0 WHEN m.seq IS NULL THEN m.comment_count::bigint \
                     ELSE ",
        above_mark!(),
        " END AS unread \
           FROM m"
    );
    let rows: Vec<Unread> =
        Prepared::new(SQL).bind::<SqlUuid, _>(user_id).bind::<Array<SqlUuid>, _>(ids).load(conn).await?;
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
    const SQL: &str = concat!(
        "WITH m AS MATERIALIZED ( \
           SELECT t.paragraph_id, t.comment_count, r.thread_id, r.seq \
             FROM thread_reads r JOIN threads t ON t.id = r.thread_id \
            WHERE r.user_id = $1 AND r.session_id = $2 AND NOT t.hidden), \
         seen AS (SELECT paragraph_id, sum(comment_count - ",
        above_mark!(),
        ") AS seen FROM m GROUP BY paragraph_id) \
         SELECT pc.paragraph_id AS id, (pc.comment_count - coalesce(seen.seen, 0))::bigint AS unread \
           FROM paragraph_counts pc LEFT JOIN seen ON seen.paragraph_id = pc.paragraph_id \
          WHERE pc.session_id = $2"
    );
    let rows: Vec<Unread> = Prepared::new(SQL)
        .bind::<SqlUuid, _>(user_id)
        .bind::<SqlUuid, _>(session_id)
        .load(&mut &*conn)
        .await?;
    Ok(rows.into_iter().filter(|r| r.unread > 0).map(|r| (r.id, r.unread)).collect())
}
