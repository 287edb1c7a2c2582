//! One reader's stream: a task that replays from the reader's cursor, then
//! forwards the session's live batches as this reader may see them, into a
//! bounded buffer the response body drains.
//!
//! - Gap-free: the task subscribes to the live feed before replaying, skips
//!   live events at or below its position, and when a live batch does not
//!   start at or below its position (it lagged, or the pump started later)
//!   it reads the database again from its position.
//! - A reader that does not drain its buffer for `send_timeout_ms` is
//!   disconnected; it resumes from its cursor. Nobody else waits for it.
//! - Access is checked again every `access_recheck_ms`, and at once when an
//!   `access.changed` names this reader (or everyone): a ban, losing or
//!   gaining a role, leaving, a revoked or expired token end the stream with
//!   `access_revoked`.
//! - On shutdown the stream ends with a comment; the cursor stays valid.

use std::sync::Arc;
use std::time::Duration;

use actix_web::web::Bytes;
use tokio::sync::{broadcast, mpsc};
use uuid::Uuid;

use super::cursor::{self, Cursor};
use super::hub::{EventHub, StreamPermit};
use super::log;
use super::render::{self, Batch, Rendered};
use crate::access::{self, Role, Scope};
use crate::auth::Caller;
use crate::db::pool;
use crate::error::{ApiResult, ErrorCode};

/// Who reads, as decided when the stream opened.
#[derive(Debug, Clone)]
pub struct Viewer {
    pub caller: Option<Caller>,
    /// The role the reader had at connect (`None`: no role, e.g. anonymous).
    pub role: Option<Role>,
    pub moderator: bool,
    pub user_id: Option<Uuid>,
    /// When the token or ticket stops working (Unix seconds).
    pub until: Option<i64>,
}

impl Viewer {
    pub fn pick<'a>(
        &self,
        member: &'a Option<Rendered>,
        moderator: &'a Option<Rendered>,
    ) -> Option<&'a Rendered> {
        if self.moderator {
            moderator.as_ref()
        } else {
            member.as_ref()
        }
    }

    /// `Some(reason)` when the reader may no longer read this session as
    /// they did when the stream opened.
    pub async fn revoked(&self, hub: &EventHub, session_id: Uuid) -> Option<&'static str> {
        if self.until.is_some_and(|until| chrono::Utc::now().timestamp() >= until) {
            return Some("token_expired");
        }
        let Ok(mut conn) = pool::conn(&hub.pool).await else { return None };
        match access::resolve(&mut conn, self.caller.as_ref(), Scope::Session(session_id)).await {
            Ok(now) if !now.can_read() => Some(if now.banned { "banned" } else { "left" }),
            Ok(now) if now.role() != self.role => Some(if now.banned {
                "banned"
            } else if now.membership.is_none() {
                "left"
            } else {
                "role_changed"
            }),
            Ok(_) => None,
            Err(e) if e.code == ErrorCode::TokenRevoked || e.status == 401 => Some("token_revoked"),
            Err(e) if e.status == 404 => Some("left"),
            // The database is away: keep the stream; the next check decides.
            Err(_) => None,
        }
    }
}

/// How a stream starts.
pub struct Start {
    pub session_id: Uuid,
    pub viewer: Viewer,
    /// Where to start; `None`: the client's cursor was unreadable, so
    /// `resync` first and start from the horizon then.
    pub after: Option<Cursor>,
    pub permit: Option<StreamPermit>,
}

fn control(id: Option<Cursor>, event: &str, data: &str) -> Bytes {
    match id {
        Some(id) => Bytes::from(format!("id: {id}\nevent: {event}\ndata: {data}\n\n")),
        None => Bytes::from(format!("event: {event}\ndata: {data}\n\n")),
    }
}

/// Opens the stream: the returned receiver is the response body.
pub fn open(hub: Arc<EventHub>, start: Start) -> mpsc::Receiver<Bytes> {
    let (tx, rx) = mpsc::channel(hub.settings.buffer_events.max(1));
    let live = hub.subscribe(start.session_id);
    tokio::spawn(async move {
        ::metrics::gauge!("pilcrow_event_streams").increment(1.0);
        let out = Out { tx, timeout: Duration::from_millis(hub.settings.send_timeout_ms) };
        if let Err(Gone) = run(&hub, start, live, &out).await {
            tracing::debug!("event stream ended by the client or a slow read");
        }
        ::metrics::gauge!("pilcrow_event_streams").decrement(1.0);
    });
    rx
}

struct Out {
    tx: mpsc::Sender<Bytes>,
    timeout: Duration,
}

/// The client left, or stopped reading for longer than the send timeout.
struct Gone;

impl Out {
    async fn send(&self, bytes: Bytes) -> Result<(), Gone> {
        match tokio::time::timeout(self.timeout, self.tx.send(bytes)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(Gone),
            Err(_) => {
                ::metrics::counter!("pilcrow_event_slow_readers_total").increment(1);
                Err(Gone)
            }
        }
    }
}

/// What the stream holds between batches.
struct Reader {
    session_id: Uuid,
    viewer: Viewer,
    /// Everything at or below this has been delivered (or was not for us).
    position: Cursor,
    recheck_now: bool,
}

impl Reader {
    /// Sends the part of `batch` after our position; returns whether an
    /// `access.changed` asked this reader to check access.
    async fn deliver(&mut self, out: &Out, batch: &Batch) -> Result<(), Gone> {
        if batch.events.first().is_some_and(|first| first.cursor > self.position) {
            let whole = if self.viewer.moderator { &batch.whole.1 } else { &batch.whole.0 };
            if !whole.is_empty() {
                out.send(whole.clone()).await?;
            }
            self.note_rechecks(batch.events.iter());
            self.position = self.position.max(batch.to);
            return Ok(());
        }
        let mut any = false;
        let position = self.position;
        for event in batch.events.iter().filter(|e| e.cursor > position) {
            any = true;
            if let Some(rendered) = self.viewer.pick(&event.member, &event.moderator) {
                out.send(rendered.frame.clone()).await?;
            }
            self.note_rechecks(std::iter::once(event));
        }
        if any {
            if let Some(counts) = &batch.counts {
                out.send(counts.frame.clone()).await?;
            }
        }
        self.position = self.position.max(batch.to);
        Ok(())
    }

    /// Whether an `access.changed` among `events` asks this reader to check access.
    fn note_rechecks<'a>(&mut self, events: impl Iterator<Item = &'a crate::events::render::Delivered>) {
        for target in events.filter_map(|e| e.recheck) {
            if target.is_none() || target == self.viewer.user_id {
                self.recheck_now = true;
            }
        }
    }

    /// Reads the database from our position until the horizon.
    async fn catch_up(&mut self, hub: &EventHub, out: &Out) -> Result<(), Gone> {
        loop {
            match read_page(hub, self.session_id, self.position).await {
                Ok(Read::Batch(batch)) => {
                    let full = batch.events.len() as i64 >= log::PAGE;
                    self.deliver(out, &batch).await?;
                    if !full {
                        return Ok(());
                    }
                }
                Ok(Read::Nothing(reached)) => {
                    self.position = self.position.max(reached);
                    return Ok(());
                }
                Ok(Read::TooOld(horizon)) => {
                    self.position = horizon;
                    return out.send(control(Some(horizon), "resync", "{}")).await;
                }
                Err(e) => {
                    // The database is away: the live feed or the next
                    // check will bring us back here.
                    tracing::warn!(error = %e, "replaying session events");
                    return Ok(());
                }
            }
        }
    }
}

pub enum Read {
    Batch(Batch),
    /// No events: the position reached.
    Nothing(Cursor),
    /// Events after the position were pruned: restart from this horizon.
    TooOld(Cursor),
}

/// One page of replay from the database, checked against retention after
/// reading (so a prune that committed before the read is noticed).
pub async fn read_page(hub: &EventHub, session_id: Uuid, after: Cursor) -> ApiResult<Read> {
    let mut conn = pool::conn(&hub.pool).await?;
    let page = log::settled_after(&mut conn, session_id, after).await?;
    if log::too_old(&mut conn, after).await? {
        return Ok(Read::TooOld(Cursor::at_horizon(cursor::horizon(&mut conn).await?)));
    }
    if page.rows.is_empty() {
        return Ok(Read::Nothing(page.reached));
    }
    Ok(Read::Batch(render::batch(&mut conn, session_id, after, page.reached, &page.rows).await?))
}

async fn run(
    hub: &Arc<EventHub>,
    start: Start,
    mut live: broadcast::Receiver<Arc<Batch>>,
    out: &Out,
) -> Result<(), Gone> {
    let _permit = start.permit;
    let settings = &hub.settings;
    // Spread reconnects after a deploy: 1–2 × the configured retry.
    let jitter = rand::random_range(0..=settings.retry_ms);
    out.send(Bytes::from(format!("retry: {}\n\n", settings.retry_ms + jitter))).await?;
    let horizon_now = || async {
        let mut conn = pool::conn(&hub.pool).await.ok()?;
        cursor::horizon(&mut conn).await.ok().map(Cursor::at_horizon)
    };
    let position = match start.after {
        Some(cursor) => cursor,
        None => {
            let Some(horizon) = horizon_now().await else { return Ok(()) };
            out.send(control(Some(horizon), "resync", "{}")).await?;
            horizon
        }
    };
    let mut reader =
        Reader { session_id: start.session_id, viewer: start.viewer, position, recheck_now: false };
    reader.catch_up(hub, out).await?;

    let mut ping = tokio::time::interval(Duration::from_millis(settings.ping_interval_ms.max(10)));
    ping.reset();
    let mut recheck = tokio::time::interval(Duration::from_millis(settings.access_recheck_ms.max(10)));
    recheck.reset();
    let mut closing = hub.closing();
    loop {
        if reader.recheck_now || *closing.borrow() {
            if *closing.borrow() {
                return out.send(Bytes::from_static(b": server shutting down; reconnect\n\n")).await;
            }
            reader.recheck_now = false;
            if let Some(reason) = reader.viewer.revoked(hub, reader.session_id).await {
                return access_revoked(out, reason).await;
            }
        }
        tokio::select! {
            batch = live.recv() => match batch {
                Ok(batch) => {
                    if batch.from > reader.position {
                        // A gap between what we have and this batch.
                        reader.catch_up(hub, out).await?;
                    }
                    reader.deliver(out, &batch).await?;
                }
                Err(broadcast::error::RecvError::Lagged(_)) => reader.catch_up(hub, out).await?,
                Err(broadcast::error::RecvError::Closed) => {
                    live = hub.subscribe(reader.session_id);
                    reader.catch_up(hub, out).await?;
                }
            },
            _ = ping.tick() => out.send(Bytes::from_static(b": ping\n\n")).await?,
            _ = recheck.tick() => reader.recheck_now = true,
            _ = closing.changed() => {}
            // The client went away while nothing was being sent.
            _ = out.tx.closed() => return Err(Gone),
        }
    }
}

async fn access_revoked(out: &Out, reason: &str) -> Result<(), Gone> {
    let data = serde_json::json!({ "reason": reason }).to_string();
    out.send(control(None, "access_revoked", &data)).await
}
