//! The inbox, live: `GET /me/notifications/events` delivers `notification`
//! (the item as the inbox would show it now), `notification.read {ids}` and
//! `export.ready {id}` (a personal export can be downloaded) from the inbox log (`inbox_events`), the way session events are
//! delivered from theirs (src/events/): in `(xid, id)` order below the
//! settled horizon, so nothing is skipped, resumable from any event's id,
//! `resync` when the cursor is older than retention (which src/events/log.rs
//! applies to both logs alike).
//!
//! One pump per instance reads the log's new rows for every recipient at
//! once (one statement per wake, however many streams are open) and hands
//! each open stream its own rows; a stream that falls behind, or joins
//! between two reads, reads its own rows from the database. The pump wakes
//! when this instance derived notifications or wrote, when another instance
//! says so (`NOTIFY` with the payload `inbox`, sent by whichever instance
//! read rows after writing), and at least every `events.fallback_poll_ms`.
//! It reads only while someone here listens or this instance writes.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use actix_web::web::Bytes;
use diesel::sql_types::{Array, BigInt, Text, Uuid as SqlUuid};
use diesel::QueryableByName;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use tokio::sync::broadcast;
use uuid::Uuid;

use crate::auth::Caller;
use crate::db::pool;
use crate::error::{ApiError, ApiResult};
use crate::events::body::{Gauge, LiveBody, Out};
use crate::events::hub::StreamPermit;
use crate::events::stream::control as frame;
use crate::events::{notify, EventHub};
use crate::versions::cursor::{self, Cursor};
use crate::views::notification;

/// Rows per read, for the pump and for one reader's replay.
const PAGE: i64 = 500;

/// After a local write the pump follows the log this long at the notify
/// interval, as the session notifier does.
const AFTER_WRITE: Duration = Duration::from_secs(5);

/// Batches a stream may be behind before it reads the database itself.
const CAPACITY: usize = 16;

#[derive(Debug, Clone, QueryableByName)]
struct Row {
    #[diesel(sql_type = BigInt)]
    xid: i64,
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = SqlUuid)]
    recipient_id: Uuid,
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = Array<SqlUuid>)]
    ids: Vec<Uuid>,
}

impl Row {
    fn cursor(&self) -> Cursor {
        Cursor { xid: self.xid, id: self.id }
    }
}

/// One read of the pump, as one recipient's stream receives it: the rows
/// for them (often none) and the range of the log the read covered.
struct Batch {
    from: Cursor,
    to: Cursor,
    rows: Vec<Row>,
}

/// The streams open on this instance, by recipient.
pub struct Inbox {
    hub: Arc<EventHub>,
    readers: Mutex<HashMap<Uuid, broadcast::Sender<Arc<Batch>>>>,
}

fn locked<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Inbox {
    pub fn new(hub: Arc<EventHub>) -> Arc<Self> {
        Arc::new(Inbox { hub, readers: Mutex::new(HashMap::new()) })
    }

    pub fn hub(&self) -> &Arc<EventHub> {
        &self.hub
    }

    fn subscribe(&self, user: Uuid) -> broadcast::Receiver<Arc<Batch>> {
        let mut readers = locked(&self.readers);
        readers.entry(user).or_insert_with(|| broadcast::channel(CAPACITY).0).subscribe()
    }

    /// Forgets `user` once none of their streams listens.
    fn leave(&self, user: Uuid) {
        let mut readers = locked(&self.readers);
        if readers.get(&user).is_some_and(|s| s.receiver_count() == 0) {
            readers.remove(&user);
        }
    }

    fn listening(&self) -> bool {
        !locked(&self.readers).is_empty()
    }

    /// Hands each open stream its rows of one read.
    fn dispatch(&self, from: Cursor, to: Cursor, rows: Vec<Row>) {
        let mut mine: HashMap<Uuid, Vec<Row>> = HashMap::new();
        for row in rows {
            mine.entry(row.recipient_id).or_default().push(row);
        }
        let empty = Arc::new(Batch { from, to, rows: Vec::new() });
        for (user, sender) in locked(&self.readers).iter() {
            let batch = match mine.remove(user) {
                Some(rows) => Arc::new(Batch { from, to, rows }),
                None => empty.clone(),
            };
            let _ = sender.send(batch);
        }
    }
}

/// The pump of this instance; runs for the life of the process.
pub async fn pump(inbox: Arc<Inbox>) {
    let hub = inbox.hub.clone();
    let mut bell = hub.inbox_bell();
    let mut closing = hub.closing();
    let fast = Duration::from_millis(hub.settings.notify_interval_ms.max(5));
    let slow = Duration::from_millis(hub.settings.fallback_poll_ms.max(10));
    let mut position: Option<Cursor> = None;
    loop {
        let wrote = hub.wrote_within(AFTER_WRITE);
        tokio::select! {
            _ = bell.changed() => {}
            _ = tokio::time::sleep(if wrote { fast } else { slow }) => {}
            _ = closing.changed() => return,
        }
        // Rows this instance wrote (the notifier's, or read marks made by
        // requests here) are announced to the others once read.
        let derived = hub.take_inbox_written();
        let wrote = derived || hub.wrote_within(AFTER_WRITE);
        if !inbox.listening() && !wrote {
            // Nobody to tell and nothing of ours to announce: start afresh
            // from the horizon when that changes.
            position = None;
            continue;
        }
        match read_tail(&inbox, &mut position).await {
            Ok(found) if found && wrote => {
                // Other instances' streams may wait for these rows.
                if let Err(e) = notify::wake_inboxes(&hub).await {
                    tracing::warn!(error = %e, "announcing inbox events");
                }
            }
            // Not settled yet: announce them with a later read.
            Ok(_) if derived => hub.keep_inbox_written(),
            Ok(_) => {}
            Err(e) => {
                if derived {
                    hub.keep_inbox_written();
                }
                tracing::warn!(error = %e, "reading the inbox log");
            }
        }
    }
}

/// One read of the log's new rows for everyone; whether it found any.
async fn read_tail(inbox: &Inbox, position: &mut Option<Cursor>) -> ApiResult<bool> {
    let mut conn = pool::conn(&inbox.hub.pool).await?;
    let xmin = cursor::horizon(&mut conn).await?;
    let Some(after) = *position else {
        *position = Some(Cursor::at_horizon(xmin));
        return Ok(false);
    };
    let rows = settled(&mut conn, None, after, xmin).await?;
    let reached = reached(&rows, after, xmin);
    *position = Some(reached);
    let found = !rows.is_empty();
    if reached > after {
        inbox.dispatch(after, reached, rows);
    }
    Ok(found)
}

/// How far a read of `rows` after `after` below `xmin` saw: up to the
/// horizon unless the page was full.
fn reached(rows: &[Row], after: Cursor, xmin: i64) -> Cursor {
    let last = rows.last().map_or(after, Row::cursor);
    if (rows.len() as i64) < PAGE {
        last.max(Cursor::at_horizon(xmin))
    } else {
        last
    }
}

/// Settled rows after `after`: everyone's, or one recipient's.
async fn settled(
    conn: &mut AsyncPgConnection,
    recipient: Option<Uuid>,
    after: Cursor,
    xmin: i64,
) -> ApiResult<Vec<Row>> {
    let rows = match recipient {
        None => {
            crate::sql!("live/tail.sql")
                .bind::<BigInt, _>(after.xid)
                .bind::<BigInt, _>(after.id)
                .bind::<BigInt, _>(xmin)
                .bind::<BigInt, _>(PAGE)
                .load(conn)
                .await?
        }
        Some(user) => {
            crate::sql!("live/mine.sql")
                .bind::<SqlUuid, _>(user)
                .bind::<BigInt, _>(after.xid)
                .bind::<BigInt, _>(after.id)
                .bind::<BigInt, _>(xmin)
                .bind::<BigInt, _>(PAGE)
                .load(conn)
                .await?
        }
    };
    Ok(rows)
}

/// One event as a stream or a long-poll sends it.
pub struct Event {
    pub cursor: Cursor,
    pub event: &'static str,
    pub data: serde_json::Value,
}

/// What one reader's read of their own rows gave.
pub enum Read {
    /// The events, the position reached, and whether the page was full
    /// (more may follow at once).
    Events(Vec<Event>, Cursor, bool),
    /// Rows after the position were pruned: resync from this horizon.
    TooOld(Cursor),
}

/// The reader (whose token version is `version`) reads their own events after
/// `after` from the database: one page.
pub async fn read_mine(hub: &EventHub, (user, version): (Uuid, i32), after: Cursor) -> ApiResult<Read> {
    let mut conn = pool::conn(&hub.pool).await?;
    let xmin = cursor::horizon(&mut conn).await?;
    let rows = settled(&mut conn, Some(user), after, xmin).await?;
    // After the read: a prune that committed before it moved the mark first.
    let mark: Mark = crate::sql!("live/pruned_mark.sql").get_result(&mut conn).await?;
    let mark = Cursor { xid: mark.xid, id: mark.id };
    if mark != Cursor::default() && after < mark {
        return Ok(Read::TooOld(Cursor::at_horizon(xmin)));
    }
    let reached = reached(&rows, after, xmin);
    let full = rows.len() as i64 >= PAGE;
    Ok(Read::Events(render(&mut conn, (user, version), &rows).await?, reached, full))
}

/// The reader's rows as events: items they may no longer see are left out.
async fn render(conn: &mut AsyncPgConnection, reader: (Uuid, i32), rows: &[Row]) -> ApiResult<Vec<Event>> {
    let wanted: Vec<Uuid> =
        rows.iter().filter(|r| r.kind == "notification").flat_map(|r| r.ids.iter().copied()).collect();
    let mut views: HashMap<Uuid, serde_json::Value> = HashMap::new();
    if !wanted.is_empty() {
        for view in notification::by_ids(conn, reader, &wanted).await? {
            views.insert(view.id(), serde_json::to_value(&view).map_err(ApiError::internal)?);
        }
    }
    let mut events = Vec::with_capacity(rows.len());
    for row in rows {
        match row.kind.as_str() {
            "notification" => {
                for id in &row.ids {
                    if let Some(view) = views.get(id) {
                        events.push(Event {
                            cursor: row.cursor(),
                            event: "notification",
                            data: view.clone(),
                        });
                    }
                }
            }
            "export.ready" => {
                for id in &row.ids {
                    events.push(Event {
                        cursor: row.cursor(),
                        event: "export.ready",
                        data: serde_json::json!({ "id": id }),
                    });
                }
            }
            _ => events.push(Event {
                cursor: row.cursor(),
                event: "notification.read",
                data: serde_json::json!({ "ids": row.ids }),
            }),
        }
    }
    Ok(events)
}

#[derive(QueryableByName)]
struct Mark {
    #[diesel(sql_type = BigInt)]
    xid: i64,
    #[diesel(sql_type = BigInt)]
    id: i64,
}

/// Waits until the pump brings `user` rows after `after`, or `wait` passes
/// (a long-poll with nothing to answer yet).
pub async fn wait_for(inbox: &Inbox, user: Uuid, after: Cursor, wait: Duration) {
    let mut live = inbox.subscribe(user);
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, live.recv()).await {
            Ok(Ok(batch)) if batch.rows.iter().any(|r| r.cursor() > after) => break,
            Ok(Ok(_)) => {}
            // Behind: the caller reads the database anyway.
            Ok(Err(_)) | Err(_) => break,
        }
    }
    drop(live);
    inbox.leave(user);
}

/// Who reads a stream, as decided when it opened.
pub struct Reader {
    pub caller: Caller,
    pub user_id: Uuid,
    /// When the token or ticket stops working (Unix seconds).
    pub until: i64,
    /// Where to start; `None`: the client's cursor was unreadable, so
    /// `resync` first and start from the horizon then.
    pub after: Option<Cursor>,
}

/// Opens the stream; its body ([`LiveBody`]) runs it and holds `permit`
/// until the client leaves.
pub fn open(inbox: Arc<Inbox>, reader: Reader, permit: StreamPermit) -> LiveBody<impl Future<Output = ()>> {
    let live = inbox.subscribe(reader.user_id);
    let timeout = Duration::from_millis(inbox.hub.settings.send_timeout_ms);
    LiveBody::new(timeout, "pilcrow_event_slow_readers_total", |out| async move {
        let _permit = permit;
        let _counted = Gauge::up("pilcrow_inbox_streams");
        let _listening = Listening { inbox: &inbox, user: reader.user_id };
        follow(&inbox, reader, live, &out).await
    })
}

/// The inbox counts its listeners by user; this one leaves when dropped,
/// however the stream ends.
struct Listening<'a> {
    inbox: &'a Inbox,
    user: Uuid,
}

impl Drop for Listening<'_> {
    fn drop(&mut self) {
        self.inbox.leave(self.user);
    }
}

/// Sends `events` in order.
async fn send_events(out: &Out, events: &[Event]) {
    for e in events {
        out.send(frame(Some(e.cursor), e.event, &e.data.to_string())).await;
    }
}

/// Reads the reader's own rows from `position` until the horizon.
async fn catch_up(hub: &EventHub, key: (Uuid, i32), position: &mut Cursor, out: &Out) {
    loop {
        match read_mine(hub, key, *position).await {
            Ok(Read::Events(events, reached, full)) => {
                send_events(out, &events).await;
                *position = (*position).max(reached);
                if !full {
                    return;
                }
            }
            Ok(Read::TooOld(horizon)) => {
                *position = horizon;
                return out.send(frame(Some(horizon), "resync", "{}")).await;
            }
            Err(e) => {
                // The database is away: the next batch or check brings us back.
                tracing::warn!(error = %e, "replaying inbox events");
                return;
            }
        }
    }
}

async fn follow(inbox: &Inbox, reader: Reader, mut live: broadcast::Receiver<Arc<Batch>>, out: &Out) {
    let hub = &inbox.hub;
    let settings = &hub.settings;
    let jitter = rand::random_range(0..=settings.retry_ms);
    out.send(Bytes::from(format!("retry: {}\n\n", settings.retry_ms + jitter))).await;
    let key = reader.caller.unverified_key();
    let mut position = match reader.after {
        Some(cursor) => cursor,
        None => {
            let Ok(mut conn) = pool::conn(&hub.pool).await else { return };
            let Ok(xmin) = cursor::horizon(&mut conn).await else { return };
            let horizon = Cursor::at_horizon(xmin);
            out.send(frame(Some(horizon), "resync", "{}")).await;
            horizon
        }
    };
    catch_up(hub, key, &mut position, out).await;

    let mut ping = tokio::time::interval(Duration::from_millis(settings.ping_interval_ms.max(10)));
    ping.reset();
    let mut recheck = tokio::time::interval(Duration::from_millis(settings.access_recheck_ms.max(10)));
    recheck.reset();
    let mut closing = hub.closing();
    loop {
        if *closing.borrow() {
            return out.send(Bytes::from_static(b": server shutting down; reconnect\n\n")).await;
        }
        tokio::select! {
            batch = live.recv() => match batch {
                Ok(batch) => {
                    if batch.from > position {
                        catch_up(hub, key, &mut position, out).await;
                    }
                    let rows: Vec<Row> = batch.rows.iter().filter(|r| r.cursor() > position).cloned().collect();
                    if !rows.is_empty() {
                        match render_now(hub, key, &rows).await {
                            Some(events) => send_events(out, &events).await,
                            // Not rendered: read them again from the database.
                            None => continue,
                        }
                    }
                    position = position.max(batch.to);
                }
                Err(broadcast::error::RecvError::Lagged(_)) => catch_up(hub, key, &mut position, out).await,
                Err(broadcast::error::RecvError::Closed) => {
                    live = inbox.subscribe(reader.user_id);
                    catch_up(hub, key, &mut position, out).await;
                }
            },
            _ = ping.tick() => out.send(Bytes::from_static(b": ping\n\n")).await,
            _ = recheck.tick() => {
                if let Some(reason) = revoked(hub, &reader).await {
                    let data = serde_json::json!({ "reason": reason }).to_string();
                    return out.send(frame(None, "access_revoked", &data)).await;
                }
            }
            _ = closing.changed() => {}
        }
    }
}

async fn render_now(hub: &EventHub, key: (Uuid, i32), rows: &[Row]) -> Option<Vec<Event>> {
    let mut conn = pool::conn(&hub.pool).await.ok()?;
    render(&mut conn, key, rows).await.ok()
}

/// Why the reader's stream must end now, if it must: the token expired or
/// was revoked (the database being away keeps the stream).
async fn revoked(hub: &EventHub, reader: &Reader) -> Option<&'static str> {
    if chrono::Utc::now().timestamp() >= reader.until {
        return Some("token_expired");
    }
    let mut conn = pool::conn(&hub.pool).await.ok()?;
    hub.count_access_check();
    match crate::users::models::current(&mut conn, &reader.caller).await {
        Err(e) if e.status == 401 => Some("token_revoked"),
        _ => None,
    }
}
