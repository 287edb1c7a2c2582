//! The HTTP API, end to end: real server on port 0, real PostgreSQL.

mod helpers;

mod access;
mod auth;
mod bans;
mod comments;
mod essays;
mod groups;
mod health;
mod http;
mod invites;
mod migrations;
mod moderation;
mod modlog;
mod openapi;
mod operations_cli;
mod operations_http;
mod operations_timeouts;
mod operations_tls;
mod reports;
mod sessions;
mod threads;
mod users;
