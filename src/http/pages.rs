//! Keyset pagination: one query type, one cursor encoding, one page shape.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::{ApiError, ApiResult, ErrorCode};

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 100;

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Page size, 1–100 (default 50).
    #[param(schema_with = limit_schema)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// The same numbers `PageParams::limit` enforces.
fn limit_schema() -> utoipa::openapi::schema::Object {
    use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
        .minimum(Some(1))
        .maximum(Some(MAX_LIMIT))
        .default(Some(DEFAULT_LIMIT.into()))
        .build()
}

impl PageParams {
    pub fn limit(&self) -> ApiResult<i64> {
        match self.limit {
            None => Ok(DEFAULT_LIMIT),
            Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
            Some(_) => Err(ApiError::invalid_field("limit", format!("must be between 1 and {MAX_LIMIT}"))),
        }
    }

    /// The decoded cursor, or `None` for the first page.
    pub fn after<C: DeserializeOwned>(&self) -> ApiResult<Option<C>> {
        let Some(raw) = &self.cursor else { return Ok(None) };
        let invalid =
            || ApiError::bad_request(ErrorCode::InvalidCursor, "The cursor is not one this list gave out.");
        let bytes = URL_SAFE_NO_PAD.decode(raw).map_err(|_| invalid())?;
        serde_json::from_slice(&bytes).map(Some).map_err(|_| invalid())
    }
}

/// The rows past a keyset cursor, for a list ordered by the named columns
/// all descending (`<`) or all ascending (`>`): `keyset!(< a => x, b => y)`
/// is `a < x OR (a = x AND b < y)`, the row comparison `(a, b) < (x, y)`
/// spelled so that PostgreSQL uses the list's index. Every list pages this way.
macro_rules! keyset {
    (<, $col:expr => $val:expr) => { $col.lt($val) };
    (>, $col:expr => $val:expr) => { $col.gt($val) };
    (<, $col:expr => $val:expr, $($rest:tt)+) => {
        $col.lt($val).or($col.eq($val).and($crate::http::pages::keyset!(<, $($rest)+)))
    };
    (>, $col:expr => $val:expr, $($rest:tt)+) => {
        $col.gt($val).or($col.eq($val).and($crate::http::pages::keyset!(>, $($rest)+)))
    };
}
pub(crate) use keyset;

/// A page of a list: `{"items": [...], "next_cursor": "..." | null}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// `rows` was fetched with `limit + 1`; the extra row only says another page exists.
    pub fn from_rows<C: Serialize>(mut rows: Vec<T>, limit: i64, key: impl Fn(&T) -> C) -> Self {
        let more = rows.len() as i64 > limit;
        rows.truncate(limit as usize);
        let next_cursor = if more { rows.last().map(|last| encode(&key(last))) } else { None };
        Page { items: rows, next_cursor }
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page { items: self.items.into_iter().map(f).collect(), next_cursor: self.next_cursor }
    }
}

fn encode<C: Serialize>(key: &C) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(key).unwrap_or_default())
}
