//! Logging: human-readable in development, JSON in production, every line of
//! a request carrying its request id (the `x-request-id` response header).

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::HttpMessage;
use tracing::Span;
use tracing_actix_web::{RequestId, RootSpanBuilder};
use tracing_subscriber::{fmt, EnvFilter};

use crate::config::{LogFormat, LogSettings};

pub fn init(settings: &LogSettings) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&settings.filter));
    let builder = fmt().with_env_filter(filter);
    // A second init (tests spawn many apps in one process) is not an error.
    let _ = match settings.format {
        LogFormat::Json => builder.json().with_current_span(true).flatten_event(true).try_init(),
        LogFormat::Pretty => builder.try_init(),
    };
}

pub static REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// Copies the request id that `TracingLogger` gave the request onto the response.
pub async fn request_id_header(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let id = req.extensions().get::<RequestId>().copied();
    let mut res = next.call(req).await?;
    if let Some(id) = id {
        if let Ok(value) = HeaderValue::from_str(&id.to_string()) {
            res.headers_mut().insert(REQUEST_ID_HEADER.clone(), value);
        }
    }
    Ok(res)
}

/// The root span of every request. It records the route pattern, never the
/// target: paths can carry secrets (invite codes) and queries cursors.
pub struct RequestSpan;

impl RootSpanBuilder for RequestSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let request_id = request.extensions().get::<RequestId>().map(ToString::to_string).unwrap_or_default();
        let route = request.match_pattern().unwrap_or_else(|| "unmatched".to_owned());
        tracing::info_span!(
            "request",
            method = %request.method(),
            route = %route,
            request_id = %request_id,
            status = tracing::field::Empty,
        )
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, actix_web::Error>) {
        let status = match outcome {
            Ok(res) => res.status(),
            Err(e) => e.as_response_error().status_code(),
        };
        span.record("status", status.as_u16());
        span.in_scope(|| {
            if status.is_server_error() {
                tracing::warn!(status = status.as_u16(), "request finished");
            } else {
                tracing::debug!(status = status.as_u16(), "request finished");
            }
        });
    }
}
