//! GET /me/notifications/events (the inbox, live: SSE or a JSON long-poll)
//! and POST /me/notifications/event-tickets, used exactly as a session's
//! events route and tickets are (src/events/routes.rs).

use std::time::Duration;

use actix_web::http::header;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use uuid::Uuid;

use super::live::{self, Read, Reader};
use crate::auth::extract::caller_until;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorCode, Problem};
use crate::events::hub::Holder;
use crate::events::routes::{permit, EventPage, EventTicket, EventsQuery, LastEventId};
use crate::events::tickets;
use crate::state::AppState;
use crate::users::models as users;
use crate::versions::cursor::{self, Cursor};

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(notification_events).service(create_notification_ticket);
}

/// The longest a long-poll may wait.
const MAX_WAIT_SECS: u64 = 25;

/// The caller's notifications, live: Server-Sent Events with `Accept:
/// text/event-stream`, otherwise a JSON long-poll. `notification` carries
/// an inbox item as `GET /me/notifications` shows it now, whenever the item
/// is new or changed; `notification.read` `{ids}` when items become read
/// (however they were read: here, by reading the thread, or by posting in
/// it); `export.ready` `{id}` when a personal export asked for with
/// `POST /me/exports` can be downloaded. Resume with `Last-Event-ID` (or `?after=`, e.g. the inbox's
/// `Pilcrow-Event-Cursor`): every event after it is replayed in commit order;
/// a cursor older than retention gets `resync` (refetch the inbox). A `:
/// ping` comment arrives at least every 30 s; a revoked or expired token
/// ends the stream with `access_revoked`. Works across instances.
#[utoipa::path(tag = "notifications", security(("bearer" = [])), params(EventsQuery, LastEventId),
    responses(
        (status = 200, description = "The stream, or a page of events", content(
            (EventPage = "application/json"),
            (String = "text/event-stream"),
        )),
        (status = 401, description = "A missing, bad, expired or revoked token or ticket", body = Problem),
        (status = 422, body = Problem),
        (status = 429, description = "`rate_limited`: this user has too many open streams and waiting long-polls; see Retry-After",
            headers(("Retry-After" = u32, description = "Seconds to wait")), body = Problem),
        (status = 503, description = "`too_many_streams`: this instance holds all the streams it may; see Retry-After",
            headers(("Retry-After" = u32, description = "Seconds to wait")), body = Problem),
    ))]
#[get("/me/notifications/events")]
#[tracing::instrument(skip_all)]
pub async fn notification_events(
    state: AppState,
    req: HttpRequest,
    query: web::Query<EventsQuery>,
) -> ApiResult<HttpResponse> {
    let wait = query.wait.unwrap_or(0);
    if wait > MAX_WAIT_SECS {
        return Err(ApiError::invalid_field("wait", format!("must be 0–{MAX_WAIT_SECS} seconds")));
    }
    let mut conn = state.conn().await?;
    let (caller, until) = match (caller_until(&req)?, &query.ticket) {
        (Some((caller, exp)), _) => (caller, exp),
        (None, Some(ticket)) => {
            let ticket = tickets::find(&mut conn, ticket)
                .await?
                .filter(|t| t.session_id.is_none())
                .ok_or_else(|| {
                    ApiError::unauthorized(ErrorCode::InvalidToken, "This ticket is unknown or has expired.")
                })?;
            (Caller::from_ticket(ticket.user_id, ticket.token_version), ticket.expires_at.timestamp())
        }
        (None, None) => {
            return Err(ApiError::unauthorized(
                ErrorCode::MissingToken,
                "Sign in: this route needs a bearer token.",
            ))
        }
    };
    // A revoked token or ticket is refused before anything is read.
    let user = users::current(&mut conn, &caller).await?;
    let hub = state.inbox.hub().clone();
    let permit = permit(&hub, Holder::User(user.id))?;
    let last_event_id = req.headers().get("last-event-id").and_then(|v| v.to_str().ok());
    let after = last_event_id.or(query.after.as_deref()).map(Cursor::parse);
    let wants_stream = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/event-stream"));
    // Without a cursor, from the horizon read now, before the client is
    // answered: whatever commits once it holds the response is delivered.
    let horizon = Cursor::at_horizon(cursor::horizon(&mut conn).await?);
    drop(conn);
    let key = caller.unverified_key();
    if !wants_stream {
        let answer = long_poll(&state, key, after, horizon, Duration::from_secs(wait)).await;
        drop(permit);
        return answer;
    }
    let after = match after {
        None => Some(horizon),
        Some(after) => after,
    };
    let reader = Reader { caller, user_id: user.id, until, after };
    let body = live::open(state.inbox.clone(), reader, permit);
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header(("X-Accel-Buffering", "no"))
        .body(body))
}

fn item(id: Cursor, event: &str, data: &str) -> String {
    format!(r#"{{"id":"{id}","event":"{event}","data":{data}}}"#)
}

/// The JSON fallback: the events after the cursor, waiting up to `wait` for
/// one when there are none yet.
async fn long_poll(
    state: &AppState,
    key: (Uuid, i32),
    after: Option<Option<Cursor>>,
    horizon: Cursor,
    wait: Duration,
) -> ApiResult<HttpResponse> {
    let hub = state.inbox.hub();
    let mut items: Vec<String> = Vec::new();
    let mut position = match after {
        Some(Some(cursor)) => cursor,
        Some(None) => {
            items.push(item(horizon, "resync", "{}"));
            horizon
        }
        None => horizon,
    };
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match live::read_mine(hub, key, position).await? {
            Read::Events(events, reached, _) => {
                for e in &events {
                    items.push(item(e.cursor, e.event, &e.data.to_string()));
                }
                position = position.max(reached);
            }
            Read::TooOld(horizon) => {
                items.push(item(horizon, "resync", "{}"));
                position = horizon;
            }
        }
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        if !items.is_empty() || left.is_zero() {
            break;
        }
        live::wait_for(&state.inbox, key.0, position, left).await;
    }
    // The token may have been revoked while the answer waited.
    let mut conn = state.conn().await?;
    users::current(&mut conn, &Caller::from_ticket(key.0, key.1)).await?;
    let body = format!(r#"{{"items":[{}],"cursor":"{position}"}}"#, items.join(","));
    Ok(HttpResponse::Ok().content_type(mime::APPLICATION_JSON).body(body))
}

/// A ticket for the caller's notification stream, for browsers'
/// EventSource (which cannot send `Authorization`): `?ticket=` works on
/// `GET /me/notifications/events`, and only there, until it expires or the
/// user's tokens are revoked.
#[utoipa::path(tag = "notifications", security(("bearer" = [])),
    responses((status = 201, body = EventTicket), (status = 401, body = Problem),
        (status = 429, description = "`rate_limited`: too many tickets for this user; see Retry-After", body = Problem)))]
#[post("/me/notifications/event-tickets")]
#[tracing::instrument(skip_all)]
pub async fn create_notification_ticket(state: AppState, caller: Caller) -> ApiResult<HttpResponse> {
    state.limits.create(crate::ratelimit::Create::EventTicket, &caller)?;
    let mut conn = state.conn().await?;
    let user = users::current(&mut conn, &caller).await?;
    let ttl = state.events.settings.ticket_ttl_secs.clamp(1, tickets::MAX_TTL_SECS);
    let (_, version) = caller.unverified_key();
    let ticket = tickets::issue(&mut conn, user.id, version, None, ttl).await?;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, "/api/v1/me/notifications/events"))
        .json(EventTicket { ticket, expires_in: ttl }))
}
