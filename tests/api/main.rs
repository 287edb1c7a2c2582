//! The HTTP API, end to end: real server on port 0, real PostgreSQL.

mod helpers;

mod access;
mod auth_login;
mod auth_refresh;
mod auth_register;
mod auth_tokens;
mod auth_upkeep;
mod bans;
mod comments;
mod database_rules;
mod essays;
mod existence_oracles;
mod group_members;
mod groups;
mod health;
mod http;
mod idempotency;
mod invites;
mod migrations;
mod moderation_hiding;
mod moderation_idempotence;
mod moderation_locks_and_bans;
mod moderation_roles;
mod modlog;
mod openapi;
mod operations_cli;
mod operations_http;
mod operations_timeouts;
mod operations_tls;
mod password_reset;
mod rate_limits;
mod reports;
mod sessions;
mod threads;
mod users;
