//! Browser-facing headers: CORS (whose refusals are problems like every other
//! error) and the framing and content policy of the `/docs` pages.

use actix_cors::{Cors, CorsError};
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::ResponseError;

use crate::error::{ApiError, ErrorCode};
use crate::telemetry::{REQUEST_ID_HEADER, TRACEPARENT_HEADER};

/// Swagger UI loads its script and the document from here, draws with inline
/// styles and `data:` images, and must not be framed (clickjacking).
const DOCS_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
                        img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; \
                        base-uri 'none'; form-action 'self'";

/// Whether `path` is one of the `/docs` pages.
pub fn is_docs(path: &str) -> bool {
    path == "/docs" || path.starts_with("/docs/")
}

/// What every response says to browsers: no sniffing of its type, no
/// referrer sent on; and for the docs pages, their content policy and no
/// framing. A header the route set itself is kept.
pub fn response_headers(docs: bool, headers: &mut HeaderMap) {
    if !headers.contains_key(header::X_CONTENT_TYPE_OPTIONS) {
        headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    }
    if !headers.contains_key(header::REFERRER_POLICY) {
        headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    }
    if docs {
        headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(DOCS_CSP));
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
}

/// What a browser frontend sends besides the basics: retries, tracing,
/// conditional requests and event-stream resumption.
fn allowed_request_headers() -> Vec<HeaderName> {
    vec![
        header::AUTHORIZATION,
        header::CONTENT_TYPE,
        header::ACCEPT,
        header::IF_NONE_MATCH,
        header::IF_MATCH,
        HeaderName::from_static("idempotency-key"),
        HeaderName::from_static("last-event-id"),
        crate::consistency::HEADER,
        HeaderName::from_static(crate::auth::device::HEADER),
        TRACEPARENT_HEADER.clone(),
        REQUEST_ID_HEADER.clone(),
    ]
}

pub fn cors(origins: &[String]) -> Cors {
    origins
        .iter()
        .fold(Cors::default(), |cors, origin| cors.allowed_origin(origin))
        // One-click unsubscribe takes no credentials and answers nothing
        // private: its page's own button (which a browser sends with this
        // server's origin, or `null` under `Referrer-Policy: no-referrer`)
        // and any mailbox provider may post to it.
        .allowed_origin_fn(|_, head| head.uri.path().starts_with("/api/v1/unsubscribe/"))
        .allowed_methods(["GET", "HEAD", "POST", "PATCH", "PUT", "DELETE"])
        .allowed_headers(allowed_request_headers())
        .expose_headers([
            header::LOCATION,
            header::RETRY_AFTER,
            header::ETAG,
            REQUEST_ID_HEADER.clone(),
            TRACEPARENT_HEADER.clone(),
            HeaderName::from_static(crate::idempotency::REPLAYED),
            HeaderName::from_static("ratelimit"),
            HeaderName::from_static("ratelimit-policy"),
            // Where a live-events reader resumes after reading a list.
            HeaderName::from_static("pilcrow-event-cursor"),
            // What to send back to read one's own writes (src/consistency/).
            crate::consistency::HEADER,
        ])
        .max_age(3600)
}

/// Wraps the CORS middleware: a refused origin, method or header becomes a
/// 403 problem (a malformed preflight a 400) instead of a plain-text 400.
pub async fn cors_problems(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    // actix-cors answers its refusals as responses, not errors.
    let res = next.call(req).await?;
    let Some(refused) = res.response().error().and_then(|e| e.as_error::<CorsError>()) else {
        return Ok(res.map_into_left_body());
    };
    let status = match refused {
        CorsError::OriginNotAllowed | CorsError::MethodNotAllowed | CorsError::HeadersNotAllowed => {
            StatusCode::FORBIDDEN
        }
        _ => StatusCode::BAD_REQUEST,
    };
    let problem =
        ApiError::new(status, ErrorCode::CorsRejected, format!("Cross-origin request refused: {refused}."))
            .error_response();
    let (req, _) = res.into_parts();
    Ok(ServiceResponse::new(req, problem).map_into_right_body())
}
