//! Connections: the pool, the private cluster used when no URL is set, and
//! migrations.

pub mod embedded;
pub mod enums;
pub mod migrate;
pub mod modlog;
pub mod pool;

pub use pool::{build_pool, Conn, Pool};
