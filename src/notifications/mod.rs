//! In-app notifications: who is told what, derived after the fact from the
//! committed event log (`notifier`), the inbox and its read state (`routes`),
//! watch levels (`watches`), and Web Push to subscribed browsers (`push`).
//!
//! A write never notifies anyone itself: posting a comment costs the same
//! however many people are to be told, and a server killed right after its
//! 201 loses nothing, since the notifier reads what committed.

pub mod live;
pub mod mentions;
pub mod notifier;
pub mod push;
pub mod routes;
pub mod stream_routes;
pub mod watches;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.configure(routes::routes).configure(stream_routes::routes).configure(watches::routes);
}

crate::db_enum! {
    /// Why an item is in the inbox, strongest first: an item keeps the
    /// strongest reason seen since its recipient last read it.
    #[derive(PartialOrd, Ord)]
    pub enum Reason {
        Moderation,
        Mention,
        Reply,
        AnswerAccepted,
        Reanchored,
        Watching,
    }
}

crate::db_enum! {
    /// How much a reader hears from a scope.
    pub enum Level {
        /// Also every new thread and comment.
        Watching,
        /// Replies, mentions, accepted answers, re-anchoring, moderation.
        Normal,
        /// Moderation only.
        Muted,
    }
}

crate::db_enum! {
    /// What a watch level is set on, widest first.
    pub enum WatchScope {
        Group,
        Session,
        Paragraph,
        Thread,
    }
}
