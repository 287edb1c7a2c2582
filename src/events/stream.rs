//! One reader's stream: a future, run by its response body ([`LiveBody`]),
//! that replays from the reader's cursor, then forwards the session's live
//! batches as this reader may see them.
//!
//! - Gap-free: the stream subscribes to the live feed before replaying, skips
//!   live events at or below its position, and when a live batch does not
//!   start at or below its position (it lagged, or the pump started later)
//!   it reads the database again from its position.
//! - A reader that does not drain what it was sent for `send_timeout_ms` is
//!   let go; it resumes from its cursor. Nobody else waits for it.
//! - Access is checked again at once when an `access.changed` names this
//!   reader (a ban, losing or gaining a role, leaving, revoking their
//!   tokens): the check runs before anything of a batch holding such an
//!   event is sent, and also when such an event had committed by the time
//!   the batch was read (a transaction with a lower xid can commit after a
//!   ban yet sort before it), so nothing committed after the change reaches
//!   the reader; when that check cannot run, the stream closes. Any of these
//!   ends the stream with `access_revoked`.
//! - Every `access_recheck_ms` the rest is checked, shared ([`Access`]):
//!   one query per session and standing (anonymous, or signed in with one
//!   role) answers for all its readers, and one query checks the tokens of
//!   all the instance's signed-in readers (a non-member's revoked token
//!   logs no event); expiry is checked here, without a query.
//! - On shutdown the stream ends with a comment; the cursor stays valid.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::web::Bytes;
use tokio::sync::broadcast;
use uuid::Uuid;

use super::body::{Gauge, LiveBody, Out};
use super::hub::{EventHub, SharedCheck, Standing, StreamPermit, TokenHold, Verdict};
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
    /// A site administrator reads as an owner whatever their membership.
    pub site_admin: bool,
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
        if self.expired() {
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

    /// Whether the token or ticket has stopped working.
    pub fn expired(&self) -> bool {
        self.until.is_some_and(|until| chrono::Utc::now().timestamp() >= until)
    }
}

/// Checks one reader's access. The periodic check is shared by the
/// session's readers who stand as this one does ([`Standing`]: anonymous, or
/// signed in with the same role), and tokens by one check of the instance's
/// signed-in readers; what is one reader's alone (a ban, a role change,
/// leaving, revoking their tokens) logs an `access.changed` naming them,
/// which makes this reader check on their own at once.
pub struct Access {
    session_id: Uuid,
    pub viewer: Viewer,
    /// None for a site administrator, whose standing is theirs alone: they
    /// check on their own.
    shared: Option<Arc<SharedCheck>>,
    token: Option<TokenHold>,
}

impl Access {
    pub fn new(hub: &Arc<EventHub>, session_id: Uuid, viewer: Viewer) -> Self {
        let standing = match &viewer.caller {
            None => Some(Standing::Anonymous),
            Some(_) if viewer.site_admin => None,
            Some(_) => Some(Standing::SignedIn(viewer.role)),
        };
        let shared = standing.map(|standing| hub.standing_check(session_id, standing));
        let token = viewer.caller.as_ref().map(|caller| {
            let (user, version) = caller.unverified_key();
            hub.hold_token(user, version)
        });
        Access { session_id, viewer, shared, token }
    }

    fn anonymous(&self) -> bool {
        self.viewer.caller.is_none()
    }

    /// Access by a check of this reader's own that started at or after
    /// `since` (anonymous readers are all alike, so theirs is shared): for
    /// an access change naming this reader, and after a long-poll's wait.
    pub async fn revoked_since(&self, hub: &EventHub, since: Instant) -> Verdict {
        match &self.shared {
            Some(shared) if self.anonymous() => {
                shared
                    .at_least_since(since, true, async || self.viewer.revoked(hub, self.session_id).await)
                    .await
            }
            _ => self.viewer.revoked(hub, self.session_id).await,
        }
    }

    /// Access by the check this reader shares, started at or after `since`.
    /// Another reader's allowance answers for this one, whose own changes
    /// are announced to it; a loss another signed-in reader found may be
    /// theirs alone and does not.
    async fn shared_since(&self, hub: &EventHub, since: Instant) -> Verdict {
        if self.viewer.expired() {
            return Verdict::Lost("token_expired");
        }
        match &self.shared {
            Some(shared) => {
                let check = async || self.viewer.revoked(hub, self.session_id).await;
                shared.at_least_since(since, self.anonymous(), check).await
            }
            None => self.viewer.revoked(hub, self.session_id).await,
        }
    }

    /// The periodic check: expiry here, the token by the instance's token
    /// check, the rest by the check shared with those who stand alike.
    pub async fn periodic(&self, hub: &EventHub, since: Instant) -> Verdict {
        if self.viewer.expired() {
            return Verdict::Lost("token_expired");
        }
        if let Some(token) = &self.token {
            match hub.token_revoked(token.key(), since).await {
                Some(true) => return Verdict::Lost("token_revoked"),
                Some(false) => {}
                None => return Verdict::Unknown,
            }
        }
        self.shared_since(hub, since).await
    }

    /// Before sending anything of `batch` after `position`: checks access
    /// when an access change concerning this reader (naming them, or
    /// everyone) is among those events or had committed by the time they
    /// were read. Commit order is not log order, so an event before the
    /// change in the log may have committed after it; a check that starts
    /// after the read sees every change. A signed-in reader checks on their
    /// own here: "everyone" also stands for more readers than a read names.
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

/// Opens the stream and returns its response body ([`LiveBody`]), which
/// runs it and holds `permit`: the server drops the body as soon as the
/// client closes the connection, which frees the slot at once.
pub fn open(hub: Arc<EventHub>, start: Start, permit: StreamPermit) -> LiveBody<impl Future<Output = ()>> {
    let live = hub.subscribe(start.session_id);
    let timeout = Duration::from_millis(hub.settings.send_timeout_ms);
    LiveBody::new(timeout, "pilcrow_event_slow_readers_total", |out| async move {
        let _permit = permit;
        let _counted = Gauge::up("pilcrow_event_streams");
        run(&hub, start, live, &out).await
    })
}

/// Why delivery stopped.
enum End {
    /// Without a word: access could not be checked when it had to be.
    Quietly,
    /// Access was lost, for this reason.
    Revoked(&'static str),
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
            Verdict::Unknown => return Err(End::Quietly),
        }
        let viewer = &self.access.viewer;
        if batch.events.first().is_some_and(|first| first.cursor > self.position) {
            let whole = if viewer.moderator { &batch.whole.1 } else { &batch.whole.0 };
            if !whole.is_empty() {
                out.send(whole.clone()).await;
            }
            self.position = self.position.max(batch.to);
            return Ok(());
        }
        let mut any = false;
        let position = self.position;
        for event in batch.events.iter().filter(|e| e.cursor > position) {
            any = true;
            if let Some(rendered) = viewer.pick(&event.member, &event.moderator) {
                out.send(rendered.frame.clone()).await;
            }
        }
        if any {
            if let Some(counts) = &batch.counts {
                out.send(counts.frame.clone()).await;
            }
        }
        self.position = self.position.max(batch.to);
        Ok(())
    }

    /// A live batch: read what lies between our position and it first.
    async fn take(&mut self, hub: &EventHub, out: &Out, batch: &Batch) -> Result<(), End> {
        if batch.from > self.position {
            // A gap between what we have and this batch.
            self.catch_up(hub, out).await?;
        }
        self.deliver(hub, out, batch).await
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
                    out.send(control(Some(horizon), "resync", "{}")).await;
                    return Ok(());
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

async fn run(hub: &Arc<EventHub>, start: Start, live: broadcast::Receiver<Arc<Batch>>, out: &Out) {
    if let Err(End::Revoked(reason)) = follow(hub, start, live, out).await {
        let data = serde_json::json!({ "reason": reason }).to_string();
        out.send(control(None, "access_revoked", &data)).await
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
    out.send(Bytes::from(format!("retry: {}\n\n", settings.retry_ms + jitter))).await;
    let horizon_now = || async {
        let mut conn = pool::conn(&hub.pool).await.ok()?;
        cursor::horizon(&mut conn).await.ok().map(Cursor::at_horizon)
    };
    // Boxed here and below: what a stream holds while idle is sized by its
    // largest await, and the horizon's read, replay, delivery and checks
    // (database futures) are rare next to waiting. (Unboxed, this read alone
    // made every idle stream's future 3 KiB instead of 1.2.)
    let position = match start.after {
        Some(cursor) => cursor,
        None => {
            let Some(horizon) = Box::pin(horizon_now()).await else { return Ok(()) };
            out.send(control(Some(horizon), "resync", "{}")).await;
            horizon
        }
    };
    let access = Access::new(hub, start.session_id, start.viewer);
    let mut reader = Reader { session_id: start.session_id, access, position, recheck_now: false };
    Box::pin(reader.catch_up(hub, out)).await?;

    let mut bells = hub.bells();
    let mut heard = *bells.borrow_and_update();
    let every = Duration::from_millis(settings.access_recheck_ms.max(10));
    loop {
        if reader.recheck_now || heard.closing {
            if heard.closing {
                out.send(Bytes::from_static(b": server shutting down; reconnect\n\n")).await;
                return Ok(());
            }
            reader.recheck_now = false;
            // A check another reader who stands as this one ran within the
            // interval answers for this one too.
            let since = Instant::now().checked_sub(every).unwrap_or_else(Instant::now);
            // The database being away keeps the stream; the next check decides.
            if let Verdict::Lost(reason) = Box::pin(reader.access.periodic(hub, since)).await {
                return Err(End::Revoked(reason));
            }
        }
        tokio::select! {
            batch = live.recv() => match batch {
                Ok(batch) => Box::pin(reader.take(hub, out, &batch)).await?,
                Err(broadcast::error::RecvError::Lagged(_)) => Box::pin(reader.catch_up(hub, out)).await?,
                Err(broadcast::error::RecvError::Closed) => {
                    live = hub.subscribe(reader.session_id);
                    Box::pin(reader.catch_up(hub, out)).await?;
                }
            },
            _ = bells.changed() => {
                let now = *bells.borrow_and_update();
                reader.recheck_now |= now.rechecks != heard.rechecks;
                if now.pings != heard.pings {
                    out.send(Bytes::from_static(b": ping\n\n")).await;
                }
                heard = now;
            }
        }
    }
}
