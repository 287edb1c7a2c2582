//! Threads anchored to paragraphs (or a quoted span of one) and their nested
//! comments. Counting is not done here: the triggers in
//! `src/db/replaceable/triggers.sql` apply the one "is counted" rule on every
//! insert and state change; its header states the lock order writers follow.

pub mod anchor;
pub mod anchors;
pub mod comments;
pub mod models;
pub mod post_queue;
pub mod posting;
pub mod reanchor;
pub mod routes;
pub mod rules;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.configure(routes::routes).configure(comments::routes).configure(reanchor::routes);
}
