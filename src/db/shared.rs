//! Reads that share a connection. A session's counts, its paragraphs and a
//! thread's comment page are single statements outside any transaction, so
//! the reads of one worker need not take a connection each: they send their
//! statements down one connection together and tokio-postgres pipelines
//! them (diesel-async runs statements on `&AsyncPgConnection` concurrently).
//! PostgreSQL then answers a queue of statements from one backend without
//! sleeping and waking between them; a pooled connection a request costs a
//! round trip and a wake-up of its own backend each. Measured at the
//! database (pgbench, the counts statement of a member): 64 clients one
//! statement at a time 7,500-8,100 a second; 4 clients with 16 in flight
//! each 17,600-19,500 (benches/RESULTS.md, session 10).
//!
//! Never for a transaction, a lock, or a `SET`: everything sent here runs
//! between other requests' statements. A lane whose connection ends (the
//! database restarted, the network went) is opened again by the next read.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use diesel_async::AsyncPgConnection;
use tokio::sync::{Mutex, OwnedSemaphorePermit, Semaphore};

use super::Connector;
use crate::error::{ApiError, ApiResult};

/// Statements one lane may have in flight; a read beyond them waits for
/// one to finish (at most the pool's checkout timeout, then 503).
const DEPTH: usize = 32;

/// One worker's lanes (cheap to clone).
#[derive(Clone)]
pub struct SharedReads {
    inner: Arc<Inner>,
}

struct Inner {
    connector: Arc<Connector>,
    lanes: Vec<Lane>,
    next: AtomicUsize,
    timeout: Duration,
}

struct Lane {
    open: Mutex<Option<Open>>,
    depth: Arc<Semaphore>,
}

#[derive(Clone)]
struct Open {
    conn: Arc<AsyncPgConnection>,
    /// Set when the connection's task ends: the lane opens a new one.
    closed: Arc<AtomicBool>,
}

/// A lane's connection for one read; derefs to the connection.
pub struct SharedConn {
    conn: Arc<AsyncPgConnection>,
    _slot: OwnedSemaphorePermit,
}

impl std::ops::Deref for SharedConn {
    type Target = AsyncPgConnection;

    fn deref(&self) -> &AsyncPgConnection {
        &self.conn
    }
}

impl SharedReads {
    /// `lanes` connections, each opened by the first read that needs it, on
    /// that read's runtime (a worker's lanes are driven by that worker).
    pub fn new(connector: Arc<Connector>, lanes: usize, timeout: Duration) -> Self {
        let lanes = (0..lanes.max(1))
            .map(|_| Lane { open: Mutex::new(None), depth: Arc::new(Semaphore::new(DEPTH)) })
            .collect();
        Self { inner: Arc::new(Inner { connector, lanes, next: AtomicUsize::new(0), timeout }) }
    }

    /// A connection to send one read's statements on, or 503 when none is
    /// free or can be opened within the timeout.
    pub async fn conn(&self) -> ApiResult<SharedConn> {
        let inner = &self.inner;
        let lane = &inner.lanes[inner.next.fetch_add(1, Ordering::Relaxed) % inner.lanes.len()];
        let timeout = inner.timeout;
        let slot = tokio::time::timeout(timeout, lane.depth.clone().acquire_owned())
            .await
            .map_err(|_| ApiError::unavailable(anyhow::anyhow!("no shared read lane within {timeout:?}")))?
            .map_err(ApiError::unavailable)?;
        let open =
            tokio::time::timeout(timeout, lane.connection(&inner.connector)).await.map_err(|_| {
                ApiError::unavailable(anyhow::anyhow!("opening a shared read lane took {timeout:?}"))
            })??;
        Ok(SharedConn { conn: open.conn, _slot: slot })
    }
}

impl Lane {
    /// The lane's open connection, opened (again) if it has none or it ended.
    async fn connection(&self, connector: &Connector) -> ApiResult<Open> {
        let mut open = self.open.lock().await;
        if let Some(current) = open.as_ref().filter(|o| !o.closed.load(Ordering::Acquire)) {
            return Ok(current.clone());
        }
        let (conn, closed) =
            connector.connect_watched().await.map_err(|e| ApiError::unavailable(anyhow::anyhow!(e)))?;
        let fresh = Open { conn: Arc::new(conn), closed };
        *open = Some(fresh.clone());
        Ok(fresh)
    }
}
