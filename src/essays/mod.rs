//! Essays: import into stable paragraphs, and reading them back.

pub mod models;
pub mod revise;
pub mod revision_routes;
pub mod revisions;
pub mod routes;
pub mod split;

/// Every essay route: import and reading, and revisions.
pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    routes::routes(cfg);
    revision_routes::routes(cfg);
}
