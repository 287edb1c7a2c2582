//! One hub per instance: a feed per session that has live readers here,
//! each with one pump that reads the log and renders every batch once for
//! all of them (one database read per batch, not one per reader).
//!
//! Delivery is a pull model with a bounded buffer per reader: the pump
//! broadcasts `Arc<Batch>` into a bounded channel and never waits for
//! anyone; a reader that falls behind gets `Lagged` and catches up from the
//! database on its own (src/events/stream.rs). A pump exits when its last
//! reader has gone, so nothing about a session outlives its readers.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::{broadcast, watch};
use uuid::Uuid;

use super::cursor::{self, Cursor};
use super::log;
use super::render::{self, Batch};
use crate::config::EventsSettings;
use crate::db::{pool, Pool};

/// Batches a feed keeps for readers that are momentarily behind; beyond that
/// a reader lags and reads the database itself.
const FEED_CAPACITY: usize = 64;

pub struct Feed {
    doorbell: watch::Sender<u64>,
    batches: broadcast::Sender<Arc<Batch>>,
}

pub struct EventHub {
    pub pool: Pool,
    pub settings: EventsSettings,
    feeds: Mutex<HashMap<Uuid, Arc<Feed>>>,
    streams: Mutex<HashMap<Uuid, usize>>,
    closing: watch::Sender<bool>,
    started: Instant,
    /// Milliseconds after `started` of the last local write (0: none yet).
    last_write_ms: AtomicU64,
}

fn locked<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere while holding it leaves the map usable.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl EventHub {
    pub fn new(pool: Pool, settings: EventsSettings) -> Arc<Self> {
        Arc::new(EventHub {
            pool,
            settings,
            feeds: Mutex::new(HashMap::new()),
            streams: Mutex::new(HashMap::new()),
            closing: watch::Sender::new(false),
            started: Instant::now(),
            last_write_ms: AtomicU64::new(0),
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

    /// A slot for one more stream of `user`, or `None` at the limit.
    pub fn stream_permit(self: &Arc<Self>, user: Uuid) -> Option<StreamPermit> {
        let mut streams = locked(&self.streams);
        let open = streams.entry(user).or_insert(0);
        if *open >= self.settings.max_streams_per_user {
            return None;
        }
        *open += 1;
        Some(StreamPermit { hub: self.clone(), user })
    }

    /// Streams open on this instance.
    pub fn open_streams(&self) -> usize {
        locked(&self.streams).values().sum()
    }

    /// Becomes true when the server shuts down: streams end with a comment
    /// telling the client to reconnect (elsewhere), with its cursor intact.
    pub fn closing(&self) -> watch::Receiver<bool> {
        self.closing.subscribe()
    }

    pub fn shut_down(&self) {
        self.closing.send_replace(true);
    }
}

/// Held by a stream while it is open; dropping it frees the slot.
pub struct StreamPermit {
    hub: Arc<EventHub>,
    user: Uuid,
}

impl Drop for StreamPermit {
    fn drop(&mut self) {
        let mut streams = locked(&self.hub.streams);
        if let Some(open) = streams.get_mut(&self.user) {
            *open -= 1;
            if *open == 0 {
                streams.remove(&self.user);
            }
        }
    }
}

/// Reads a session's log when rung (or every `fallback_poll_ms`) and
/// broadcasts what settled, until no reader is left.
async fn pump(hub: Arc<EventHub>, session_id: Uuid, feed: Arc<Feed>) {
    let mut bell = feed.doorbell.subscribe();
    let fallback = Duration::from_millis(hub.settings.fallback_poll_ms.max(10));
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
            _ = tokio::time::sleep(fallback) => {}
            _ = closing.changed() => {}
        }
    }
}

/// One read: `Some(batch)` when events settled.
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
            return Ok(None);
        }
    };
    let page = log::settled_after(&mut conn, session_id, from).await?;
    *position = Some(page.reached);
    if page.rows.is_empty() {
        return Ok(None);
    }
    let start = chain_end.unwrap_or(from);
    let batch = render::batch(&mut conn, session_id, start, page.reached, &page.rows).await?;
    *chain_end = Some(page.reached);
    Ok(Some(batch))
}
