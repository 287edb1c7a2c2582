use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use deadpool::managed::WeakPool;
use diesel_async::pooled_connection::deadpool::{Object, Pool as DeadPool};
use diesel_async::pooled_connection::{AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod};
use diesel_async::AsyncPgConnection;

use super::Connector;
use crate::error::ApiError;

pub type Pool = DeadPool<AsyncPgConnection>;
pub type Conn = Object<AsyncPgConnection>;

/// A pool whose checkouts wait at most `timeout`, so a request gets 503
/// instead of hanging when the database is gone. Every connection is opened
/// by `connector` (TLS, and the server-side timeouts).
pub fn build_pool(connector: Arc<Connector>, size: usize, timeout: Duration) -> anyhow::Result<Pool> {
    let mut manager_config = ManagerConfig::default();
    manager_config.custom_setup = Box::new(move |_url| {
        let connector = connector.clone();
        Box::pin(async move { connector.connect().await })
    });
    // A broken connection is noticed by `is_broken` and dropped on recycle;
    // a test query on every checkout would cost a round trip per request.
    manager_config.recycling_method = RecyclingMethod::Fast;
    let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config("", manager_config);
    Ok(DeadPool::builder(manager)
        .max_size(size)
        .wait_timeout(Some(timeout))
        .create_timeout(Some(timeout))
        .recycle_timeout(Some(timeout))
        .runtime(deadpool::Runtime::Tokio1)
        .build()?)
}

/// Checks out a connection, or 503. A connection opened before the schema
/// last changed under a running statement is closed instead of used: its
/// cached statements may be of the old schema (see [`schema_changed`]).
pub async fn conn(pool: &Pool) -> Result<Conn, ApiError> {
    loop {
        let conn = pool.get().await?;
        if !opened_before_schema_change(&conn) {
            return Ok(conn);
        }
        drop(Object::take(conn));
    }
}

/// When a statement last failed because a migration changed a table under
/// it (nanoseconds after [`EPOCH`]; 0 = never).
static SCHEMA_CHANGED: AtomicU64 = AtomicU64::new(0);
static EPOCH: OnceLock<Instant> = OnceLock::new();

fn since_epoch(at: Instant) -> u64 {
    let epoch = *EPOCH.get_or_init(Instant::now);
    at.saturating_duration_since(epoch).as_nanos().try_into().unwrap_or(u64::MAX).max(1)
}

/// A statement failed because the schema changed under it: PostgreSQL's
/// "cached plan must not change result type", or a cached row type that
/// lost a column ("attribute N of type record has been dropped"). A
/// connection keeps its prepared statements for its lifetime, so every
/// connection opened before now is retired at its next checkout; the
/// request's work can then run again on a fresh one.
pub fn schema_changed() {
    SCHEMA_CHANGED.fetch_max(since_epoch(Instant::now()), Ordering::AcqRel);
}

/// How many times the schema was seen changing: work that failed while this
/// moved failed because of it, and may be run again.
pub fn schema_generation() -> u64 {
    SCHEMA_CHANGED.load(Ordering::Acquire)
}

fn opened_before_schema_change(conn: &Conn) -> bool {
    let changed = SCHEMA_CHANGED.load(Ordering::Acquire);
    changed != 0 && since_epoch(Object::metrics(conn).created) < changed
}

/// Whether `e` says a cached statement no longer fits the schema.
pub fn is_stale_statement(e: &diesel::result::Error) -> bool {
    let diesel::result::Error::DatabaseError(_, info) = e else { return false };
    let message = info.message();
    message.contains("cached plan must not change result type")
        || (message.starts_with("attribute ") && message.contains("has been dropped"))
}

/// The instance's pools: one per HTTP worker, and a shared one for the
/// background work and the live event streams.
///
/// Why one per worker: a connection's socket is driven by a task on the
/// runtime that opened it, and every actix worker is a runtime of its own
/// thread. A connection opened by one worker and checked out by another
/// sends each statement across threads and back (two wake-ups, and a wait
/// whenever the owning worker is busy). A worker that opens every
/// connection it uses keeps the whole request on its thread.
pub struct Pools {
    shared: Pool,
    connector: Arc<Connector>,
    /// Streaming replicas (`database.replica_urls`): each worker has a pool
    /// of each, as large as its pool of the primary.
    replicas: Vec<Arc<Connector>>,
    per_worker: usize,
    timeout: Duration,
    /// Weak: a worker that actix restarts builds a new pool, and the old
    /// one must go (with its connections) when the old app does.
    workers: Mutex<Vec<WeakPool<AsyncDieselConnectionManager<AsyncPgConnection>>>>,
}

/// What `/metrics` reports of the pools, summed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Totals {
    pub max_size: usize,
    pub size: usize,
    pub available: usize,
    pub waiting: usize,
}

impl Pools {
    /// `size` connections for requests, split evenly among `workers`, and a
    /// shared pool of `size` more for the event streams and background work
    /// (all opened only when first needed).
    pub fn new(
        connector: Arc<Connector>,
        replicas: Vec<Arc<Connector>>,
        size: usize,
        workers: usize,
        timeout: Duration,
    ) -> anyhow::Result<Self> {
        Ok(Self {
            shared: build_pool(connector.clone(), size, timeout)?,
            connector,
            replicas,
            per_worker: size.div_ceil(workers.max(1)),
            timeout,
            workers: Mutex::new(Vec::new()),
        })
    }

    pub fn shared(&self) -> &Pool {
        &self.shared
    }

    /// A pool for the worker calling this (from its app factory): its
    /// connections are opened, and so driven, by that worker's runtime.
    pub fn for_this_worker(&self) -> anyhow::Result<Pool> {
        let pool = build_pool(self.connector.clone(), self.per_worker, self.timeout)?;
        self.workers.lock().map_err(|_| anyhow::anyhow!("pool registry poisoned"))?.push(pool.weak());
        Ok(pool)
    }

    /// This worker's pools of the replicas, in the order of `replica_urls`.
    pub fn replicas_for_this_worker(&self) -> anyhow::Result<Vec<Pool>> {
        let pools = self
            .replicas
            .iter()
            .map(|c| build_pool(c.clone(), self.per_worker, self.timeout))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let mut registry = self.workers.lock().map_err(|_| anyhow::anyhow!("pool registry poisoned"))?;
        registry.extend(pools.iter().map(Pool::weak));
        Ok(pools)
    }

    /// The shared pool and every worker's pool still in use, summed.
    pub fn totals(&self) -> Totals {
        let mut workers: Vec<Pool> = Vec::new();
        if let Ok(mut pools) = self.workers.lock() {
            pools.retain(|weak| weak.upgrade().map(|pool| workers.push(pool)).is_some());
        }
        std::iter::once(&self.shared).chain(workers.iter()).map(Pool::status).fold(
            Totals::default(),
            |t, s| Totals {
                max_size: t.max_size + s.max_size,
                size: t.size + s.size,
                available: t.available + s.available,
                waiting: t.waiting + s.waiting,
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_connections_are_split_among_workers_beside_the_shared_pool() {
        let connector = Arc::new(Connector::new("host=/nowhere dbname=pilcrow", None).expect("connector"));
        let pools = Pools::new(connector, Vec::new(), 5, 2, Duration::from_millis(10)).expect("pools");
        assert_eq!(pools.totals().max_size, 5, "no worker has started");
        let first = pools.for_this_worker().expect("first worker");
        let second = pools.for_this_worker().expect("second worker");
        assert_eq!((first.status().max_size, second.status().max_size), (3, 3));
        assert_eq!(pools.totals(), Totals { max_size: 11, size: 0, available: 0, waiting: 0 });
        drop(first);
        assert_eq!(pools.totals().max_size, 8, "a pool no worker holds is no longer counted");
    }
}
