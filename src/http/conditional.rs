//! Conditional GETs: a strong `ETag` over the exact bytes of the body this
//! caller gets, and 304 when `If-None-Match` names it. The handler decides
//! access and reads its data first, exactly as for a 200, so a replayed tag
//! never bypasses the policy (an outsider still gets 404, a revoked token
//! 401). Because the tag hashes the body itself, it differs between a member
//! and a moderator whenever their bodies differ (hidden content), and it
//! changes whenever anything in the body does.

use actix_web::http::header::{self, HeaderValue};
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::{ApiError, ApiResult};

/// Revalidate every time; only this browser may keep the body. (The API
/// scope's `no-store` default is added only where a handler set nothing.)
pub const CACHE_CONTROL: &str = "private, no-cache";

/// The strong tag of a body: 128 bits of its SHA-256, quoted.
pub fn tag_of(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let digest = Sha256::digest(bytes);
    let mut tag = String::with_capacity(34);
    tag.push('"');
    for byte in &digest[..16] {
        // Writing to a String cannot fail.
        let _ = write!(tag, "{byte:02x}");
    }
    tag.push('"');
    tag
}

/// Whether `If-None-Match` names `tag` (or is `*`). RFC 9110 §13.1.2: this
/// header uses the weak comparison, so a `W/` prefix is ignored.
pub fn none_match(req: &HttpRequest, tag: &str) -> bool {
    req.headers().get_all(header::IF_NONE_MATCH).filter_map(|v| v.to_str().ok()).any(|value| {
        value
            .split(',')
            .map(str::trim)
            .any(|candidate| candidate == "*" || candidate.strip_prefix("W/").unwrap_or(candidate) == tag)
    })
}

/// `body` as JSON with its tag, or 304 when the client already has it.
/// `headers` go on both (e.g. `Pilcrow-Event-Cursor`).
pub fn json<T: Serialize>(
    req: &HttpRequest,
    body: &T,
    headers: &[(&'static str, String)],
) -> ApiResult<HttpResponse> {
    json_tagged(req, body, None, headers)
}

/// [`json`] under `version`, a tag the handler derived from what the body is
/// made of (e.g. [`crate::versions::session`]) rather than from its bytes;
/// `None` hashes the bytes. A version must change whenever the body could.
/// A client still holding the hash of these bytes (handed out while there
/// was no version) gets its 304 too.
pub fn json_tagged<T: Serialize>(
    req: &HttpRequest,
    body: &T,
    version: Option<&str>,
    headers: &[(&'static str, String)],
) -> ApiResult<HttpResponse> {
    Ok(bytes_tagged(req, to_json(body)?, version, headers))
}

/// `body` as JSON, in a buffer sized for a page of comments so that
/// serialising one does not grow it again and again.
pub fn to_json<T: Serialize>(body: &T) -> ApiResult<Bytes> {
    let mut bytes = Vec::with_capacity(16 * 1024);
    serde_json::to_writer(&mut bytes, body).map_err(ApiError::internal)?;
    Ok(Bytes::from(bytes))
}

/// [`json_tagged`] for a body already serialised.
pub fn bytes_tagged(
    req: &HttpRequest,
    bytes: Bytes,
    version: Option<&str>,
    headers: &[(&'static str, String)],
) -> HttpResponse {
    if let Some(version) = version.filter(|v| none_match(req, v)) {
        return not_modified(version.to_owned(), headers);
    }
    // A versioned body is hashed only for a client that holds some tag (it
    // may hold the hash sent while the version was unsettled).
    let holds_a_tag = req.headers().contains_key(header::IF_NONE_MATCH);
    let tag = match version {
        Some(version) if !holds_a_tag => version.to_owned(),
        _ => {
            let hash = tag_of(&bytes);
            if none_match(req, &hash) {
                return not_modified(hash, headers);
            }
            version.map_or(hash, str::to_owned)
        }
    };
    let mut response = HttpResponse::Ok();
    revalidated(&mut response, tag, headers);
    response.content_type(mime::APPLICATION_JSON).body(bytes)
}

/// The 304 for `tag`, with `headers`.
pub fn not_modified(tag: String, headers: &[(&'static str, String)]) -> HttpResponse {
    let mut response = HttpResponse::NotModified();
    revalidated(&mut response, tag, headers);
    response.finish()
}

fn revalidated(
    response: &mut actix_web::HttpResponseBuilder,
    tag: String,
    headers: &[(&'static str, String)],
) {
    response
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static(CACHE_CONTROL)))
        .insert_header((header::VARY, HeaderValue::from_static("Authorization")))
        .insert_header((header::ETAG, tag));
    for (name, value) in headers {
        response.insert_header((*name, value.as_str()));
    }
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    #[test]
    fn matches_lists_weak_forms_and_star() {
        let tag = tag_of(b"{}");
        for header in [tag.clone(), format!("W/{tag}"), format!("\"x\", {tag}"), "*".to_owned()] {
            let req = TestRequest::default().insert_header((header::IF_NONE_MATCH, header)).to_http_request();
            assert!(none_match(&req, &tag));
        }
        let req =
            TestRequest::default().insert_header((header::IF_NONE_MATCH, "\"other\"")).to_http_request();
        assert!(!none_match(&req, &tag));
        assert!(!none_match(&TestRequest::default().to_http_request(), &tag));
    }
}
