//! Connections: the pool, the private cluster used when no URL is set, and
//! migrations.

pub mod embedded;
pub mod migrate;
pub mod pool;
pub mod timeouts;

pub use pool::{build_pool, Conn, Pool};
pub use timeouts::is_timeout;

/// One connection outside the pool (migrations, the command line).
pub async fn connect(url: &str) -> diesel::ConnectionResult<diesel_async::AsyncPgConnection> {
    use diesel_async::AsyncConnection;
    diesel_async::AsyncPgConnection::establish(url).await
}
