//! Comments: nested replies in a thread, posted, edited and deleted by
//! their authors. Posts are batched per worker (`post_queue`) and written by
//! one statement (`posting`, through `r.post_comments`). Counting is not done
//! here: the triggers in `src/db/replaceable/triggers.sql` apply the one "is
//! counted" rule on every insert and state change; its header states the
//! lock order writers follow.

pub mod models;
pub mod post_queue;
pub mod posting;
pub mod routes;

pub use models::Comment;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.configure(routes::routes);
}
