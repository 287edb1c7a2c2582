//! The group's discussion in the standard form other annotation tools read:
//! W3C Web Annotations (Data Model only, read-only; not the LDP Protocol).

pub mod models;
pub mod routes;

pub use routes::routes;
