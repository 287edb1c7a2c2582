//! Pilcrow: a discussion-forum backend for reading groups.

pub mod access;
pub mod auth;
pub mod cli;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod essays;
pub mod groups;
pub mod health;
pub mod http;
pub mod idempotency;
pub mod ids;
pub mod metrics;
pub mod moderation;
pub mod openapi;
pub mod ratelimit;
pub mod routes;
pub mod schema;
pub mod secrets;
pub mod sessions;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod threads;
pub mod users;
