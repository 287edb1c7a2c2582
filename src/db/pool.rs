use std::sync::Arc;
use std::time::Duration;

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

/// Checks out a connection, or 503.
pub async fn conn(pool: &Pool) -> Result<Conn, ApiError> {
    Ok(pool.get().await?)
}
