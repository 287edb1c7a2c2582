//! Connections: the pool, the private cluster used when no URL is set,
//! migrations, and the replaceable schema of triggers applied after them
//! (`src/db/replaceable/triggers.sql`).

pub mod connect;
pub mod embedded;
pub mod enums;
pub mod migrate;
pub mod modlog;
pub mod pool;
pub mod pooler;
pub mod prepared;
pub mod replaceable;
pub mod rules;
pub mod timeouts;
mod url;
mod verify;

pub use connect::{connect, Connector};
pub use pool::{build_pool, Conn, Pool, Pools};
pub use timeouts::is_timeout;
