//! A primary with a streaming replica that replays its log late, for the
//! reads served by replicas: one pair per test run, a database each, and
//! replicas of their own for tests that stop one.

use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use pilcrow::db::embedded::Cluster;
use pilcrow::db::migrate;

/// How late the shared replica replays what the primary wrote.
pub const APPLY_DELAY: Duration = Duration::from_secs(2);
const TEMPLATE: &str = "template_replicated";

struct Pair {
    primary: Mutex<Cluster>,
    /// Kept alive for the whole run.
    _replica: Mutex<Cluster>,
    primary_base: String,
    replica_base: String,
}

static PAIR: OnceLock<Pair> = OnceLock::new();

fn base(cluster: &Cluster) -> String {
    cluster.url("postgres").replace(" dbname=postgres", "")
}

fn pair() -> &'static Pair {
    PAIR.get_or_init(|| {
        std::thread::spawn(|| {
            let primary = Cluster::start_ephemeral().expect("starting the primary");
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            rt.block_on(async {
                primary.ensure_database(TEMPLATE).await.expect("creating the template database");
                migrate::run(&primary.url(TEMPLATE)).await.expect("migrating the template database");
            });
            let replica = primary.start_replica(APPLY_DELAY).expect("starting the replica");
            Pair {
                primary_base: base(&primary),
                replica_base: base(&replica),
                primary: Mutex::new(primary),
                _replica: Mutex::new(replica),
            }
        })
        .join()
        .expect("replicated cluster thread")
    })
}

/// A replicated database: its URL on the primary and on the replica, once
/// the replica has replayed its creation.
pub async fn replicated_database() -> (String, String) {
    let pair = pair();
    let name = format!("test_{}", uuid::Uuid::new_v4().simple());
    let mut admin =
        AsyncPgConnection::establish(&format!("{} dbname=postgres", pair.primary_base)).await.expect("admin");
    diesel::sql_query(format!("CREATE DATABASE {name} TEMPLATE {TEMPLATE}"))
        .execute(&mut admin)
        .await
        .expect("creating the database");
    let (primary, replica) =
        (format!("{} dbname={name}", pair.primary_base), format!("{} dbname={name}", pair.replica_base));
    wait_for_database(&replica).await;
    (primary, replica)
}

/// A replica of the shared primary of its own (replaying at once), to stop
/// in the middle of a test; the database must already exist on the primary.
pub fn own_replica() -> (Cluster, String) {
    let primary = pair().primary.lock().expect("primary");
    let replica = primary.start_replica(Duration::ZERO).expect("starting a replica");
    let base = base(&replica);
    (replica, base)
}

/// The replica's URL of a database named in a primary URL.
pub fn on_replica(replica_base: &str, primary_url: &str) -> String {
    let name = primary_url.rsplit("dbname=").next().expect("dbname");
    format!("{replica_base} dbname={name}")
}

pub async fn wait_for_database(url: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while AsyncPgConnection::establish(url).await.is_err() {
        assert!(Instant::now() < deadline, "the replica never showed {url}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
