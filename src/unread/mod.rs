//! Unread state: per reader and thread, the newest comment seen (a mark, as
//! the comment's `seq`), only ever raised. A comment is unread for a reader
//! when it counts (the one rule of src/db/replaceable/triggers.sql), someone
//! else wrote it, and its seq is above the reader's mark in its thread; a
//! thread never marked has all its counted comments unread.
//!
//! Why seq and not time: within a thread, seq order is commit order (every
//! comment insert holds the thread's row lock from drawing its seq until
//! commit; see the Reader features section of triggers.sql), so a mark at
//! the newest comment a reader was shown can never cover a comment that
//! commits later with a lower number (the commit-order pitfall).
//!
//! Posting raises the author's mark to their comment (the
//! `comments_posted` trigger), which is also why a thread without a mark
//! holds no comment of the reader's own.
//!
//! Counting is arithmetic over numbers the triggers keep beside the marks
//! (a mark's `below`, a reader's `seen` per paragraph): the rule and why it
//! stays exact under hides, restores, deletes and concurrent raises is
//! "UNREAD BY ARITHMETIC" in src/db/replaceable/triggers.sql.

pub mod models;
pub mod routes;

pub use models::paragraph_seen;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.configure(routes::routes);
}
