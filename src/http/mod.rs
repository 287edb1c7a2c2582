//! What every route shares at the HTTP edge: the JSON body extractor,
//! problem responses for the framework's own errors, pages, and validation.

pub mod conditional;
pub mod deadline;
pub mod frame;
pub mod head;
pub mod json;
pub mod pages;
pub mod problems;
pub mod security;
pub mod validate;

pub use json::{BodyDigest, Json, JsonLimit, LateJson};
pub use pages::{Page, PageParams};
pub use validate::Check;

/// For PATCH bodies: tells an absent field (`None`) from an explicit `null`
/// (`Some(None)`).
pub fn double_option<'de, T, D>(de: D) -> Result<Option<Option<T>>, D::Error>
where
    T: serde::Deserialize<'de>,
    D: serde::Deserializer<'de>,
{
    serde::Deserialize::deserialize(de).map(Some)
}
