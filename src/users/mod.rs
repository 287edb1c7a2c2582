//! Accounts as others see them, and `/me`.

pub mod blocks;
pub mod deletion;
pub mod email;
pub mod exports;
pub mod models;
pub mod routes;

pub use models::{User, UserView};
