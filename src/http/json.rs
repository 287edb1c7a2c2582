//! A JSON body extractor that answers the way the API contract asks:
//! 415 for another content type, 413 past the body limit, 400 for malformed
//! JSON, 422 (with the field's path) for well-formed JSON of the wrong shape,
//! unknown fields and NUL characters, which PostgreSQL cannot store.

use std::marker::PhantomData;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use futures_util::future::LocalBoxFuture;
use futures_util::StreamExt;
use serde::de::DeserializeOwned;

use crate::error::{ApiError, ErrorCode, FieldError};

/// Body limit for JSON requests; a route may register a larger one in its own app data.
#[derive(Debug, Clone, Copy)]
pub struct JsonLimit(pub usize);

pub struct Json<T>(pub T);

/// SHA-256 of the raw JSON body, kept in the request's extensions when the
/// request carries an `Idempotency-Key` (which compares bodies by it).
#[derive(Debug, Clone)]
pub struct BodyDigest(pub Vec<u8>);

impl<T> std::ops::Deref for Json<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limit = req
            .app_data::<web::Data<JsonLimit>>()
            .map(|l| l.0)
            .or_else(|| req.app_data::<JsonLimit>().map(|l| l.0))
            .unwrap_or(256 * 1024);
        let body = LateJson::<T>::new(req, payload);
        Box::pin(async move { body.read(limit).await.map(Json) })
    }
}

/// A JSON body that is read only when the handler asks, with the limit it
/// names: a route that takes large bodies authorises the caller first, so a
/// caller who may not send one never gets it read and parsed.
pub struct LateJson<T> {
    req: HttpRequest,
    payload: Payload,
    content_type_ok: bool,
    declared_length: Option<usize>,
    _body: PhantomData<T>,
}

impl<T: DeserializeOwned> LateJson<T> {
    fn new(req: &HttpRequest, payload: &mut Payload) -> Self {
        let content_type_ok = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<mime::Mime>().ok())
            .is_some_and(|m| {
                m.type_() == mime::APPLICATION
                    && (m.subtype() == mime::JSON || m.suffix() == Some(mime::JSON))
            });
        let declared_length = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        Self {
            req: req.clone(),
            payload: payload.take(),
            content_type_ok,
            declared_length,
            _body: PhantomData,
        }
    }

    /// 415 for another content type, 413 past `limit`, then [`parse`].
    pub async fn read(self, limit: usize) -> Result<T, ApiError> {
        let req = self.req.clone();
        let bytes = self.read_bytes(limit).await?;
        if req.headers().contains_key(crate::idempotency::HEADER) {
            req.extensions_mut().insert(BodyDigest(crate::secrets::sha256_bytes(&bytes)));
        }
        parse(&bytes)
    }

    async fn read_bytes(mut self, limit: usize) -> Result<web::BytesMut, ApiError> {
        if !self.content_type_ok {
            return Err(ApiError::new(
                actix_web::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                ErrorCode::UnsupportedMediaType,
                "Send the request body as application/json.",
            ));
        }
        if self.declared_length.is_some_and(|n| n > limit) {
            return Err(too_large(limit));
        }
        let mut body = web::BytesMut::new();
        while let Some(chunk) = self.payload.next().await {
            let chunk = chunk.map_err(|e| ApiError::bad_request(ErrorCode::MalformedBody, e.to_string()))?;
            if body.len() + chunk.len() > limit {
                return Err(too_large(limit));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for LateJson<T> {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        std::future::ready(Ok(Self::new(req, payload)))
    }
}

fn too_large(limit: usize) -> ApiError {
    ApiError::new(
        actix_web::http::StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::PayloadTooLarge,
        format!("The request body is larger than {limit} bytes."),
    )
}

pub fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let value: serde_json::Value = serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(ErrorCode::MalformedJson, format!("The body is not valid JSON: {e}"))
    })?;
    // serde reads a struct from an array too (its fields in order), so a
    // body of `["x", "y"]` would set the first fields; every body is an object.
    if !value.is_object() {
        return Err(ApiError::validation(vec![FieldError::new("", "the body must be a JSON object")]));
    }
    if let Some(field) = find_nul(&value, String::new()) {
        return Err(ApiError::invalid_field(&field, "must not contain NUL characters"));
    }
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let (field, message) = describe(&path, &inner.to_string());
        ApiError::validation(vec![FieldError::new(field, message)])
    })
}

/// Turns serde's message into a field name and a sentence a client author can show.
fn describe(path: &str, message: &str) -> (String, String) {
    let quoted = message.split('`').nth(1).map(str::to_owned);
    let join =
        |name: &str| if path == "." || path.is_empty() { name.to_owned() } else { format!("{path}.{name}") };
    if message.starts_with("unknown field") {
        // Unlike a missing field's, this path already ends at the offending key.
        let field = if path == "." || path.is_empty() { quoted.unwrap_or_default() } else { path.to_owned() };
        return (field, "unknown field".to_owned());
    }
    if message.starts_with("missing field") {
        let name = quoted.unwrap_or_default();
        return (join(&name), "is required".to_owned());
    }
    let field = if path == "." { String::new() } else { path.to_owned() };
    (field, message.to_owned())
}

fn find_nul(value: &serde_json::Value, path: String) -> Option<String> {
    match value {
        serde_json::Value::String(s) if s.contains('\0') => Some(path),
        serde_json::Value::Array(items) => {
            items.iter().enumerate().find_map(|(i, v)| find_nul(v, format!("{path}[{i}]")))
        }
        serde_json::Value::Object(map) => map.iter().find_map(|(k, v)| {
            let p = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
            if k.contains('\0') {
                return Some(p);
            }
            find_nul(v, p)
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::parse;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Outer {
        name: String,
        inner: Option<Inner>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        start: u32,
    }

    fn field_of(body: &str) -> String {
        let err = parse::<Outer>(body.as_bytes()).expect_err("invalid body");
        assert_eq!(err.code, crate::error::ErrorCode::ValidationFailed);
        err.errors.expect("errors")[0].field.clone()
    }

    #[test]
    fn names_the_offending_field_by_its_path() {
        assert_eq!(field_of(r#"{"name": "a", "role": "admin"}"#), "role");
        assert_eq!(field_of(r#"{"name": "a", "inner": {"start": 1, "end": 2}}"#), "inner.end");
        assert_eq!(field_of(r#"{"inner": {"start": 1}}"#), "name");
        assert_eq!(field_of(r#"{"name": "a", "inner": {}}"#), "inner.start");
        assert_eq!(field_of(r#"{"name": "a", "inner": {"start": "x"}}"#), "inner.start");
        assert_eq!(field_of("{\"name\": \"a\\u0000\"}"), "name");
    }

    #[test]
    fn a_body_that_is_not_an_object_is_refused() {
        for body in [r#"["a", null]"#, "[]", "\"a\"", "1", "null"] {
            let err = parse::<Outer>(body.as_bytes()).expect_err(body);
            assert_eq!(err.code, crate::error::ErrorCode::ValidationFailed, "{body}");
        }
    }
}
