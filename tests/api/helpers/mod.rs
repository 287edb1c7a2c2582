#![allow(dead_code, unused_imports)] // shared by every test file; not each uses every helper
//! Shared fixtures for the HTTP tests, one concern per module. Everything is
//! re-exported here, so test files import from `crate::helpers` only.

mod app;
mod client;
mod cluster;
mod deletion;
mod essay;
mod events;
mod exports;
mod limits;
mod mailing;
mod moderated;
mod notifications;
mod pooler;
mod process;
mod push;
mod questions;
mod reading;
mod replica;
mod revisions;
mod roles;
mod schema;
mod smtp;
mod threads;
mod users;
mod wpt;

pub use app::{spawn_app, spawn_app_on, spawn_app_with, test_settings, TestApp};
pub use client::{assert_each_once, Resp};
pub use cluster::fresh_database;
pub use deletion::{DELETION_WAIT, PERSONAL_ROWS};
pub use essay::{
    essay_fixture, fixture_blocks, shared_seed_essay, text_blocks, ESSAY_AUTHOR, ESSAY_QUOTE, ESSAY_TITLE,
};
pub use events::{created_comment_ids, EventStream, Sse, SOON};
pub use exports::{export_settings, json_of, spawn_export_app, unzip};
pub use limits::{assert_rate_limited, limited, limited_behind_proxy, small};
pub use mailing::{mail_settings, spawn_mail_app, to, APP_URL};
pub use moderated::{all_counts, comments_of, hidden_state, thread_ids};
pub use notifications::{items, notifying_instance_on, release_notifier, spawn_notifying_app, NOTIFIER_WAIT};
pub use pooler::{shared_session_pooler, PgBouncer, PoolMode};
pub use process::Served;
pub use push::{pushing_instance_on, spawn_pushing_app, Browser, PushReceiver, Received, PUSH_WAIT};
pub use questions::{recount_open_questions, recount_votes};
pub use reading::Reading;
pub use replica::{on_replica, own_replica, replicated_database, wait_for_database, APPLY_DELAY};
pub use revisions::{assert_counts_exact, assert_quotes_exact, span_of};
pub use roles::{cast, check_cell, id, modlog_rows, own, Cast, Cell, MatrixRow, Who, MODERATOR_ROUTE};
pub use schema::{function_oids, mark_stale, recorded};
pub use smtp::{Mail, SmtpInbox};
pub use threads::{recount, Recount};
pub use users::{register_body, TestUser};
pub use wpt::{must_assertions, wpt_annotation_model, Assertion};
