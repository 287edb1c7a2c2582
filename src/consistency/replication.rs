//! Where a read goes: a replica that has replayed what the reader has seen,
//! or the primary. One instance's view of its database servers, kept by a
//! monitor that reads every server's log position a few times a second.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use tokio_postgres::{Client, SimpleQueryMessage};

use super::position::Position;
use super::token::{Lineage, Lsn, Token};
use crate::db::Connector;

/// How often the monitor reads the servers' positions.
const POLL: Duration = Duration::from_millis(50);
/// A position query, or a connection, that takes longer counts as failed.
const PATIENCE: Duration = Duration::from_millis(1000);
/// Between two looks at a replica a tokened read is waiting for.
const WAIT_STEP: Duration = Duration::from_millis(5);

pub const READS: &str = "pilcrow_database_reads_total";
pub const FALLBACKS: &str = "pilcrow_database_read_fallbacks_total";

/// Where a read was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Primary,
    Replica(usize),
}

/// Why a read that could have gone to a replica went to the primary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fallback {
    /// No replica answers, or every one is further behind than allowed.
    Unavailable,
    /// No replica replayed the reader's token within `replica_wait_ms`.
    Behind,
    /// The token belongs to another cluster or timeline (a failover).
    Lineage,
    /// The replica failed during the read; it was run again on the primary.
    Failed,
}

impl Fallback {
    fn label(self) -> &'static str {
        match self {
            Fallback::Unavailable => "unavailable",
            Fallback::Behind => "behind",
            Fallback::Lineage => "lineage",
            Fallback::Failed => "failed",
        }
    }
}

pub fn count_read(target: Target) {
    let label = if matches!(target, Target::Primary) { "primary" } else { "replica" };
    metrics::counter!(READS, "target" => label).increment(1);
}

pub fn count_fallback(why: Fallback) {
    metrics::counter!(FALLBACKS, "reason" => why.label()).increment(1);
}

/// One server the monitor talks to over a connection of its own (simple
/// protocol only, so a pooler in front of a replica does no harm).
struct Link {
    connector: Arc<Connector>,
    client: Mutex<Option<Arc<Client>>>,
    position: Position,
}

impl Link {
    fn new(connector: Arc<Connector>) -> Self {
        Link { connector, client: Mutex::new(None), position: Position::default() }
    }

    /// The open connection, if there is one (requests never open one).
    fn client(&self) -> Option<Arc<Client>> {
        let guard = self.client.lock().ok()?;
        guard.as_ref().filter(|c| !c.is_closed()).cloned()
    }

    /// Opens the connection if it is closed; the monitor calls it.
    async fn connect(&self) -> Option<Arc<Client>> {
        if let Some(client) = self.client() {
            return Some(client);
        }
        let (client, mut messages) =
            tokio::time::timeout(PATIENCE, self.connector.bare_client()).await.ok()?.ok()?;
        tokio::spawn(async move { while let Some(Ok(_)) = messages.next().await {} });
        let client = Arc::new(client);
        if let Ok(mut slot) = self.client.lock() {
            *slot = Some(client.clone());
        }
        Some(client)
    }

    /// The first row of a query's answer, as text; `None` on any failure.
    async fn row(&self, sql: &str) -> Option<Vec<Option<String>>> {
        let client = self.client()?;
        let messages = tokio::time::timeout(PATIENCE, client.simple_query(sql)).await.ok()?.ok()?;
        messages.into_iter().find_map(|m| match m {
            SimpleQueryMessage::Row(row) => {
                Some((0..row.len()).map(|i| row.get(i).map(str::to_owned)).collect())
            }
            _ => None,
        })
    }
}

struct Replica {
    link: Link,
    /// In recovery, of the primary's cluster, answering, and no further
    /// behind than allowed.
    usable: AtomicBool,
    lag_ms: AtomicU64,
}

/// The instance's database servers as the router sees them.
pub struct Replication {
    primary: Link,
    replicas: Vec<Replica>,
    lineage: RwLock<Option<Lineage>>,
    wait: Duration,
    max_lag: Duration,
    next: AtomicUsize,
    /// The primary's positions over the last while, oldest first: a
    /// replica's lag is how long ago the primary passed its position.
    history: Mutex<VecDeque<(Instant, Lsn)>>,
}

impl Replication {
    /// `primary` is the direct connector (a pooler knows no log positions).
    pub fn new(
        primary: Arc<Connector>,
        replicas: Vec<Arc<Connector>>,
        wait: Duration,
        max_lag: Duration,
    ) -> Self {
        Replication {
            primary: Link::new(primary),
            replicas: replicas
                .into_iter()
                .map(|c| Replica {
                    link: Link::new(c),
                    usable: AtomicBool::new(false),
                    lag_ms: AtomicU64::new(0),
                })
                .collect(),
            lineage: RwLock::new(None),
            wait,
            max_lag,
            next: AtomicUsize::new(0),
            history: Mutex::new(VecDeque::new()),
        }
    }

    pub fn has_replicas(&self) -> bool {
        !self.replicas.is_empty()
    }

    fn lineage(&self) -> Option<Lineage> {
        self.lineage.read().ok().and_then(|l| *l)
    }

    /// Connects to the primary and reads where its log stands: done once
    /// before serving, so the first response already carries a token.
    pub async fn start(&self) -> anyhow::Result<()> {
        self.primary
            .connect()
            .await
            .ok_or_else(|| anyhow::anyhow!("connecting to the primary for its log position"))?;
        self.read_lineage().await;
        let at =
            self.read_primary().await.ok_or_else(|| anyhow::anyhow!("reading the primary's log position"))?;
        self.remember(at);
        // Replicas are judged before the first request, not 50 ms after it.
        for index in 0..self.replicas.len() {
            self.judge(index).await;
        }
        Ok(())
    }

    async fn read_lineage(&self) -> Option<u64> {
        let row = self.primary.row("SELECT system_identifier::text FROM pg_control_system()").await?;
        let system = row.first()?.as_deref()?.parse().ok()?;
        if let Ok(mut lineage) = self.lineage.write() {
            let timeline = lineage.map_or(0, |l| l.timeline);
            *lineage = Some(Lineage { system, timeline });
        }
        Some(system)
    }

    /// The primary's insert position and timeline (the first eight digits
    /// of the name of the log file it writes).
    async fn read_primary(&self) -> Option<Lsn> {
        self.primary
            .position
            .fresh(async || {
                let row = self
                    .primary
                    .row("SELECT pg_current_wal_insert_lsn()::text, pg_walfile_name(pg_current_wal_insert_lsn())")
                    .await?;
                let at = Lsn::parse(row.first()?.as_deref()?)?.without_page_header();
                let timeline = u32::from_str_radix(row.get(1)?.as_deref()?.get(..8)?, 16).ok()?;
                // After a promotion the timeline is new, and every token
                // handed out before it names the old one.
                if let Some(l) = self.lineage.write().ok().as_deref_mut().and_then(Option::as_mut) {
                    l.timeline = timeline;
                }
                Some(at)
            })
            .await
    }

    async fn read_replica(&self, index: usize) -> Option<Lsn> {
        let replica = self.replicas.get(index)?;
        replica
            .link
            .position
            .fresh(async || {
                let row = replica
                    .link
                    .row("SELECT pg_is_in_recovery()::text, pg_last_wal_replay_lsn()::text")
                    .await?;
                if row.first()?.as_deref() != Some("true") {
                    return None;
                }
                Lsn::parse(row.get(1)?.as_deref()?)
            })
            .await
    }

    /// Reads every server's position every `POLL`, reconnecting what
    /// closed, and judges each replica, until the instance shuts down or
    /// its state is gone (its connections then close with it).
    pub async fn monitor(this: std::sync::Weak<Self>, mut closing: tokio::sync::watch::Receiver<bool>) {
        let Some(period) =
            this.upgrade().map(|r| if r.has_replicas() { POLL } else { Duration::from_secs(1) })
        else {
            return;
        };
        let mut every = tokio::time::interval(period);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = every.tick() => {}
                _ = closing.changed() => return,
            }
            let Some(replication) = this.upgrade() else { return };
            replication.round().await;
        }
    }

    async fn round(&self) {
        if self.primary.client().is_none() && self.primary.connect().await.is_some() {
            self.read_lineage().await;
        }
        if !self.has_replicas() {
            return;
        }
        if let Some(at) = self.read_primary().await {
            self.remember(at);
        }
        for index in 0..self.replicas.len() {
            self.judge(index).await;
        }
    }

    fn remember(&self, at: Lsn) {
        let Ok(mut history) = self.history.lock() else { return };
        let now = Instant::now();
        if history.back().is_none_or(|&(_, last)| last < at) {
            history.push_back((now, at));
        }
        let keep = self.max_lag * 2 + Duration::from_secs(1);
        while history.len() > 1 && history.front().is_some_and(|&(t, _)| now.duration_since(t) > keep) {
            history.pop_front();
        }
    }

    /// How long ago the primary passed `replayed` (zero when it has not).
    fn lag(&self, replayed: Lsn) -> Duration {
        let Ok(history) = self.history.lock() else { return Duration::MAX };
        // The first position past `replayed` is the oldest write the replica
        // still lacks.
        match history.iter().find(|&&(_, at)| at > replayed) {
            Some(&(since, _)) => since.elapsed(),
            None => Duration::ZERO,
        }
    }

    async fn judge(&self, index: usize) {
        let Some(replica) = self.replicas.get(index) else { return };
        if replica.link.client().is_none() {
            let joined = match replica.link.connect().await {
                Some(_) => replica
                    .link
                    .row("SELECT system_identifier::text FROM pg_control_system()")
                    .await
                    .and_then(|row| row.first()?.as_deref()?.parse::<u64>().ok()),
                None => None,
            };
            let ours = self.lineage().map(|l| l.system);
            if joined.is_some() && joined != ours {
                tracing::warn!(
                    replica = index,
                    "a replica URL names a server of another cluster; it is not used"
                );
                if let Ok(mut slot) = replica.link.client.lock() {
                    *slot = None;
                }
            }
        }
        let usable = match self.read_replica(index).await {
            Some(replayed) => {
                let lag = self.lag(replayed);
                replica.lag_ms.store(lag.as_millis().try_into().unwrap_or(u64::MAX), Ordering::Relaxed);
                lag <= self.max_lag
            }
            None => false,
        };
        let was = replica.usable.swap(usable, Ordering::AcqRel);
        if was != usable {
            tracing::info!(
                replica = index,
                usable,
                lag_ms = replica.lag_ms.load(Ordering::Relaxed),
                "replica"
            );
        }
    }

    /// A replica that just failed a read is left out until the monitor
    /// finds it well again.
    pub fn set_aside(&self, index: usize) {
        if let Some(replica) = self.replicas.get(index) {
            replica.usable.store(false, Ordering::Release);
        }
    }

    /// Usable replicas, starting at the next in turn.
    fn usable(&self) -> Vec<usize> {
        let n = self.replicas.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        (0..n).map(|i| (start + i) % n).filter(|&i| self.replicas[i].usable.load(Ordering::Acquire)).collect()
    }

    /// Where a read with `token` goes. With a token, only to a replica that
    /// has replayed it (waiting up to `replica_wait_ms` for one), else to
    /// the primary; without one, to any usable replica.
    pub async fn route(&self, token: Option<Token>) -> Result<Target, Fallback> {
        if self.replicas.is_empty() {
            return Ok(Target::Primary);
        }
        let needed = match token {
            None => Lsn(0),
            Some(token) if Some(token.lineage) == self.lineage() => token.position,
            Some(_) => return Err(Fallback::Lineage),
        };
        let usable = self.usable();
        if usable.is_empty() {
            return Err(Fallback::Unavailable);
        }
        if let Some(&index) = usable.iter().find(|&&i| self.replicas[i].link.position.latest() >= needed) {
            return Ok(Target::Replica(index));
        }
        // Behind as last seen: look again until one catches up or time is up.
        let deadline = Instant::now() + self.wait;
        loop {
            for &index in &usable {
                if self.read_replica(index).await.is_some_and(|at| at >= needed) {
                    return Ok(Target::Replica(index));
                }
            }
            if Instant::now() + WAIT_STEP > deadline {
                return Err(Fallback::Behind);
            }
            tokio::time::sleep(WAIT_STEP).await;
        }
    }

    /// The token for a response: a position the server that answered had
    /// reached once the answer was read, never older than the request's.
    /// A write's (or a read on the primary while replicas exist) is read
    /// after the work; elsewhere the last one known serves, since only the
    /// primary answers and it is never behind.
    pub async fn token_after(&self, served: Served, requested: Option<Token>) -> Option<Token> {
        let position = match served {
            // If the replica stopped answering, its last known position is a
            // lower bound of what the read saw: the token may lag a little.
            Served::Replica(index) => match self.read_replica(index).await {
                Some(at) => at,
                None => self.replicas.get(index)?.link.position.latest(),
            },
            Served::Write => self.read_primary().await.unwrap_or_else(|| self.primary.position.latest()),
            Served::Primary if self.has_replicas() => {
                self.read_primary().await.unwrap_or_else(|| self.primary.position.latest())
            }
            Served::Primary | Served::Nothing => self.primary.position.latest(),
        };
        let lineage = self.lineage()?;
        Some(Token { lineage, position }.max(requested))
    }
}

/// What a request's database work ran on, for its response's token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Served {
    #[default]
    Nothing,
    Primary,
    Replica(usize),
    /// A request that may have written (any method but GET, HEAD, OPTIONS).
    Write,
}
