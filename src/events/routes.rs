use std::time::Duration;

use actix_web::http::header;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::hub::{EventHub, Holder, Refused, StreamPermit, Verdict};
use super::stream::{self, Access, Read, Start, Viewer};
use super::tickets;
use crate::access::{self, Scope};
use crate::auth::extract::caller_until;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorCode, Problem};
use crate::ratelimit::ClientAddr;
use crate::state::AppState;
use crate::versions::cursor::{self, Cursor};

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(session_events).service(create_ticket);
}

/// The longest a long-poll may wait.
const MAX_WAIT_SECS: u64 = 25;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// Start after this cursor (an event's `id`, a long-poll's `cursor` or a
    /// REST read's `Pilcrow-Event-Cursor`). `Last-Event-ID` wins over it.
    /// Without either, the stream starts now. An unreadable or expired
    /// cursor gets `resync`.
    pub after: Option<String>,
    /// Long-poll only (`Accept: application/json`): seconds to wait for an
    /// event when none is waiting, 0–25 (default 0).
    #[param(minimum = 0, maximum = 25)]
    pub wait: Option<u64>,
    /// An event ticket (POST /sessions/{session_id}/event-tickets), for
    /// browsers' EventSource, which cannot send `Authorization`. Accepted on
    /// this route only.
    pub ticket: Option<String>,
}

/// The `Last-Event-ID` header a reconnecting EventSource sends.
#[derive(IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)] // documents a header; the handler reads it from the request
pub struct LastEventId {
    /// The `id` of the last event received: the stream resumes after it.
    #[param(rename = "Last-Event-ID")]
    last_event_id: Option<String>,
}

/// One event of the long-poll: as an SSE event's `id`, `event` and `data`.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventItem {
    pub id: String,
    /// `thread.created`, `thread.updated`, `thread.removed`, `thread.restored`,
    /// `comment.created`, `comment.updated`, `counts`, `session.updated`,
    /// `essay.revised`, `resync` or `access_revoked`.
    pub event: String,
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
}

/// A long-poll's answer: the events after the cursor asked for, and the
/// cursor to ask with next.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventPage {
    pub items: Vec<EventItem>,
    pub cursor: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventTicket {
    /// Use as `?ticket=` on this session's events route.
    pub ticket: String,
    /// Seconds until it stops working (at most 900); revoking the user's
    /// tokens ends it sooner.
    pub expires_in: i64,
}

/// The session's live events: Server-Sent Events with `Accept:
/// text/event-stream`, otherwise a JSON long-poll. Each event's `data` is
/// the resource as this reader would GET it now; members never receive a
/// hidden thread or a hidden comment's body. Resume with `Last-Event-ID` (or
/// `?after=`): every event after it is replayed in commit order, none
/// skipped. A `: ping` comment arrives at least every 30 s; a ban, a role
/// change, leaving the group or a revoked token ends the stream with
/// `access_revoked`.
#[utoipa::path(security((), ("bearer" = [])), tag = "events", params(EventsQuery, LastEventId),
    responses(
        (status = 200, description = "The stream, or a page of events", content(
            (EventPage = "application/json"),
            (String = "text/event-stream"),
        )),
        (status = 401, description = "A bad, expired or revoked token or ticket", body = Problem),
        (status = 404, body = Problem),
        (status = 422, body = Problem),
        (status = 429, description = "`rate_limited`: this user, or (anonymous) this address, has too many open streams and waiting long-polls; see Retry-After",
            headers(("Retry-After" = u32, description = "Seconds to wait")), body = Problem),
        (status = 503, description = "`too_many_streams`: this instance holds all the streams it may; see Retry-After",
            headers(("Retry-After" = u32, description = "Seconds to wait")), body = Problem),
    ))]
#[get("/sessions/{session_id}/events")]
#[tracing::instrument(skip_all, fields(id = %*path))]
pub async fn session_events(
    state: AppState,
    req: HttpRequest,
    client: ClientAddr,
    path: web::Path<Uuid>,
    query: web::Query<EventsQuery>,
) -> ApiResult<HttpResponse> {
    let session_id = *path;
    let wait = query.wait.unwrap_or(0);
    if wait > MAX_WAIT_SECS {
        return Err(ApiError::invalid_field("wait", format!("must be 0–{MAX_WAIT_SECS} seconds")));
    }
    let hub = state.events.clone();
    let signed_in = caller_until(&req)?;
    // An anonymous reader's slot is taken before anything touches the
    // database, so a flood from one address costs no queries.
    let anonymous_permit = match (&signed_in, &query.ticket) {
        (None, None) => Some(permit(&hub, Holder::Address(client.key()))?),
        _ => None,
    };
    let mut conn = state.conn().await?;
    let (caller, until) = match (signed_in, &query.ticket) {
        (Some((caller, exp)), _) => (Some(caller), Some(exp)),
        (None, Some(ticket)) => {
            let ticket = tickets::find(&mut conn, ticket).await?.ok_or_else(|| {
                ApiError::unauthorized(ErrorCode::InvalidToken, "This ticket is unknown or has expired.")
            })?;
            if ticket.session_id != Some(session_id) {
                // A ticket is for its own session only.
                return Err(ApiError::not_found());
            }
            (
                Some(Caller::from_ticket(ticket.user_id, ticket.token_version)),
                Some(ticket.expires_at.timestamp()),
            )
        }
        (None, None) => (None, None),
    };
    let access = access::resolve(&mut conn, caller.as_ref(), Scope::Session(session_id)).await?;
    access.require_read()?;
    let viewer = Viewer {
        caller,
        role: access.role(),
        moderator: access.is_moderator(),
        site_admin: access.site_admin,
        user_id: access.user_id,
        until,
    };
    let last_event_id = req.headers().get("last-event-id").and_then(|v| v.to_str().ok());
    let after = last_event_id.or(query.after.as_deref()).map(Cursor::parse);

    let wants_stream = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/event-stream"));
    let permit = match (anonymous_permit, viewer.user_id) {
        (Some(permit), _) => permit,
        (None, Some(user)) => permit(&hub, Holder::User(user))?,
        (None, None) => permit(&hub, Holder::Address(client.key()))?,
    };
    if !wants_stream {
        drop(conn);
        let answer = long_poll(&state, session_id, viewer, after, Duration::from_secs(wait)).await;
        drop(permit);
        return answer;
    }
    // A stream without a cursor starts at the horizon read here, before the
    // client is answered, so whatever commits once it holds the response is
    // delivered. (Read in the stream's task, the start could fall after a
    // post the client made as soon as the headers arrived.)
    let after = match after {
        Some(after) => after,
        None => Some(Cursor::at_horizon(cursor::horizon(&mut conn).await?)),
    };
    drop(conn);
    let body = stream::open(hub, Start { session_id, viewer, after }, permit);
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        // nginx would otherwise buffer the stream.
        .insert_header(("X-Accel-Buffering", "no"))
        .body(body))
}

/// A slot for one more stream or waiting long-poll of `holder`.
pub fn permit(hub: &std::sync::Arc<EventHub>, holder: Holder) -> ApiResult<StreamPermit> {
    hub.stream_permit(holder).map_err(|refused| match refused {
        Refused::Holder(limit) => {
            let mut e = ApiError::too_many_requests(5);
            e.detail = match holder {
                Holder::User(_) => format!(
                    "At most {limit} event streams and waiting long-polls per user at once; close one first."
                ),
                Holder::Address(_) => format!(
                    "At most {limit} anonymous event streams and waiting long-polls per address at once; close one first."
                ),
            };
            e
        }
        Refused::Instance => {
            let mut e = ApiError::new(
                actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::TooManyStreams,
                "This server holds as many event streams as it may; try again shortly.",
            );
            // Spread the retries of everyone refused at once.
            e.retry_after_secs = Some(rand::random_range(5..=15));
            e
        }
    })
}

fn item(id: Cursor, event: &str, data: &str) -> String {
    format!(r#"{{"id":"{id}","event":"{event}","data":{data}}}"#)
}

/// The JSON fallback: what arrived after the cursor, waiting up to `wait`
/// for something when nothing has. Access is checked again before a page
/// that an access change concerning this reader may affect, and after
/// waiting: the answer ends with `access_revoked` instead of anything
/// committed after the change.
async fn long_poll(
    state: &AppState,
    session_id: Uuid,
    viewer: Viewer,
    after: Option<Option<Cursor>>,
    wait: Duration,
) -> ApiResult<HttpResponse> {
    let hub = &state.events;
    let began = std::time::Instant::now();
    let deadline = tokio::time::Instant::now() + wait;
    let mut live = (!wait.is_zero()).then(|| hub.subscribe(session_id));
    let access = Access::new(hub, session_id, viewer);
    let mut items: Vec<String> = Vec::new();
    let mut waited = false;
    let mut position = match after {
        Some(Some(cursor)) => cursor,
        other => {
            let mut conn = state.conn().await?;
            let horizon = Cursor::at_horizon(cursor::horizon(&mut conn).await?);
            if other.is_some() {
                items.push(item(horizon, "resync", "{}"));
            }
            horizon
        }
    };
    let mut revoked = None;
    // Where the events of this answer start.
    let mut answered_from = position;
    while items.is_empty() {
        answered_from = position;
        match stream::read_page(hub, session_id, position).await? {
            Read::Batch(batch) => {
                match access.before_batch(hub, &batch, position).await {
                    Verdict::Allowed => {}
                    Verdict::Lost(reason) => {
                        revoked = Some(reason);
                        break;
                    }
                    Verdict::Unknown => {
                        return Err(ApiError::unavailable(anyhow::anyhow!("checking access")))
                    }
                }
                let mut any = false;
                for event in batch.events.iter().filter(|e| e.cursor > position) {
                    any = true;
                    if let Some(r) = access.viewer.pick(&event.member, &event.moderator) {
                        items.push(item(event.cursor, r.event, &r.data));
                    }
                }
                if let (true, Some(counts)) = (any, &batch.counts) {
                    items.push(item(batch.to, counts.event, &counts.data));
                }
                position = position.max(batch.to);
            }
            Read::Nothing(reached) => position = position.max(reached),
            Read::TooOld(horizon) => {
                items.push(item(horizon, "resync", "{}"));
                position = horizon;
            }
        }
        if !items.is_empty() {
            break;
        }
        let Some(rx) = live.as_mut() else { break };
        waited = true;
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Err(_) => break,
            Ok(Err(tokio::sync::broadcast::error::RecvError::Closed)) => break,
            Ok(_) => {}
        }
    }
    if revoked.is_none() && waited {
        // Whatever ended the wait, the reader may have lost access (a
        // revoked or expired token logs no event) while it lasted.
        revoked = match access.revoked_since(hub, began).await {
            Verdict::Allowed => None,
            Verdict::Lost(reason) => Some(reason),
            Verdict::Unknown => return Err(ApiError::unavailable(anyhow::anyhow!("checking access"))),
        };
    }
    if let Some(reason) = revoked {
        // Nothing of this answer goes out; the cursor stays before it.
        items.clear();
        position = answered_from;
        let data = serde_json::json!({ "reason": reason }).to_string();
        items.push(item(position, "access_revoked", &data));
    }
    let body = format!(r#"{{"items":[{}],"cursor":"{position}"}}"#, items.join(","));
    Ok(HttpResponse::Ok().content_type(mime::APPLICATION_JSON).body(body))
}

/// A ticket for this session's events route, for browsers' EventSource
/// (which cannot send `Authorization`): `?ticket=` works there, and only
/// there, until it expires or the user's tokens are revoked. Not
/// idempotent by key: a ticket is a credential and is never stored in clear,
/// and asking twice only makes two.
#[utoipa::path(tag = "events", security(("bearer" = [])),
    responses((status = 201, body = EventTicket), (status = 404, body = Problem),
        (status = 429, description = "`rate_limited`: too many tickets for this user; see Retry-After", body = Problem)))]
#[post("/sessions/{session_id}/event-tickets")]
#[tracing::instrument(skip_all, fields(id = %*path))]
pub async fn create_ticket(
    state: AppState,
    caller: Caller,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    state.limits.create(crate::ratelimit::Create::EventTicket, &caller)?;
    let session_id = *path;
    let mut conn = state.conn().await?;
    let access = access::resolve(&mut conn, Some(&caller), Scope::Session(session_id)).await?;
    access.require_read()?;
    let user_id = access.user_id.ok_or_else(ApiError::not_found)?;
    let ttl = state.events.settings.ticket_ttl_secs.clamp(1, tickets::MAX_TTL_SECS);
    let (_, version) = caller.unverified_key();
    let ticket = tickets::issue(&mut conn, user_id, version, Some(session_id), ttl).await?;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/api/v1/sessions/{session_id}/events")))
        .json(EventTicket { ticket, expires_in: ttl }))
}
