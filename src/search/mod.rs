//! Full-text search over a group's thread titles and comment bodies.
//!
//! PostgreSQL full-text search with the 'simple' configuration (every word as
//! written, lower-cased): comments carry a generated `search` vector with a
//! GIN index, thread titles an expression GIN index (migration 000042).
//! Queries go through `websearch_to_tsquery`, which accepts any text (quotes,
//! `-word`, `or`, stray operators) without a syntax error. Results follow the
//! caller's visibility exactly as lists do; deleted comments are never found,
//! not even by moderators (their words were withdrawn; moderators keep the
//! revisions route). Snippets are made only for the page returned. The
//! statement is written so the GIN indexes answer it and reads a bounded
//! number of matches (`models::statement`).

pub mod models;
pub mod routes;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.configure(routes::routes);
}
