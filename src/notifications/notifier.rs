//! The notifier: derives notifications from the committed event log, off
//! the write path, exactly once.
//!
//! New comments tell the parent's and the thread's authors (`reply`), the
//! people they name (`mention`, decided when written) and watchers
//! (`watching`); changes tell one person about their own content
//! (`moderation`, `answer_accepted`, `reanchored`), from the detail the
//! triggers put on those events. A round begins only when a settled event
//! waits after the cursor (read without taking it, so an idle notifier
//! writes nothing). Each round is one transaction: it takes
//! the cursor row (`FOR UPDATE SKIP LOCKED`, so one instance derives at a
//! time and the others skip the round), takes the next settled events of the
//! log (below the horizon, as every live stream reads it; at most a bounded
//! number, so a round stays short however many are to be told), derives
//! every item of that range, sets the authors' threads to watching and
//! moves the cursor, all or nothing. A round that fails leaves the cursor
//! where it was, and the next one takes the range again, in fewer events.
//! Each item also records the log positions it has taken in (`comments_*`,
//! `changes_*`), so deriving a range twice adds nothing the second time.
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
use crate::events::EventHub;
use crate::versions::cursor::{self, Cursor};

/// Events one round derives at most. A round's cost is mostly the items it
/// writes (one per recipient and thread, however many comments), so under
/// load larger rounds keep up better; it is one transaction, and must end
/// within its statement timeout (src/notifications/notifier/round_settings.sql).
const MAX_EVENTS_PER_ROUND: i64 = 5000;

#[derive(QueryableByName)]
struct Mark {
    #[diesel(sql_type = BigInt)]
    xid: i64,
    #[diesel(sql_type = BigInt)]
    id: i64,
}

#[derive(QueryableByName)]
struct Pending {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    pending: bool,
}

/// One round over at most `max_events` events of the log. Returns whether
/// it found events (`false` also when another instance holds the cursor).
/// A round begins only when a settled event waits after the cursor, so an
/// idle notifier writes nothing; once begun, the cursor moves up to the
/// horizon, over the empty stretch above the last event too.
#[tracing::instrument(skip_all)]
pub async fn derive_once(conn: &mut AsyncPgConnection, max_events: i64) -> ApiResult<bool> {
    let waiting = crate::sql!("notifier/pending.sql").get_result::<Pending>(conn).await.optional()?;
    if !waiting.is_some_and(|w| w.pending) {
        return Ok(false);
    }
    conn.transaction::<_, ApiError, _>(async move |conn| {
        let Some(mark) = crate::sql!("notifier/lock_cursor.sql").get_result::<Mark>(conn).await.optional()?
        else {
            return Ok(false);
        };
        crate::sql!("notifier/round_settings.sql").execute(conn).await?;
        let after = Cursor { xid: mark.xid, id: mark.id };
        let xmin = cursor::horizon(conn).await?;
        let events: Vec<Mark> = crate::sql!("notifier/range.sql")
            .bind::<BigInt, _>(after.xid)
            .bind::<BigInt, _>(after.id)
            .bind::<BigInt, _>(xmin)
            .bind::<BigInt, _>(max_events.max(1))
            .load(conn)
            .await?;
        let last = events.last().map_or(after, |m| Cursor { xid: m.xid, id: m.id });
        // A full page ends at its last event; otherwise everything below
        // the horizon has been seen.
        let reached =
            if (events.len() as i64) < max_events.max(1) { last.max(Cursor::at_horizon(xmin)) } else { last };
        if reached <= after {
            return Ok(false);
        }
        let range = |q: crate::db::prepared::Prepared<'static>| {
            q.bind::<BigInt, _>(after.xid)
                .bind::<BigInt, _>(after.id)
                .bind::<BigInt, _>(reached.xid)
                .bind::<BigInt, _>(reached.id)
        };
        if !events.is_empty() {
            range(crate::sql!("notifier/derive.sql")).execute(conn).await?;
            range(crate::sql!("notifier/derive_changes.sql")).execute(conn).await?;
            range(crate::sql!("notifier/auto_watch.sql")).execute(conn).await?;
        }
        crate::sql!("notifier/advance.sql")
            .bind::<BigInt, _>(reached.xid)
            .bind::<BigInt, _>(reached.id)
            .execute(conn)
            .await?;
        Ok(!events.is_empty())
    })
    .await
}

/// Runs for the life of the process: a round every `every`, and at once
/// again while rounds find events.
pub async fn run(hub: Arc<EventHub>, every: Duration, busy_share: f64) {
    let mut closing = hub.closing();
    // Events per round: halved after a round that failed (a range too
    // large for the statement timeout would otherwise fail for ever), grown
    // back after rounds that succeed.
    let mut batch = MAX_EVENTS_PER_ROUND;
    // While requests write here, the notifier takes at most `busy_share` of
    // the time (a round of d is followed by a pause of d/share - d): it
    // falls behind under a burst and catches up after, rather than taking
    // the cores the writers need. Posting is not slowed by how many are told.
    let pause_per_round = (1.0 / busy_share.clamp(0.01, 1.0)) - 1.0;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = closing.changed() => return,
        }
        let Ok(mut conn) = crate::db::pool::conn(&hub.pool).await else { continue };
        loop {
            let began = std::time::Instant::now();
            match derive_once(&mut conn, batch).await {
                Ok(found) => {
                    batch = (batch * 2).min(MAX_EVENTS_PER_ROUND);
                    if !found {
                        break;
                    }
                    // Items may have been written: the inbox pump reads
                    // them now, and announces them to the other instances.
                    hub.inbox_written();
                    if hub.wrote_within(Duration::from_secs(1)) && pause_per_round > 0.0 {
                        let pause = began.elapsed().mul_f64(pause_per_round);
                        tokio::select! {
                            _ = tokio::time::sleep(pause) => {}
                            _ = closing.changed() => return,
                        }
                    }
                }
                Err(e) => {
                    batch = (batch / 2).max(1);
                    tracing::warn!(error = %e, events = batch, "deriving notifications; next round takes fewer events");
                    break;
                }
            }
        }
    }
}
