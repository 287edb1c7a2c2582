//! Pilcrow: a discussion-forum backend for reading groups.

pub mod auth;
pub mod config;
pub mod db;
pub mod error;
pub mod health;
pub mod http;
pub mod openapi;
pub mod schema;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod users;
