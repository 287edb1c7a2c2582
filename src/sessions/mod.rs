//! Reading sessions: an essay read together over a period, and what a
//! reader renders: the paragraphs with their thread and comment counts.

pub mod models;
pub mod routes;

pub use routes::routes;
