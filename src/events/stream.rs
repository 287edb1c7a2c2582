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
//!   `access_revoked`. The check runs before anything of a batch holding
//!   such an event is sent, and also when such an event had committed by
//!   the time the batch was read (a transaction with a lower xid can commit
//!   after a ban yet sort before it), so nothing committed after the change
//!   reaches the reader; when that check cannot run, the stream closes. Anonymous readers of a session share one
//!   check per interval ([`SharedCheck`]); signed-in readers check on their own
//!   (at most `max_streams_per_user` each).
//! - On shutdown the stream ends with a comment; the cursor stays valid.

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::web::Bytes;
use tokio::sync::{broadcast, mpsc};
use uuid::Uuid;

use super::hub::{EventHub, SharedCheck, StreamPermit, Verdict};
use super::log;
use super::render::{self, Batch, Rendered};
use crate::access::{self, Role, Scope};
use crate::auth::Caller;
use crate::db::pool;
use crate::error::{ApiResult, ErrorCode};
use crate::versions::cursor::{self, Cursor};

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
    pub async fn revoked(&self, hub: &EventHub, session_id: Uuid) -> Verdict {
        if self.until.is_some_and(|until| chrono::Utc::now().timestamp() >= until) {
            return Verdict::Lost("token_expired");
        }
        let Ok(mut conn) = pool::conn(&hub.pool).await else { return Verdict::Unknown };
        hub.count_access_check();
        match access::resolve(&mut conn, self.caller.as_ref(), Scope::Session(session_id)).await {
            Ok(now) if !now.can_read() => Verdict::Lost(if now.banned { "banned" } else { "left" }),
            Ok(now) if now.role() != self.role => Verdict::Lost(if now.banned {
                "banned"
            } else if now.membership.is_none() {
                "left"
            } else {
                "role_changed"
            }),
            Ok(_) => Verdict::Allowed,
            Err(e) if e.code == ErrorCode::TokenRevoked || e.status == 401 => Verdict::Lost("token_revoked"),
            Err(e) if e.status == 404 => Verdict::Lost("left"),
            Err(_) => Verdict::Unknown,
        }
    }

    /// Whether an `access.changed` for `target` (`None`: everyone) concerns this reader.
    pub fn named_by(&self, target: Option<Uuid>) -> bool {
        target.is_none() || target == self.user_id
    }
}

/// Checks one reader's access: an anonymous reader through the check its
/// session's anonymous readers share, anyone else on their own.
pub struct Access {
    session_id: Uuid,
    pub viewer: Viewer,
    shared: Option<Arc<SharedCheck>>,
}

impl Access {
    pub fn new(hub: &EventHub, session_id: Uuid, viewer: Viewer) -> Self {
        let shared = viewer.caller.is_none().then(|| hub.anonymous_check(session_id));
        Access { session_id, viewer, shared }
    }

    /// Access by a check that started at or after `since` (an anonymous
    /// reader may reuse one another ran).
    pub async fn revoked_since(&self, hub: &EventHub, since: Instant) -> Verdict {
        match &self.shared {
            Some(shared) => {
                shared.at_least_since(since, async || self.viewer.revoked(hub, self.session_id).await).await
            }
            None => self.viewer.revoked(hub, self.session_id).await,
        }
    }

    /// Before sending anything of `batch` after `position`: checks access
    /// when an access change concerning this reader is among those events
    /// or had committed by the time they were read. Commit order is not log
    /// order, so an event before the change in the log may have committed
    /// after it; a check that starts after the read sees every change.
    /// `Unknown` when a check was needed and could not run: send nothing.
    pub async fn before_batch(&self, hub: &EventHub, batch: &Batch, position: Cursor) -> Verdict {
        let named = |target: &Option<Uuid>| self.viewer.named_by(*target);
        let among = batch.events.iter().filter(|e| e.cursor > position).filter_map(|e| e.recheck.as_ref());
        if batch.later_access.iter().any(named) || among.into_iter().any(named) {
            return self.revoked_since(hub, batch.read_at).await;
        }
        Verdict::Allowed
    }
}

/// How a stream starts.
pub struct Start {
    pub session_id: Uuid,
    pub viewer: Viewer,
    /// Where to start; `None`: the client's cursor was unreadable, so
    /// `resync` first and start from the horizon then.
    pub after: Option<Cursor>,
}

/// One SSE event, with its `id` when it has one.
pub fn control(id: Option<Cursor>, event: &str, data: &str) -> Bytes {
    match id {
        Some(id) => Bytes::from(format!("id: {id}\nevent: {event}\ndata: {data}\n\n")),
        None => Bytes::from(format!("event: {event}\ndata: {data}\n\n")),
    }
}

/// Opens the stream and returns its response body, which holds `permit`:
/// the server drops the body as soon as the client closes the connection,
/// which frees the slot at once (the task notices by its channel closing).
pub fn open(
    hub: Arc<EventHub>,
    start: Start,
    permit: StreamPermit,
) -> impl futures_util::Stream<Item = Result<Bytes, std::convert::Infallible>> {
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
    futures_util::stream::unfold((rx, permit), |(mut rx, permit)| async move {
        rx.recv().await.map(|bytes| (Ok(bytes), (rx, permit)))
    })
}

/// The sending end of one stream's response body (also the inbox's,
/// src/notifications/live.rs).
pub struct Out {
    pub tx: mpsc::Sender<Bytes>,
    pub timeout: Duration,
}

/// The client left, or stopped reading for longer than the send timeout.
pub struct Gone;

/// Why delivery stopped.
enum End {
    Gone,
    /// Access was lost, for this reason.
    Revoked(&'static str),
}

impl From<Gone> for End {
    fn from(_: Gone) -> Self {
        End::Gone
    }
}

/// The most one send hands the response body. A batch of long comments
/// can weigh megabytes, and the server copies what it writes into the
/// connection's buffer: in pieces, a reader who stops reading holds at most
/// a piece or two there, and runs into the send timeout, instead of
/// holding a whole batch. (SSE is a byte stream: any cut is fine.)
const PIECE: usize = 32 * 1024;

impl Out {
    pub async fn send(&self, mut bytes: Bytes) -> Result<(), Gone> {
        while bytes.len() > PIECE {
            let piece = bytes.split_to(PIECE);
            self.send_piece(piece).await?;
        }
        self.send_piece(bytes).await
    }

    async fn send_piece(&self, bytes: Bytes) -> Result<(), Gone> {
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
    access: Access,
    /// Everything at or below this has been delivered (or was not for us).
    position: Cursor,
    recheck_now: bool,
}

impl Reader {
    /// Sends the part of `batch` after our position, checking access first
    /// when an access change concerns this reader.
    async fn deliver(&mut self, hub: &EventHub, out: &Out, batch: &Batch) -> Result<(), End> {
        match self.access.before_batch(hub, batch, self.position).await {
            Verdict::Allowed => {}
            Verdict::Lost(reason) => return Err(End::Revoked(reason)),
            // Nothing goes out unchecked: the stream closes, and the
            // client's reconnect is checked as it connects.
            Verdict::Unknown => return Err(End::Gone),
        }
        let viewer = &self.access.viewer;
        if batch.events.first().is_some_and(|first| first.cursor > self.position) {
            let whole = if viewer.moderator { &batch.whole.1 } else { &batch.whole.0 };
            if !whole.is_empty() {
                out.send(whole.clone()).await?;
            }
            self.position = self.position.max(batch.to);
            return Ok(());
        }
        let mut any = false;
        let position = self.position;
        for event in batch.events.iter().filter(|e| e.cursor > position) {
            any = true;
            if let Some(rendered) = viewer.pick(&event.member, &event.moderator) {
                out.send(rendered.frame.clone()).await?;
            }
        }
        if any {
            if let Some(counts) = &batch.counts {
                out.send(counts.frame.clone()).await?;
            }
        }
        self.position = self.position.max(batch.to);
        Ok(())
    }

    /// Reads the database from our position until the horizon.
    async fn catch_up(&mut self, hub: &EventHub, out: &Out) -> Result<(), End> {
        loop {
            match read_page(hub, self.session_id, self.position).await {
                Ok(Read::Batch(batch)) => {
                    let full = batch.events.len() as i64 >= log::PAGE;
                    self.deliver(hub, out, &batch).await?;
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
                    return Ok(out.send(control(Some(horizon), "resync", "{}")).await?);
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
    Batch(Box<Batch>),
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
    Ok(Read::Batch(Box::new(render::batch(&mut conn, session_id, after, &page).await?)))
}

async fn run(
    hub: &Arc<EventHub>,
    start: Start,
    live: broadcast::Receiver<Arc<Batch>>,
    out: &Out,
) -> Result<(), Gone> {
    match follow(hub, start, live, out).await {
        Ok(()) => Ok(()),
        Err(End::Gone) => Err(Gone),
        Err(End::Revoked(reason)) => access_revoked(out, reason).await,
    }
}

async fn follow(
    hub: &Arc<EventHub>,
    start: Start,
    mut live: broadcast::Receiver<Arc<Batch>>,
    out: &Out,
) -> Result<(), End> {
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
    let access = Access::new(hub, start.session_id, start.viewer);
    let mut reader = Reader { session_id: start.session_id, access, position, recheck_now: false };
    reader.catch_up(hub, out).await?;

    let mut ping = tokio::time::interval(Duration::from_millis(settings.ping_interval_ms.max(10)));
    ping.reset();
    let every = Duration::from_millis(settings.access_recheck_ms.max(10));
    let mut recheck = tokio::time::interval(every);
    recheck.reset();
    let mut closing = hub.closing();
    loop {
        if reader.recheck_now || *closing.borrow() {
            if *closing.borrow() {
                return Ok(out.send(Bytes::from_static(b": server shutting down; reconnect\n\n")).await?);
            }
            reader.recheck_now = false;
            // A check another anonymous reader of this session ran within
            // the interval answers for this one too.
            let since = Instant::now().checked_sub(every).unwrap_or_else(Instant::now);
            // The database being away keeps the stream; the next check decides.
            if let Verdict::Lost(reason) = reader.access.revoked_since(hub, since).await {
                return Err(End::Revoked(reason));
            }
        }
        tokio::select! {
            batch = live.recv() => match batch {
                Ok(batch) => {
                    if batch.from > reader.position {
                        // A gap between what we have and this batch.
                        reader.catch_up(hub, out).await?;
                    }
                    reader.deliver(hub, out, &batch).await?;
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
            _ = out.tx.closed() => return Err(End::Gone),
        }
    }
}

async fn access_revoked(out: &Out, reason: &str) -> Result<(), Gone> {
    let data = serde_json::json!({ "reason": reason }).to_string();
    out.send(control(None, "access_revoked", &data)).await
}
