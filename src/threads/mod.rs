//! Threads anchored to paragraphs (or a quoted span of one: `crate::anchors`),
//! started with their first comment (`crate::comments`). Counting is not
//! done here: the triggers in `src/db/replaceable/triggers.sql` apply the one
//! "is counted" rule on every insert and state change; its header states the
//! lock order writers follow.

pub mod models;
pub mod routes;
pub mod rules;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.configure(routes::routes);
}
