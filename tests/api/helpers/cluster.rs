//! One throwaway PostgreSQL cluster per test run, a template database
//! migrated once on it, and a fresh database cloned from the template for
//! every test.

use std::sync::{Mutex, OnceLock};

use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use pilcrow::db::embedded::Cluster;
use pilcrow::db::migrate;

const TEMPLATE: &str = "template_pilcrow";

struct TestCluster {
    /// Kept alive for the whole run; the guard stops it when the process exits.
    _cluster: Mutex<Cluster>,
    base_url: String,
}

impl TestCluster {
    fn url(&self, db: &str) -> String {
        format!("{} dbname={db}", self.base_url)
    }
}

static CLUSTER: OnceLock<TestCluster> = OnceLock::new();

fn cluster() -> &'static TestCluster {
    CLUSTER.get_or_init(|| {
        // Its own thread and runtime: the first test's runtime ends with that test.
        std::thread::spawn(|| {
            let cluster = Cluster::start_ephemeral().expect("starting the test PostgreSQL cluster");
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            rt.block_on(async {
                cluster.ensure_database(TEMPLATE).await.expect("creating the template database");
                migrate::run(&cluster.url(TEMPLATE)).await.expect("migrating the template database");
            });
            let base_url = cluster.url("postgres").replace(" dbname=postgres", "");
            TestCluster { _cluster: Mutex::new(cluster), base_url }
        })
        .join()
        .expect("test cluster thread")
    })
}

/// Where the test cluster listens: `host=<socket dir> port=<port> user=postgres`.
pub fn cluster_address() -> &'static str {
    &cluster().base_url
}

/// A fresh database cloned from the migrated template.
pub async fn fresh_database() -> String {
    let c = cluster();
    let name = format!("test_{}", uuid::Uuid::new_v4().simple());
    let mut conn = AsyncPgConnection::establish(&c.url("postgres")).await.expect("admin connection");
    for attempt in 0..50 {
        match diesel::sql_query(format!("CREATE DATABASE {name} TEMPLATE {TEMPLATE}"))
            .execute(&mut conn)
            .await
        {
            Ok(_) => return c.url(&name),
            // The template is briefly "being accessed" right after migrating it.
            Err(e) if attempt < 49 && e.to_string().contains("being accessed") => {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await
            }
            Err(e) => panic!("creating {name}: {e}"),
        }
    }
    unreachable!()
}

pub(super) fn drop_database(url: &str) {
    let Some(name) = url.rsplit("dbname=").next().map(str::to_owned) else { return };
    let admin = cluster().url("postgres");
    // Drop runs outside any runtime we may use; do it on a thread of its own.
    let _ = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
        rt.block_on(async {
            let mut conn = AsyncPgConnection::establish(&admin).await.ok()?;
            diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut conn)
                .await
                .ok()
        })
    })
    .join();
}
