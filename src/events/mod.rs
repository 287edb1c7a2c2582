//! Live session events: a log written by database triggers in each
//! writer's transaction (src/db/replaceable/triggers.sql, "LIVE SESSION
//! EVENTS"), read gap-free by `(xid, id)` below the settled horizon
//! ([`cursor`]), rendered per viewer at delivery ([`render`]), fanned out by
//! one pump per live session per instance ([`hub`]) to per-reader streams
//! ([`stream`]) that their response bodies run ([`body`]), with instances
//! woken by a batched NOTIFY sent off the write path ([`notify`]).

pub mod body;
pub mod hub;
pub mod log;
pub mod notify;
pub mod render;
pub mod routes;
pub mod stream;
pub mod tickets;

pub use hub::EventHub;
pub use routes::routes;
