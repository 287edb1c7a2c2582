//! One hub per instance: a feed per session that has live readers here,
//! each with one pump that reads the log and renders every batch once for
//! all of them (one database read per batch, not one per reader).
//!
//! Delivery is a pull model: the pump broadcasts `Arc<Batch>` into a
//! bounded channel and never waits for anyone, and each reader's response
//! body takes batches as fast as its connection drains them; a reader that
//! falls behind gets `Lagged` and catches up from the database on its own
//! (src/events/stream.rs, src/events/body.rs). A pump exits when its last
//! reader has gone, so nothing about a session outlives its readers.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use tokio::sync::{broadcast, watch};
use uuid::Uuid;

use super::log;
use super::render::{self, Batch};
use crate::access::Role;
use crate::config::EventsSettings;
use crate::db::{pool, Pool};
use crate::versions::cursor::{self, Cursor};

/// Batches a feed keeps for readers that are momentarily behind; beyond that
/// a reader lags and reads the database itself.
const FEED_CAPACITY: usize = 64;

pub struct Feed {
    doorbell: watch::Sender<u64>,
    batches: broadcast::Sender<Arc<Batch>>,
}

/// The shared check of each session and standing, while anyone holds it.
type StandingChecks = HashMap<(Uuid, Standing), Weak<SharedCheck>>;

/// The (user, version) tokens one token check found revoked.
type RevokedTokens = Arc<Vec<(Uuid, i32)>>;

pub struct EventHub {
    pub pool: Pool,
    pub settings: EventsSettings,
    /// Streams and waiting long-polls this instance holds at most: the
    /// configured `max_streams`, lowered to stay under the file limit.
    pub max_streams: usize,
    feeds: Mutex<HashMap<Uuid, Arc<Feed>>>,
    slots: Mutex<Slots>,
    /// One shared access check per session and standing, and the size at
    /// which the map is next swept of those nobody holds.
    standing_checks: Mutex<(StandingChecks, usize)>,
    /// The signed-in readers' token versions (user, version) and how many
    /// readers hold each, and the one check of all of them.
    tokens: Mutex<HashMap<(Uuid, i32), usize>>,
    token_check: SharedCheck<Option<RevokedTokens>>,
    /// Access checks streams and long-polls ran against the database.
    access_checks: AtomicU64,
    feed_reads: AtomicU64,
    /// Rung every `ping_interval_ms` and every `access_recheck_ms` by one
    /// task for all streams (started with the first stream), instead of two
    /// timers per stream, and on shutdown.
    bells: watch::Sender<Bells>,
    bells_started: AtomicBool,
    closing: watch::Sender<bool>,
    started: Instant,
    /// Milliseconds after `started` of the last local write (0: none yet).
    last_write_ms: AtomicU64,
    /// Rung when the inbox log may have grown (src/notifications/live.rs).
    inbox_bell: watch::Sender<u64>,
    /// The notifier wrote to the inbox log here: the pump announces it to
    /// the other instances once it has read it.
    inbox_written: std::sync::atomic::AtomicBool,
}

fn locked<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere while holding it leaves the map usable.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl EventHub {
    pub fn new(pool: Pool, settings: EventsSettings) -> Arc<Self> {
        let max_streams = streams_within_file_limit(settings.max_streams);
        Arc::new(EventHub {
            pool,
            settings,
            max_streams,
            feeds: Mutex::new(HashMap::new()),
            slots: Mutex::new(Slots::default()),
            standing_checks: Mutex::new((HashMap::new(), 64)),
            tokens: Mutex::new(HashMap::new()),
            token_check: SharedCheck::default(),
            access_checks: AtomicU64::new(0),
            feed_reads: AtomicU64::new(0),
            bells: watch::Sender::new(Bells::default()),
            bells_started: AtomicBool::new(false),
            closing: watch::Sender::new(false),
            started: Instant::now(),
            last_write_ms: AtomicU64::new(0),
            inbox_bell: watch::Sender::new(0),
            inbox_written: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// Live batches of a session, starting the session's pump if none runs.
    pub fn subscribe(self: &Arc<Self>, session_id: Uuid) -> broadcast::Receiver<Arc<Batch>> {
        let mut feeds = locked(&self.feeds);
        if let Some(feed) = feeds.get(&session_id) {
            return feed.batches.subscribe();
        }
        let (batches, receiver) = broadcast::channel(FEED_CAPACITY);
        let feed = Arc::new(Feed { doorbell: watch::Sender::new(0), batches });
        feeds.insert(session_id, feed.clone());
        tokio::spawn(pump(self.clone(), session_id, feed));
        ::metrics::gauge!("pilcrow_event_feeds").set(feeds.len() as f64);
        receiver
    }

    /// New events may have settled in this session: its pump reads now.
    pub fn ring(&self, session_id: Uuid) {
        if let Some(feed) = locked(&self.feeds).get(&session_id) {
            feed.doorbell.send_modify(|n| *n = n.wrapping_add(1));
        }
    }

    /// Every pump reads now (after the LISTEN connection was down).
    pub fn ring_all(&self) {
        for feed in locked(&self.feeds).values() {
            feed.doorbell.send_modify(|n| *n = n.wrapping_add(1));
        }
        self.ring_inbox();
    }

    /// The inbox log may have grown: this instance's inbox pump reads now.
    pub fn ring_inbox(&self) {
        self.inbox_bell.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// This instance wrote to the inbox log: its pump reads now, and tells
    /// the other instances.
    pub fn inbox_written(&self) {
        self.inbox_written.store(true, Ordering::Relaxed);
        self.ring_inbox();
    }

    /// Whether [`Self::inbox_written`] was called since the last take.
    pub fn take_inbox_written(&self) -> bool {
        self.inbox_written.swap(false, Ordering::Relaxed)
    }

    /// Puts back a [`Self::take_inbox_written`] whose rows were not read yet.
    pub fn keep_inbox_written(&self) {
        self.inbox_written.store(true, Ordering::Relaxed);
    }

    pub fn inbox_bell(&self) -> watch::Receiver<u64> {
        self.inbox_bell.subscribe()
    }

    /// A write succeeded on this instance: the notifier reads the log's tail
    /// for a while (src/events/notify.rs).
    pub fn touch(&self) {
        let ms = self.started.elapsed().as_millis() as u64;
        self.last_write_ms.store(ms.max(1), Ordering::Relaxed);
    }

    /// Whether this instance wrote within `window`.
    pub fn wrote_within(&self, window: Duration) -> bool {
        let last = self.last_write_ms.load(Ordering::Relaxed);
        last != 0 && self.started.elapsed().as_millis() as u64 <= last + window.as_millis() as u64
    }

    /// A slot for one more stream or waiting long-poll of `holder`: refused
    /// at the holder's limit, or when the instance holds `max_streams`.
    pub fn stream_permit(self: &Arc<Self>, holder: Holder) -> Result<StreamPermit, Refused> {
        let mut slots = locked(&self.slots);
        if slots.total >= self.max_streams {
            ::metrics::counter!("pilcrow_event_streams_refused_total", "limit" => "instance").increment(1);
            return Err(Refused::Instance);
        }
        let (open, limit) = match holder {
            Holder::User(user) => {
                (slots.per_user.entry(user).or_insert(0), self.settings.max_streams_per_user)
            }
            Holder::Address(net) => {
                (slots.per_address.entry(net).or_insert(0), self.settings.max_streams_per_address)
            }
        };
        if *open >= limit {
            ::metrics::counter!("pilcrow_event_streams_refused_total", "limit" => "holder").increment(1);
            return Err(Refused::Holder(limit));
        }
        *open += 1;
        slots.total += 1;
        slots.peak = slots.peak.max(slots.total);
        Ok(StreamPermit { hub: self.clone(), holder })
    }

    /// Counts one access check against the database (also the metric
    /// `pilcrow_events_access_checks_total`).
    pub fn count_access_check(&self) {
        self.access_checks.fetch_add(1, Ordering::Relaxed);
        ::metrics::counter!("pilcrow_events_access_checks_total").increment(1);
    }

    /// Reads of session logs by this instance's pumps so far (also the
    /// metric `pilcrow_event_feed_reads_total`).
    pub fn feed_reads(&self) -> u64 {
        self.feed_reads.load(Ordering::Relaxed)
    }

    /// Access checks run on this instance so far.
    pub fn access_checks(&self) -> u64 {
        self.access_checks.load(Ordering::Relaxed)
    }

    /// Streams and waiting long-polls open on this instance.
    pub fn open_streams(&self) -> usize {
        locked(&self.slots).total
    }

    /// The access check the readers of `session_id` with `standing` share.
    pub fn standing_check(&self, session_id: Uuid, standing: Standing) -> Arc<SharedCheck> {
        let mut guard = locked(&self.standing_checks);
        let (checks, sweep_at) = &mut *guard;
        if let Some(check) = checks.get(&(session_id, standing)).and_then(Weak::upgrade) {
            return check;
        }
        // Keys whose last reader left, swept when the map has doubled since
        // the last sweep (amortised: no scan per new key).
        if checks.len() >= *sweep_at {
            checks.retain(|_, check| check.strong_count() > 0);
            *sweep_at = (checks.len() * 2).max(64);
        }
        let check = Arc::new(SharedCheck::default());
        checks.insert((session_id, standing), Arc::downgrade(&check));
        check
    }

    /// Counts a signed-in reader's token into the instance's token check
    /// while the returned guard lives.
    pub fn hold_token(self: &Arc<Self>, user_id: Uuid, version: i32) -> TokenHold {
        *locked(&self.tokens).entry((user_id, version)).or_insert(0) += 1;
        TokenHold { hub: self.clone(), key: (user_id, version) }
    }

    /// Whether `key`'s token has been revoked, by a check of every token
    /// held here that started at or after `since` (one query for all the
    /// instance's signed-in readers). `None`: the check could not run.
    pub async fn token_revoked(&self, key: (Uuid, i32), since: Instant) -> Option<bool> {
        let revoked = self
            .token_check
            .at_least_since(since, false, async || {
                let held: Vec<(Uuid, i32)> = locked(&self.tokens).keys().copied().collect();
                if held.is_empty() {
                    return Some(Arc::new(Vec::new()));
                }
                let mut conn = pool::conn(&self.pool).await.ok()?;
                self.count_access_check();
                log::revoked_tokens(&mut conn, &held).await.ok().map(Arc::new)
            })
            .await?;
        Some(revoked.contains(&key))
    }

    /// The bells every stream listens to. The first call starts the one
    /// task that rings them; it ends with the hub.
    pub fn bells(self: &Arc<Self>) -> watch::Receiver<Bells> {
        if !self.bells_started.swap(true, Ordering::Relaxed) {
            let ping = Duration::from_millis(self.settings.ping_interval_ms.max(10));
            let recheck = Duration::from_millis(self.settings.access_recheck_ms.max(10));
            tokio::spawn(ring_bells(Arc::downgrade(self), ping, recheck));
        }
        self.bells.subscribe()
    }

    /// After `GIVE_BACK_AFTER_CLOSED` streams have closed (counted from the
    /// most open at once), asks the allocator to give the memory they held
    /// back to the system. mimalloc (the server's allocator, src/main.rs)
    /// returns freed pages only when a later allocation gets round to it,
    /// which an instance that has gone quiet never makes: without this, the
    /// memory of 10,000 closed streams stayed resident. (Where mimalloc is
    /// not the global allocator, as in tests, the call finds nothing to do.)
    fn give_back_memory(&self) {
        {
            let mut slots = locked(&self.slots);
            if slots.peak < slots.total + GIVE_BACK_AFTER_CLOSED {
                return;
            }
            slots.peak = slots.total;
        }
        tokio::task::spawn_blocking(|| {
            // SAFETY: takes no arguments we own; mimalloc's collection is
            // thread-safe and may run on any thread.
            unsafe { libmimalloc_sys::mi_collect(true) };
            ::metrics::counter!("pilcrow_event_memory_returns_total").increment(1);
        });
    }

    /// Becomes true when the server shuts down, for the background tasks.
    /// (Streams hear it in their bells, and end with a comment telling the
    /// client to reconnect elsewhere, cursor intact. The tasks keep a
    /// channel of their own so that pings and rechecks do not wake them.)
    pub fn closing(&self) -> watch::Receiver<bool> {
        self.closing.subscribe()
    }

    pub fn shut_down(&self) {
        self.closing.send_replace(true);
        self.bells.send_modify(|bells| bells.closing = true);
    }
}

/// Who a stream's slot is counted against: a signed-in reader's account,
/// or an anonymous reader's address as the rate limits key it
/// (`ClientAddr::key`: an IPv6 address by its /64).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Holder {
    User(Uuid),
    Address(IpAddr),
}

/// Why a slot was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// The user or address holds this many already.
    Holder(usize),
    /// The instance holds `max_streams`.
    Instance,
}

#[derive(Default)]
struct Slots {
    per_user: HashMap<Uuid, usize>,
    per_address: HashMap<IpAddr, usize>,
    total: usize,
    /// The most open at once since memory was last given back.
    peak: usize,
}

/// Held by a stream's response body (or a waiting long-poll) while it is
/// open; dropping it frees the slot, which happens as soon as the server
/// drops the body of a connection the client closed.
pub struct StreamPermit {
    hub: Arc<EventHub>,
    holder: Holder,
}

impl Drop for StreamPermit {
    fn drop(&mut self) {
        let mut slots = locked(&self.hub.slots);
        slots.total = slots.total.saturating_sub(1);
        fn release<K: std::hash::Hash + Eq>(map: &mut HashMap<K, usize>, key: &K) {
            if let Some(open) = map.get_mut(key) {
                *open -= 1;
                if *open == 0 {
                    map.remove(key);
                }
            }
        }
        match &self.holder {
            Holder::User(user) => release(&mut slots.per_user, user),
            Holder::Address(net) => release(&mut slots.per_address, net),
        }
    }
}

/// Who a shared access check stands for: the anonymous readers of a
/// session, or its signed-in readers with one role (`None`: no role, e.g. a
/// non-member of a public group). What else differs between two signed-in
/// readers with one role (their membership, a ban, their token) is theirs
/// alone and logs an `access.changed` naming them, or is the token check's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Standing {
    Anonymous,
    SignedIn(Option<Role>),
}

/// A signed-in reader's token, counted into the token check while held.
pub struct TokenHold {
    hub: Arc<EventHub>,
    key: (Uuid, i32),
}

impl TokenHold {
    pub fn key(&self) -> (Uuid, i32) {
        self.key
    }
}

impl Drop for TokenHold {
    fn drop(&mut self) {
        let mut tokens = locked(&self.hub.tokens);
        if let Some(held) = tokens.get_mut(&self.key) {
            *held -= 1;
            if *held == 0 {
                tokens.remove(&self.key);
            }
        }
    }
}

/// Rings the streams' ping and recheck bells until the hub is gone, and
/// once a second sees whether many streams have closed.
/// What every live stream waits for besides its session's batches, in one
/// channel: a stream holds one receiver and one wait for all three.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Bells {
    /// Rung every `ping_interval_ms`: send a comment to keep proxies open.
    pub pings: u64,
    /// Rung every `access_recheck_ms`: check access again.
    pub rechecks: u64,
    /// The server is shutting down.
    pub closing: bool,
}

async fn ring_bells(hub: Weak<EventHub>, ping: Duration, recheck: Duration) {
    let mut pings = tokio::time::interval(ping);
    let mut rechecks = tokio::time::interval(recheck);
    let mut looks = tokio::time::interval(Duration::from_secs(1));
    pings.reset();
    rechecks.reset();
    loop {
        let bell = tokio::select! {
            _ = pings.tick() => Some(true),
            _ = rechecks.tick() => Some(false),
            _ = looks.tick() => None,
        };
        let Some(hub) = hub.upgrade() else { return };
        match bell {
            Some(true) => hub.bells.send_modify(|bells| bells.pings = bells.pings.wrapping_add(1)),
            Some(false) => hub.bells.send_modify(|bells| bells.rechecks = bells.rechecks.wrapping_add(1)),
            None => hub.give_back_memory(),
        }
    }
}

/// Streams closed since the most open at once that make the allocator
/// hand its free memory back to the system.
const GIVE_BACK_AFTER_CLOSED: usize = 1000;

/// The last outcome of a check many readers share: every reader uses it
/// while it is fresh enough, and one of them runs the next one while the
/// others wait for its answer, so a thousand idle streams of a session cost
/// one query per interval, not a thousand.
pub struct SharedCheck<T = Verdict> {
    last: tokio::sync::Mutex<Option<(Instant, T)>>,
}

impl<T> Default for SharedCheck<T> {
    fn default() -> Self {
        SharedCheck { last: tokio::sync::Mutex::new(None) }
    }
}

/// What an access check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    /// Access is lost, for this reason (`banned`, `left`, …).
    Lost(&'static str),
    /// The check could not run (the database is away).
    Unknown,
}

/// What a shared check's outcome says about everyone who shares it.
pub trait Shareable: Clone {
    /// Whether others may use this outcome. One that could not run never
    /// is; a loss is only when `loss_shared` (every sharer is the same
    /// reader as far as access goes, as anonymous readers are).
    fn shareable(&self, loss_shared: bool) -> bool;
}

impl Shareable for Verdict {
    fn shareable(&self, loss_shared: bool) -> bool {
        match self {
            Verdict::Allowed => true,
            Verdict::Lost(_) => loss_shared,
            Verdict::Unknown => false,
        }
    }
}

impl<T: Clone> Shareable for Option<T> {
    fn shareable(&self, _: bool) -> bool {
        self.is_some()
    }
}

impl<T: Shareable> SharedCheck<T> {
    /// The outcome of a check that started at or after `since`, running one
    /// with `check` unless another reader already has. A signed-in reader's
    /// loss may be theirs alone (`loss_shared` false): it answers only them,
    /// and the others run their own check when they next need one.
    pub async fn at_least_since(
        &self,
        since: Instant,
        loss_shared: bool,
        check: impl AsyncFnOnce() -> T,
    ) -> T {
        let mut last = self.last.lock().await;
        if let Some((started, outcome)) = &*last {
            if *started >= since {
                return outcome.clone();
            }
        }
        let started = Instant::now();
        let outcome = check().await;
        if outcome.shareable(loss_shared) {
            *last = Some((started, outcome.clone()));
        }
        outcome
    }
}

/// File descriptors kept for everything but streams: the pools, the
/// LISTEN connection, ordinary requests, logs (half the limit when that is
/// smaller).
const FILES_RESERVED: u64 = 1024;

/// Raises the soft limit on open files to the hard one (the usual soft
/// default, 1,024, would be reached by a thousand streams, and then the
/// server accepts nobody), and returns `wanted` lowered, if need be, so
/// the streams never take the descriptors the rest of the server needs.
fn streams_within_file_limit(wanted: usize) -> usize {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) else { return wanted };
    let soft =
        if soft < hard && setrlimit(Resource::RLIMIT_NOFILE, hard, hard).is_ok() { hard } else { soft };
    let room = soft.saturating_sub(FILES_RESERVED.min(soft / 2));
    let room = usize::try_from(room).unwrap_or(usize::MAX).max(1);
    if wanted > room {
        tracing::warn!(
            max_streams = wanted,
            open_files = soft,
            "events.max_streams lowered to {room} to stay under the open-file limit"
        );
    }
    wanted.min(room)
}

/// Reads a session's log when rung and broadcasts what settled, until no
/// reader is left. The instance's notifier rings it (src/events/notify.rs):
/// it reads the whole log's tail, whoever wrote (this instance, another, or
/// none), at least once a second, so a pump never polls on its own and an
/// idle session costs the database nothing per session.
async fn pump(hub: Arc<EventHub>, session_id: Uuid, feed: Arc<Feed>) {
    let mut bell = feed.doorbell.subscribe();
    let mut position: Option<Cursor> = None;
    // Where the last broadcast batch ended: the next one starts there, so
    // readers can tell a contiguous batch from one after a gap.
    let mut chain_end: Option<Cursor> = None;
    let mut closing = hub.closing();
    let window = Duration::from_millis(hub.settings.batch_window_ms);
    let mut last_read = tokio::time::Instant::now() - window;
    loop {
        // What arrives within the window waits for the next read: one batch,
        // one write per reader.
        tokio::time::sleep_until(last_read + window).await;
        last_read = tokio::time::Instant::now();
        {
            let mut feeds = locked(&hub.feeds);
            if feed.batches.receiver_count() == 0 || *closing.borrow() {
                feeds.remove(&session_id);
                ::metrics::gauge!("pilcrow_event_feeds").set(feeds.len() as f64);
                return;
            }
        }
        match read(&hub, session_id, &mut position, &mut chain_end).await {
            Ok(Some(batch)) => {
                let _ = feed.batches.send(Arc::new(batch));
                continue; // a full page may have more behind it
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, %session_id, "reading session events"),
        }
        tokio::select! {
            _ = bell.changed() => {}
            _ = closing.changed() => {}
        }
    }
}

/// One read: `Some(batch)` when events settled, and the first read's
/// empty batch, which says where the pump begins ([`Batch::start_at`]).
async fn read(
    hub: &EventHub,
    session_id: Uuid,
    position: &mut Option<Cursor>,
    chain_end: &mut Option<Cursor>,
) -> crate::error::ApiResult<Option<Batch>> {
    let mut conn = pool::conn(&hub.pool).await?;
    let from = match *position {
        Some(p) => p,
        None => {
            let start = Cursor::at_horizon(cursor::horizon(&mut conn).await?);
            *position = Some(start);
            *chain_end = Some(start);
            return Ok(Some(Batch::start_at(start)));
        }
    };
    hub.feed_reads.fetch_add(1, Ordering::Relaxed);
    ::metrics::counter!("pilcrow_event_feed_reads_total").increment(1);
    let page = log::settled_after(&mut conn, session_id, from).await?;
    *position = Some(page.reached);
    if page.rows.is_empty() {
        return Ok(None);
    }
    let start = chain_end.unwrap_or(from);
    let batch = render::batch(&mut conn, session_id, start, &page).await?;
    *chain_end = Some(page.reached);
    Ok(Some(batch))
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::{SharedCheck, Verdict};

    #[tokio::test]
    async fn a_shared_check_runs_once_for_everyone_who_can_use_it() {
        let shared = SharedCheck::default();
        let runs = std::sync::atomic::AtomicUsize::new(0);
        let check = async || {
            runs.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            Verdict::Allowed
        };
        let start = Instant::now();
        for _ in 0..10 {
            assert_eq!(shared.at_least_since(start, true, check).await, Verdict::Allowed);
        }
        assert_eq!(runs.load(std::sync::atomic::Ordering::Relaxed), 1);
        // One that must have started later runs again, and its answer sticks;
        // a check that could not run is not kept.
        tokio::time::sleep(Duration::from_millis(5)).await;
        let later = Instant::now();
        assert_eq!(shared.at_least_since(later, true, async || Verdict::Unknown).await, Verdict::Unknown);
        assert_eq!(
            shared.at_least_since(later, true, async || Verdict::Lost("left")).await,
            Verdict::Lost("left")
        );
        assert_eq!(shared.at_least_since(later, true, check).await, Verdict::Lost("left"));
        assert_eq!(runs.load(std::sync::atomic::Ordering::Relaxed), 1);
    }

    #[tokio::test]
    async fn a_loss_that_may_be_personal_answers_only_whoever_found_it() {
        let shared = SharedCheck::default();
        let start = Instant::now();
        let lost = shared.at_least_since(start, false, async || Verdict::Lost("token_revoked")).await;
        assert_eq!(lost, Verdict::Lost("token_revoked"));
        // The next reader runs its own check, and its allowance is shared.
        assert_eq!(shared.at_least_since(start, false, async || Verdict::Allowed).await, Verdict::Allowed);
        let unused = async || Verdict::Lost("never run");
        assert_eq!(shared.at_least_since(start, false, unused).await, Verdict::Allowed);
    }
}
