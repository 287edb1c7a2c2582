//! The notifier: derives notifications from the committed event log, off
//! the write path, exactly once.
//!
//! New comments tell the parent's and the thread's authors (`reply`) and
//! watchers (`watching`); changes tell one person about their own content
//! (`moderation`, `answer_accepted`, `reanchored`), from the detail the
//! triggers put on those events. Each round is one transaction: it takes the cursor row (`FOR UPDATE SKIP
//! LOCKED`, so one instance derives at a time and the others skip the
//! round), reads how far the log has settled (src/events/log.rs, the same
//! reading every live stream uses), derives every item of that range,
//! sets the authors' threads to watching and moves the cursor, all or
//! nothing. A round that fails leaves the cursor where it was; the next one
//! derives the range again, and the per-recipient, per-event delivery key
//! absorbs anything already written.
//!
//! Auto-watch is done here rather than in the write: posting keeps its cost
//! (no extra statement per post), and the level is set from the same
//! committed comments that notifications are derived from. It is set after
//! the range's items are derived, so nobody hears of comments written
//! before they joined a thread; the price is that a comment landing in the
//! same round just after someone's first one in that thread does not reach
//! them as `watching` (replies to them and to their thread still do).

use std::sync::Arc;
use std::time::Duration;

use diesel::sql_types::BigInt;
use diesel::OptionalExtension;
use diesel::QueryableByName;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use crate::error::{ApiError, ApiResult};
use crate::events::{log, EventHub};
use crate::versions::cursor::Cursor;

#[derive(QueryableByName)]
struct Mark {
    #[diesel(sql_type = BigInt)]
    xid: i64,
    #[diesel(sql_type = BigInt)]
    id: i64,
}

/// One round. Returns whether it found events (`false` also when another
/// instance holds the cursor). The cursor moves even over an empty range:
/// the settled horizon rises with every transaction, this one's included.
#[tracing::instrument(skip_all)]
pub async fn derive_once(conn: &mut AsyncPgConnection) -> ApiResult<bool> {
    conn.transaction::<_, ApiError, _>(async move |conn| {
        let Some(mark) = crate::sql!("notifier/lock_cursor.sql").get_result::<Mark>(conn).await.optional()?
        else {
            return Ok(false);
        };
        let after = Cursor { xid: mark.xid, id: mark.id };
        let (sessions, reached) = log::settled_sessions(conn, after).await?;
        if reached <= after {
            return Ok(false);
        }
        let range = |q: crate::db::prepared::Prepared<'static>| {
            q.bind::<BigInt, _>(after.xid)
                .bind::<BigInt, _>(after.id)
                .bind::<BigInt, _>(reached.xid)
                .bind::<BigInt, _>(reached.id)
        };
        range(crate::sql!("notifier/derive.sql")).execute(conn).await?;
        range(crate::sql!("notifier/derive_changes.sql")).execute(conn).await?;
        range(crate::sql!("notifier/auto_watch.sql")).execute(conn).await?;
        crate::sql!("notifier/advance.sql")
            .bind::<BigInt, _>(reached.xid)
            .bind::<BigInt, _>(reached.id)
            .execute(conn)
            .await?;
        Ok(!sessions.is_empty())
    })
    .await
}

/// Runs for the life of the process: a round every `every`, and at once
/// again while rounds find events.
pub async fn run(hub: Arc<EventHub>, every: Duration) {
    let mut closing = hub.closing();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = closing.changed() => return,
        }
        let Ok(mut conn) = crate::db::pool::conn(&hub.pool).await else { continue };
        loop {
            match derive_once(&mut conn).await {
                Ok(true) => {
                    // Items may have been written: the inbox pump reads
                    // them now, and announces them to the other instances.
                    hub.touch();
                    hub.ring_inbox();
                    continue;
                }
                Ok(false) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "deriving notifications");
                    break;
                }
            }
        }
    }
}
