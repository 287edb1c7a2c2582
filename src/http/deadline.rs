//! The request deadline: a request that has not produced its response after
//! `server.request_timeout_ms` is ended with 503 `deadline_exceeded` and
//! `Retry-After`. Its handler is dropped there, and with it any statement in
//! flight (the connection goes back to the pool or is discarded) and any wait
//! for the pool or the CPU queue, so nothing a slow request holds outlives
//! the deadline except work already running on the blocking pool, which has
//! its own budget. Live event streams and long-polls wait on purpose and have
//! bounds of their own: they are exempt.
//!
//! It bounds everything the request's frame runs (src/http/frame.rs) and
//! answers with an error, not a response: a response needs the
//! `HttpRequest`, which routing requires to be unshared, and which is gone
//! once the handler is dropped. The server renders the error as the same
//! problem document; what the frame adds to a response (the access line,
//! metrics, headers) is dropped with the handler, so the line below is the
//! request's log line.

use std::future::Future;
use std::time::Duration;

use actix_web::http::{Method, StatusCode};

use crate::error::{ApiError, ErrorCode};

/// Whether `path` is a live-event route (SSE or long-poll), which the
/// deadline leaves alone.
pub fn is_live(path: &str) -> bool {
    path.strip_prefix("/api/v1/sessions/").is_some_and(|rest| {
        rest.strip_suffix("/events").is_some_and(|id| !id.is_empty() && !id.contains('/'))
    })
}

/// The problem a request past its deadline gets.
pub fn exceeded() -> ApiError {
    let mut e = ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::DeadlineExceeded,
        "The request took too long and was stopped; try again later.",
    );
    e.retry_after_secs = Some(1);
    e
}

/// Runs `work` (a request, see [`is_live`]) for at most `limit`.
pub async fn limit<T>(
    limit: Duration,
    route: &'static str,
    method: &Method,
    work: impl Future<Output = Result<T, actix_web::Error>>,
) -> Result<T, actix_web::Error> {
    match tokio::time::timeout(limit, work).await {
        Ok(res) => res,
        Err(_) => {
            let limit_ms = limit.as_millis() as u64;
            tracing::warn!(%method, route, limit_ms, status = 503, "request deadline passed");
            Err(exceeded().into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::is_live;

    #[test]
    fn only_the_event_routes_are_live() {
        assert!(is_live("/api/v1/sessions/0190e4a2-0000-7000-8000-000000000000/events"));
        assert!(!is_live("/api/v1/sessions/0190e4a2-0000-7000-8000-000000000000/event-tickets"));
        assert!(!is_live("/api/v1/sessions//events"));
        assert!(!is_live("/api/v1/sessions/x/threads/events"));
        assert!(!is_live("/api/v1/groups/x/search"));
    }
}
