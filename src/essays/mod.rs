//! Essays: import into stable paragraphs, and reading them back.

pub mod models;
pub mod routes;
pub mod split;

pub use routes::routes;
