//! Calendars of reading sessions (RFC 5545): a public group's, for anyone,
//! and each user's own feed of all their groups' sessions behind a secret
//! URL (`POST /me/calendar-feed`), for calendar apps that send no token.
//!
//! A feed's secret is 256 random bits; only its SHA-256 is stored. It
//! grants that one calendar and nothing else. It stops working when the
//! user makes a new one, and whenever the user's tokens are revoked (logging
//! out everywhere, a password change or reset, account deletion): the feed
//! remembers the `token_version` it was made under.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{get, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use diesel::sql_types::{BigInt, Bytea, Integer, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel::QueryableByName;
use diesel_async::RunQueryDsl;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::ics::{self, Event};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, Problem};
use crate::secrets::{random_token, sha256};
use crate::state::AppState;
use crate::users::models as users;

/// Sessions one calendar lists at most (the latest starts).
const MAX_EVENTS: i64 = 1000;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(group_calendar).service(create_calendar_feed).service(calendar_feed);
}

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = Nullable<Text>)]
    group_name: Option<String>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    session_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<Text>)]
    title: Option<String>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    starts_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    ends_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Integer>)]
    sequence: Option<i32>,
}

/// The feed URL, secret included.
#[derive(Debug, Serialize, ToSchema)]
pub struct CalendarFeed {
    /// Serves `text/calendar` without a token; keep it private.
    url: String,
}

fn render(state: &AppState, name: &str, rows: &[Row]) -> HttpResponse {
    let app_url = &state.mailing.app_url;
    let events: Vec<Event<'_>> = rows
        .iter()
        .filter_map(|r| {
            Some(Event {
                session_id: r.session_id?,
                title: r.title.as_deref()?,
                group_name: r.group_name.as_deref().unwrap_or_default(),
                starts_at: r.starts_at?,
                ends_at: r.ends_at,
                sequence: r.sequence.unwrap_or(0),
                url: format!("{app_url}/sessions/{}", r.session_id?),
            })
        })
        .collect();
    let body = ics::calendar(name, &events, Utc::now());
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, HeaderValue::from_static("text/calendar; charset=utf-8")))
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("private, no-cache")))
        .body(body)
}

/// A public group's reading sessions as an iCalendar (RFC 5545): one
/// VEVENT per session with a stable UID. A private group's is 404 here:
/// its members get its sessions through their own calendar feed.
#[utoipa::path(tag = "sessions",
    responses(
        (status = 200, description = "The group's sessions (the latest 1,000 starts)", content_type = "text/calendar", body = String),
        (status = 404, description = "No such group, or not a public one", body = Problem),
    ))]
#[get("/groups/{group_id}/calendar.ics")]
#[tracing::instrument(skip_all, fields(id = %*path))]
pub async fn group_calendar(state: AppState, path: web::Path<Uuid>) -> ApiResult<HttpResponse> {
    let mut conn = state.conn().await?;
    let rows: Vec<Row> = crate::sql!("calendar/group.sql")
        .bind::<SqlUuid, _>(*path)
        .bind::<BigInt, _>(MAX_EVENTS)
        .load(&mut conn)
        .await?;
    let name = <[Row]>::first(&rows).and_then(|r| r.group_name.clone()).ok_or_else(ApiError::not_found)?;
    Ok(render(&state, &name, &rows))
}

/// A new secret calendar feed URL for the caller: every session of every
/// group they belong to (private ones included) as one iCalendar. It
/// replaces the caller's previous feed, whose URL stops working at once.
#[utoipa::path(tag = "users", security(("bearer" = [])),
    responses(
        (status = 201, body = CalendarFeed, headers(("Location" = String, description = "The feed URL"))),
        (status = 401, body = Problem),
    ))]
#[post("/me/calendar-feed")]
#[tracing::instrument(skip_all)]
pub async fn create_calendar_feed(state: AppState, caller: Caller) -> ApiResult<HttpResponse> {
    let mut conn = state.conn().await?;
    let user = users::current(&mut conn, &caller).await?;
    let secret = random_token(32);
    crate::sql!("calendar/replace.sql")
        .bind::<SqlUuid, _>(user.id)
        .bind::<Bytea, _>(sha256(&secret))
        .bind::<Integer, _>(user.token_version)
        .execute(&mut conn)
        .await?;
    let url = format!("{}/api/v1/calendar-feeds/{secret}/calendar.ics", state.public_base_url);
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, url.clone()))
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .json(CalendarFeed { url }))
}

/// A user's calendar feed: the sessions of all their groups as one
/// iCalendar, for the secret URL `POST /me/calendar-feed` made. No token:
/// the URL is the credential, and it grants nothing else.
#[utoipa::path(tag = "users",
    params(("token" = String, Path, description = "The secret from the feed URL")),
    responses(
        (status = 200, description = "Every session of the feed owner's groups (the latest 1,000 starts)", content_type = "text/calendar", body = String),
        (status = 404, description = "No such feed, or one that was replaced or revoked", body = Problem),
    ))]
#[get("/calendar-feeds/{token}/calendar.ics")]
#[tracing::instrument(skip_all)]
pub async fn calendar_feed(state: AppState, token: web::Path<String>) -> ApiResult<HttpResponse> {
    if token.is_empty() || token.len() > 128 {
        return Err(ApiError::not_found());
    }
    let mut conn = state.conn().await?;
    let rows: Vec<Row> = crate::sql!("calendar/feed.sql")
        .bind::<Bytea, _>(sha256(&token))
        .bind::<BigInt, _>(MAX_EVENTS)
        .load(&mut conn)
        .await?;
    if rows.is_empty() {
        return Err(ApiError::not_found());
    }
    Ok(render(&state, "Pilcrow reading sessions", &rows))
}
