//! Logging: human-readable in development, JSON in production; one access
//! line per request; every line of a request carrying its request id.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use tracing_subscriber::filter::Directive;
use tracing_subscriber::{fmt, EnvFilter};

use crate::config::{LogFormat, LogSettings};

/// Targets that log bound SQL parameters at debug (password hashes, emails,
/// private comment bodies, token hashes): off, whatever `RUST_LOG` says.
const SILENCED: [&str; 4] = ["tokio_postgres", "postgres", "diesel", "diesel_async"];

pub fn filter(default: &str) -> EnvFilter {
    let base = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    SILENCED.iter().fold(base, |filter, target| match format!("{target}=off").parse::<Directive>() {
        Ok(directive) => filter.add_directive(directive),
        Err(_) => filter,
    })
}

pub fn init(settings: &LogSettings) {
    // Colour codes only for a person at a terminal: a log file or a
    // collector would otherwise be full of escape sequences.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder =
        fmt().with_env_filter(filter(&settings.filter)).with_writer(std::io::stderr).with_ansi(ansi);
    // A second init (tests spawn many apps in one process) is not an error.
    let _ = match settings.format {
        LogFormat::Json => builder.json().with_current_span(true).flatten_event(true).try_init(),
        LogFormat::Pretty => builder.try_init(),
    };
}

pub static REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");
pub static TRACEPARENT_HEADER: HeaderName = HeaderName::from_static("traceparent");

fn sane_request_id(value: &str) -> bool {
    (1..=128).contains(&value.len())
        && value.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:/+=@".contains(&b))
}

/// The trace id of a well-formed W3C `traceparent` (version 00).
fn trace_id(value: &str) -> Option<&str> {
    let parts: Vec<&str> = value.split('-').collect();
    let hex = |s: &str, n: usize| {
        s.len() == n && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    match parts.as_slice() {
        [version, trace, parent, flags]
            if hex(version, 2) && hex(trace, 32) && hex(parent, 16) && hex(flags, 2) && *version != "ff" =>
        {
            (trace.bytes().any(|b| b != b'0') && parent.bytes().any(|b| b != b'0')).then_some(*trace)
        }
        _ => None,
    }
}

/// The route pattern of a request (`/api/v1/sessions/{session_id}/counts`),
/// or "unmatched". The frame finds it once, for the access line and the
/// metrics both.
pub fn route_pattern(req: &ServiceRequest) -> &'static str {
    match API_PATTERNS.get().and_then(|patterns| patterns.at(req.path()).ok()) {
        Some(found) => found.value,
        // Outside the API (health, metrics, the docs) or not a route: actix
        // matches the path against every route again, one regular
        // expression each.
        None => req.match_pattern().map_or("unmatched", |pattern| intern(&pattern)),
    }
}

/// The API's route patterns in a radix tree, from the served OpenAPI
/// document (whose paths are the routes' patterns): finding a request's
/// pattern there is a walk down its path, where actix would try each
/// route's regular expression in turn.
static API_PATTERNS: OnceLock<matchit::Router<&'static str>> = OnceLock::new();

/// Builds the route patterns of `api` (the served document), once.
pub fn load_route_patterns(api: &utoipa::openapi::OpenApi) {
    API_PATTERNS.get_or_init(|| {
        let mut patterns = matchit::Router::new();
        for path in api.paths.paths.keys() {
            let pattern = intern(path);
            if let Err(e) = patterns.insert(pattern, pattern) {
                tracing::warn!(pattern, error = %e, "route pattern left to actix");
            }
        }
        patterns
    });
}

/// One `&'static str` per distinct pattern: there are as many as routes.
fn intern(pattern: &str) -> &'static str {
    static KNOWN: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());
    let Ok(mut known) = KNOWN.lock() else { return "unmatched" };
    if let Some(found) = known.iter().find(|k| **k == pattern) {
        return found;
    }
    let leaked: &'static str = Box::leak(pattern.to_owned().into_boxed_str());
    known.push(leaked);
    leaked
}

/// The root span of every request and its access line. It records the route
/// pattern, never the target: paths can carry secrets (invite codes) and
/// queries cursors. Incoming `X-Request-Id` and `traceparent` are kept and
/// echoed. Begun before the request is routed and finished on its response
/// (src/http/frame.rs).
pub struct AccessLog {
    /// The caller's `X-Request-Id` when it is a sane token, otherwise a fresh one.
    request_id: HeaderValue,
    /// The caller's `traceparent` when it is well formed.
    traceparent: Option<HeaderValue>,
    span: tracing::Span,
    started: Instant,
}

impl AccessLog {
    pub fn begin(req: &ServiceRequest, route: &'static str) -> Self {
        let given = |name: &HeaderName, sane: fn(&str) -> bool| {
            req.headers().get(name).filter(|v| v.to_str().is_ok_and(sane)).cloned()
        };
        let request_id = given(&REQUEST_ID_HEADER, sane_request_id).unwrap_or_else(|| {
            let mut id = [0; uuid::fmt::Hyphenated::LENGTH];
            HeaderValue::from_bytes(uuid::Uuid::new_v4().hyphenated().encode_lower(&mut id).as_bytes())
                .unwrap_or(HeaderValue::from_static("-"))
        });
        let traceparent = given(&TRACEPARENT_HEADER, |t| trace_id(t).is_some());
        let span = tracing::info_span!(
            "request",
            method = %req.method(),
            route = %route,
            request_id = request_id.to_str().unwrap_or_default(),
            trace_id = tracing::field::Empty,
        );
        // Recorded only when a valid `traceparent` came in, so a line without one
        // carries no empty `trace_id=`.
        if let Some(trace) = traceparent.as_ref().and_then(|t| t.to_str().ok()).and_then(trace_id) {
            span.record("trace_id", trace);
        }
        AccessLog { request_id, traceparent, span, started: Instant::now() }
    }

    /// The span the request's work runs in.
    pub fn span(&self) -> &tracing::Span {
        &self.span
    }

    /// Writes the line and gives the response the request's ids.
    pub fn finish<B>(self, res: &mut ServiceResponse<B>) {
        let latency_ms = self.started.elapsed().as_secs_f64() * 1000.0;
        let status = res.status().as_u16();
        self.span.in_scope(|| {
            if res.status().is_server_error() {
                if let Some(suppressed) = throttle("access-5xx") {
                    tracing::warn!(status, latency_ms, suppressed, "request failed");
                }
            } else if res.status().is_client_error() {
                tracing::debug!(status, latency_ms, "request refused");
            } else {
                tracing::info!(status, latency_ms, "request");
            }
        });
        res.headers_mut().insert(REQUEST_ID_HEADER.clone(), self.request_id);
        if let Some(value) = self.traceparent {
            res.headers_mut().insert(TRACEPARENT_HEADER.clone(), value);
        }
    }
}

/// How often one kind of failure may be logged: during an outage every
/// request fails the same way, and one line per request drowns the log.
const LOG_EVERY: Duration = Duration::from_secs(10);

static LAST_LOGGED: Mutex<Option<HashMap<&'static str, (Instant, u64)>>> = Mutex::new(None);

/// `Some(n)` when a line of this kind may be written now (`n` were suppressed
/// since the last one); `None` to stay quiet.
pub fn throttle(kind: &'static str) -> Option<u64> {
    let Ok(mut guard) = LAST_LOGGED.lock() else { return Some(0) };
    let seen = guard.get_or_insert_with(HashMap::new);
    let now = Instant::now();
    match seen.get_mut(kind) {
        Some((last, suppressed)) if now.duration_since(*last) < LOG_EVERY => {
            *suppressed += 1;
            None
        }
        Some(entry) => {
            let suppressed = entry.1;
            *entry = (now, 0);
            Some(suppressed)
        }
        None => {
            seen.insert(kind, (now, 0));
            Some(0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traceparent_is_parsed_strictly() {
        let good = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        assert_eq!(trace_id(good), Some("4bf92f3577b34da6a3ce929d0e0e4736"));
        assert_eq!(trace_id("00-00000000000000000000000000000000-00f067aa0ba902b7-01"), None);
        assert_eq!(trace_id("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"), None);
        assert_eq!(trace_id("garbage"), None);
    }

    #[test]
    fn every_api_route_pattern_is_found_by_its_paths() {
        let api = crate::routes::openapi_document();
        load_route_patterns(&api);
        let patterns = API_PATTERNS.get().expect("loaded");
        let paths = api.paths.paths;
        assert!(paths.len() > 50);
        for pattern in paths.keys() {
            let path: String =
                pattern
                    .split('/')
                    .map(|segment| {
                        if segment.starts_with('{') {
                            "0190a1b2-0000-7000-8000-000000000001"
                        } else {
                            segment
                        }
                    })
                    .collect::<Vec<_>>()
                    .join("/");
            let found = patterns.at(&path).map(|m| *m.value);
            assert_eq!(found, Ok(pattern.as_str()), "{path}");
        }
        assert!(patterns.at("/api/v1/no/such/route").is_err());
    }

    #[test]
    fn request_ids_are_tokens_not_text() {
        assert!(sane_request_id("req-1234_abcd"));
        assert!(!sane_request_id("has space"));
        assert!(!sane_request_id(""));
        assert!(!sane_request_id(&"x".repeat(129)));
    }
}
