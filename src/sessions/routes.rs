use actix_web::{get, patch, post};
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::models::{self as sessions_db, Session, SessionView, Status};
use crate::access::{self, Role, Scope};
use crate::auth::{Caller, MaybeCaller};
use crate::domain::limits;
use crate::error::{ApiError, ApiResult, Problem};
use crate::http::{double_option, Check, Json, Page, PageParams};
use crate::idempotency::{self, Reply};
use crate::schema::{essays, reading_sessions as rs, threads};
use crate::state::AppState;
use crate::versions::session::{self, Answer};
use crate::views::counts::{self, SessionCounts, SessionParagraphs};

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    // What every reader asks for first: the router tries routes in order.
    cfg.service(session_counts)
        .service(session_paragraphs)
        .service(get_session)
        .service(update_session)
        .service(list_sessions)
        .service(create_session);
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSession {
    /// An essay of the same group.
    pub essay_id: Uuid,
    /// 1–200 characters.
    #[schema(schema_with = limits::session_title)]
    pub title: String,
    pub starts_at: DateTime<Utc>,
    /// After `starts_at` when given.
    pub ends_at: Option<DateTime<Utc>>,
    /// Defaults to "scheduled".
    pub status: Option<Status>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateSession {
    #[schema(schema_with = limits::session_title_or_null)]
    pub title: Option<String>,
    pub starts_at: Option<DateTime<Utc>>,
    /// `null` removes the end.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub ends_at: Option<Option<DateTime<Utc>>>,
    /// A closed session takes no new threads or comments (409 `session_closed`).
    pub status: Option<Status>,
}

fn check_window(check: &mut Check, starts_at: DateTime<Utc>, ends_at: Option<DateTime<Utc>>) {
    check.require(ends_at.is_none_or(|end| end > starts_at), "ends_at", "must be after starts_at");
}

/// Open a reading session on one of the group's essays (organiser or owner).
#[utoipa::path(params(idempotency::IdempotencyKey), tag = "sessions", security(("bearer" = [])),
    request_body = CreateSession,
    responses((status = 201, body = SessionView), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
#[post("/groups/{group_id}/sessions")]
#[tracing::instrument(skip_all, fields(id = %*path))]
pub async fn create_session(
    state: AppState,
    http: HttpRequest,
    caller: Caller,
    path: web::Path<Uuid>,
    body: Json<CreateSession>,
) -> ApiResult<HttpResponse> {
    let req = body.0;
    let mut conn = state.conn().await?;
    idempotency::once(&mut conn, &http, &caller, async |conn| {
        let access = access::resolve(conn, Some(&caller), Scope::Group(*path)).await?;
        let actor = access.require(Role::Organiser)?;
        let mut check = Check::new();
        check.text("title", &req.title, limits::SESSION_TITLE);
        check_window(&mut check, req.starts_at, req.ends_at);
        let essay_in_group: bool = diesel::select(diesel::dsl::exists(
            essays::table.filter(essays::id.eq(req.essay_id)).filter(essays::group_id.eq(access.group_id)),
        ))
        .get_result(conn)
        .await?;
        check.require(essay_in_group, "essay_id", "is not an essay of this group");
        check.done()?;
        let session: Session = diesel::insert_into(rs::table)
            .values((
                rs::id.eq(Uuid::now_v7()),
                rs::group_id.eq(access.group_id),
                rs::essay_id.eq(req.essay_id),
                rs::title.eq(req.title.trim()),
                rs::starts_at.eq(req.starts_at),
                rs::ends_at.eq(req.ends_at),
                rs::status.eq(req.status.unwrap_or(Status::Scheduled).as_str()),
                rs::created_by.eq(actor),
            ))
            .returning(Session::as_returning())
            .get_result(conn)
            .await?;
        Reply::created(format!("/api/v1/sessions/{}", session.id), &SessionView::from(session))
    })
    .await
}

/// The group's sessions, latest `starts_at` first.
#[utoipa::path(security((), ("bearer" = [])), tag = "sessions", params(PageParams),
    responses((status = 200, body = Page<SessionView>), (status = 404, body = Problem)))]
#[get("/groups/{group_id}/sessions")]
#[tracing::instrument(skip_all, fields(id = %*path))]
pub async fn list_sessions(
    state: AppState,
    caller: MaybeCaller,
    path: web::Path<Uuid>,
    page: web::Query<PageParams>,
) -> ApiResult<web::Json<Page<SessionView>>> {
    let limit = page.limit()?;
    let after: Option<(DateTime<Utc>, Uuid)> = page.after()?;
    state
        .read(async |conn| {
            let access = access::resolve(conn, caller.0.as_ref(), Scope::Group(*path)).await?;
            access.require_read()?;
            let rows = sessions_db::list(conn, access.group_id, after, limit).await?;
            Ok(web::Json(Page::from_rows(rows, limit, |s| (s.starts_at, s.id)).map(SessionView::from)))
        })
        .await
}

/// A reading session.
#[utoipa::path(security((), ("bearer" = [])), tag = "sessions",
    responses((status = 200, body = SessionView), (status = 404, body = Problem)))]
#[get("/sessions/{session_id}")]
#[tracing::instrument(skip_all, fields(id = %*path))]
pub async fn get_session(
    state: AppState,
    caller: MaybeCaller,
    path: web::Path<Uuid>,
) -> ApiResult<web::Json<SessionView>> {
    state
        .read(async |conn| {
            let access = access::resolve(conn, caller.0.as_ref(), Scope::Session(*path)).await?;
            access.require_read()?;
            Ok(web::Json(sessions_db::find(conn, *path).await?.into()))
        })
        .await
}

/// Retitle, reschedule, open or close a session (organiser or owner).
#[utoipa::path(tag = "sessions", security(("bearer" = [])),
    request_body = UpdateSession,
    responses((status = 200, body = SessionView), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
#[patch("/sessions/{session_id}")]
#[tracing::instrument(skip_all, fields(id = %*path))]
pub async fn update_session(
    state: AppState,
    caller: Caller,
    path: web::Path<Uuid>,
    body: Json<UpdateSession>,
) -> ApiResult<web::Json<SessionView>> {
    let req = body.0;
    let mut conn = state.conn().await?;
    let access = access::resolve(&mut conn, Some(&caller), Scope::Session(*path)).await?;
    access.require(Role::Organiser)?;
    let current = sessions_db::find(&mut conn, *path).await?;
    let mut check = Check::new();
    if let Some(title) = &req.title {
        check.text("title", title, limits::SESSION_TITLE);
    }
    let starts_at = req.starts_at.unwrap_or(current.starts_at);
    let ends_at = req.ends_at.unwrap_or(current.ends_at);
    check_window(&mut check, starts_at, ends_at);
    check.done()?;

    #[derive(AsChangeset)]
    #[diesel(table_name = rs)]
    struct Changes {
        title: Option<String>,
        starts_at: Option<DateTime<Utc>>,
        ends_at: Option<Option<DateTime<Utc>>>,
        status: Option<&'static str>,
    }
    let changes = Changes {
        title: req.title.map(|t| t.trim().to_owned()),
        starts_at: req.starts_at,
        ends_at: req.ends_at,
        status: req.status.map(Status::as_str),
    };
    if changes.title.is_none()
        && changes.starts_at.is_none()
        && changes.ends_at.is_none()
        && changes.status.is_none()
    {
        return Ok(web::Json(current.into()));
    }
    let closing = changes.status == Some(Status::Closed.as_str());
    let session = conn
        .transaction::<_, diesel::result::Error, _>(async move |conn| {
            let retimed = changes.starts_at.is_some_and(|at| at != current.starts_at)
                || changes.ends_at.is_some_and(|at| at != current.ends_at);
            let session: Session = diesel::update(rs::table.find(current.id))
                .set(&changes)
                .returning(Session::as_returning())
                .get_result(conn)
                .await?;
            if retimed {
                // Calendar clients replace an event whose SEQUENCE rose
                // (src/organiser/calendar.rs).
                diesel::update(rs::table.find(current.id))
                    .set(rs::calendar_sequence.eq(rs::calendar_sequence + 1))
                    .execute(conn)
                    .await?;
            }
            if closing {
                // Comment posting locks its thread and reads the status
                // after that lock; taking every thread's lock here makes
                // posts in flight land before the close, and later ones see it
                // (the write protocol: src/db/replaceable/triggers.sql). In
                // the order posts lock several threads, so neither waits for
                // the other in a circle.
                threads::table
                    .filter(threads::session_id.eq(session.id))
                    .order((threads::paragraph_id, threads::id))
                    .select(threads::id)
                    .for_update()
                    .load::<Uuid>(conn)
                    .await?;
            }
            Ok(session)
        })
        .await
        .map_err(|e| match e {
            // A concurrent edit made the window invalid between our check and the update.
            diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::CheckViolation, _) => {
                ApiError::invalid_field("ends_at", "must be after starts_at")
            }
            other => other.into(),
        })?;
    Ok(web::Json(session.into()))
}

/// Every paragraph of the session's essay with its text and counts: what a reader renders.
#[utoipa::path(security((), ("bearer" = [])), tag = "sessions",
    responses((status = 200, body = SessionParagraphs), (status = 304, description = "Not modified"), (status = 404, body = Problem)))]
#[get("/sessions/{session_id}/paragraphs")]
#[tracing::instrument(skip_all, fields(id = %*path))]
pub async fn session_paragraphs(
    state: AppState,
    http: HttpRequest,
    caller: MaybeCaller,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    state
        .read(async |conn| {
            let read = session::begin(conn, caller.0.as_ref(), *path, Answer::Paragraphs).await?;
            if let Some(known) = read.answer.known(&http, &state.kept_responses) {
                return Ok(known);
            }
            let paragraphs = counts::paragraphs(conn, &read, *path).await?;
            read.answer.json(&http, &state.kept_responses, &paragraphs)
        })
        .await
}

/// Thread and comment counts of every paragraph, zeros included. Exact at
/// every moment; costs the same for ten comments or ten million.
#[utoipa::path(security((), ("bearer" = [])), tag = "sessions",
    responses((status = 200, body = SessionCounts), (status = 304, description = "Not modified"), (status = 404, body = Problem)))]
#[get("/sessions/{session_id}/counts")]
#[tracing::instrument(skip_all, fields(id = %*path))]
pub async fn session_counts(
    state: AppState,
    http: HttpRequest,
    caller: MaybeCaller,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    state
        .read(async |conn| {
            let read = session::begin(conn, caller.0.as_ref(), *path, Answer::Counts).await?;
            if let Some(known) = read.answer.known(&http, &state.kept_responses) {
                return Ok(known);
            }
            let counts = counts::counts(conn, &read, *path).await?;
            read.answer.json(&http, &state.kept_responses, &counts)
        })
        .await
}
