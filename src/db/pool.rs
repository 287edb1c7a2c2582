use std::time::Duration;

use diesel_async::pooled_connection::deadpool::{Object, Pool as DeadPool};
use diesel_async::pooled_connection::{AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod};
use diesel_async::AsyncPgConnection;

use crate::error::ApiError;

pub type Pool = DeadPool<AsyncPgConnection>;
pub type Conn = Object<AsyncPgConnection>;

/// A pool whose checkouts wait at most `timeout`, so a request gets 503
/// instead of hanging when the database is gone.
pub fn build_pool(url: &str, size: usize, timeout: Duration) -> anyhow::Result<Pool> {
    let mut manager_config = ManagerConfig::default();
    // A broken connection is noticed by `is_broken` and dropped on recycle;
    // a test query on every checkout would cost a round trip per request.
    manager_config.recycling_method = RecyclingMethod::Fast;
    let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(url, manager_config);
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
