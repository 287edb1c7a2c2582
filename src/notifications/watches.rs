//! Watch levels: PUT and DELETE on a group, a session, a paragraph within
//! a session, or a thread (access as the scope's group), and GET /me/watches.

use actix_web::{delete, get, put, web, HttpResponse};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{Level, WatchScope};
use crate::access::{self, Scope};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, Problem};
use crate::http::pages::keyset;
use crate::http::{Json, Page, PageParams};
use crate::schema::{paragraphs, reading_sessions, watches};
use crate::state::AppState;
use crate::users::models as users;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(put_group_watch)
        .service(delete_group_watch)
        .service(put_session_watch)
        .service(delete_session_watch)
        .service(put_paragraph_watch)
        .service(delete_paragraph_watch)
        .service(put_thread_watch)
        .service(delete_thread_watch)
        .service(list_watches);
}

/// Scopes other than a paragraph are not within a session: the nil id.
const NO_SESSION: Uuid = Uuid::nil();

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WatchLevel {
    pub level: Level,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WatchView {
    scope: WatchScope,
    id: Uuid,
    /// The session a watched paragraph is watched in.
    #[serde(skip_serializing_if = "Option::is_none")]
    session_id: Option<Uuid>,
    level: Level,
}

/// The caller's id once the policy lets them read `scope`'s group.
async fn reader(
    conn: &mut diesel_async::AsyncPgConnection,
    caller: &Caller,
    scope: Scope,
) -> ApiResult<Uuid> {
    let access = access::resolve(conn, Some(caller), scope).await?;
    access.require_read()?;
    access.user_id.ok_or_else(users::revoked)
}

/// The paragraph must belong to the session's essay.
async fn paragraph_reader(
    conn: &mut diesel_async::AsyncPgConnection,
    caller: &Caller,
    session_id: Uuid,
    paragraph_id: Uuid,
) -> ApiResult<Uuid> {
    let user_id = reader(conn, caller, Scope::Session(session_id)).await?;
    let found: Option<Uuid> = paragraphs::table
        .inner_join(reading_sessions::table.on(reading_sessions::essay_id.eq(paragraphs::essay_id)))
        .filter(reading_sessions::id.eq(session_id))
        .filter(paragraphs::id.eq(paragraph_id))
        .select(paragraphs::id)
        .first(conn)
        .await
        .optional()?;
    found.map(|_| user_id).ok_or_else(ApiError::not_found)
}

async fn set(
    conn: &mut diesel_async::AsyncPgConnection,
    user_id: Uuid,
    (scope, scope_id, in_session): (WatchScope, Uuid, Uuid),
    level: Level,
) -> ApiResult<web::Json<WatchLevel>> {
    diesel::insert_into(watches::table)
        .values((
            watches::user_id.eq(user_id),
            watches::scope.eq(scope.as_str()),
            watches::scope_id.eq(scope_id),
            watches::in_session.eq(in_session),
            watches::level.eq(level.as_str()),
        ))
        .on_conflict((watches::user_id, watches::scope, watches::scope_id, watches::in_session))
        .do_update()
        .set((watches::level.eq(level.as_str()), watches::updated_at.eq(diesel::dsl::now)))
        .execute(conn)
        .await?;
    Ok(web::Json(WatchLevel { level }))
}

async fn unset(
    conn: &mut diesel_async::AsyncPgConnection,
    user_id: Uuid,
    (scope, scope_id, in_session): (WatchScope, Uuid, Uuid),
) -> ApiResult<HttpResponse> {
    diesel::delete(
        watches::table
            .filter(watches::user_id.eq(user_id))
            .filter(watches::scope.eq(scope.as_str()))
            .filter(watches::scope_id.eq(scope_id))
            .filter(watches::in_session.eq(in_session)),
    )
    .execute(conn)
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Set the caller's level for the group's sessions, paragraphs and threads
/// (a more specific level set on one of them wins).
#[utoipa::path(tag = "notifications", security(("bearer" = [])), request_body = WatchLevel,
    responses((status = 200, body = WatchLevel), (status = 401, body = Problem), (status = 404, body = Problem),
              (status = 422, body = Problem)))]
#[put("/groups/{group_id}/watch")]
#[tracing::instrument(skip_all, fields(id = %*path))]
pub async fn put_group_watch(
    state: AppState,
    caller: Caller,
    path: web::Path<Uuid>,
    body: Json<WatchLevel>,
) -> ApiResult<web::Json<WatchLevel>> {
    let mut conn = state.conn().await?;
    let user_id = reader(&mut conn, &caller, Scope::Group(*path)).await?;
    set(&mut conn, user_id, (WatchScope::Group, *path, NO_SESSION), body.0.level).await
}

/// Remove the caller's level for the group (back to `normal`).
#[utoipa::path(tag = "notifications", security(("bearer" = [])),
    responses((status = 204, description = "Removed"), (status = 401, body = Problem), (status = 404, body = Problem)))]
#[delete("/groups/{group_id}/watch")]
#[tracing::instrument(skip_all, fields(id = %*path))]
pub async fn delete_group_watch(
    state: AppState,
    caller: Caller,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let mut conn = state.conn().await?;
    let user_id = reader(&mut conn, &caller, Scope::Group(*path)).await?;
    unset(&mut conn, user_id, (WatchScope::Group, *path, NO_SESSION)).await
}

/// Set the caller's level for the session.
#[utoipa::path(tag = "notifications", security(("bearer" = [])), request_body = WatchLevel,
    responses((status = 200, body = WatchLevel), (status = 401, body = Problem), (status = 404, body = Problem),
              (status = 422, body = Problem)))]
#[put("/sessions/{session_id}/watch")]
#[tracing::instrument(skip_all, fields(id = %*path))]
pub async fn put_session_watch(
    state: AppState,
    caller: Caller,
    path: web::Path<Uuid>,
    body: Json<WatchLevel>,
) -> ApiResult<web::Json<WatchLevel>> {
    let mut conn = state.conn().await?;
    let user_id = reader(&mut conn, &caller, Scope::Session(*path)).await?;
    set(&mut conn, user_id, (WatchScope::Session, *path, NO_SESSION), body.0.level).await
}

/// Remove the caller's level for the session (back to the group's).
#[utoipa::path(tag = "notifications", security(("bearer" = [])),
    responses((status = 204, description = "Removed"), (status = 401, body = Problem), (status = 404, body = Problem)))]
#[delete("/sessions/{session_id}/watch")]
#[tracing::instrument(skip_all, fields(id = %*path))]
pub async fn delete_session_watch(
    state: AppState,
    caller: Caller,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let mut conn = state.conn().await?;
    let user_id = reader(&mut conn, &caller, Scope::Session(*path)).await?;
    unset(&mut conn, user_id, (WatchScope::Session, *path, NO_SESSION)).await
}

/// Set the caller's level for one paragraph in the session.
#[utoipa::path(tag = "notifications", security(("bearer" = [])), request_body = WatchLevel,
    responses((status = 200, body = WatchLevel), (status = 401, body = Problem), (status = 404, body = Problem),
              (status = 422, body = Problem)))]
#[put("/sessions/{session_id}/paragraphs/{paragraph_id}/watch")]
#[tracing::instrument(skip_all)]
pub async fn put_paragraph_watch(
    state: AppState,
    caller: Caller,
    path: web::Path<(Uuid, Uuid)>,
    body: Json<WatchLevel>,
) -> ApiResult<web::Json<WatchLevel>> {
    let (session_id, paragraph_id) = *path;
    let mut conn = state.conn().await?;
    let user_id = paragraph_reader(&mut conn, &caller, session_id, paragraph_id).await?;
    set(&mut conn, user_id, (WatchScope::Paragraph, paragraph_id, session_id), body.0.level).await
}

/// Remove the caller's level for the paragraph (back to the session's).
#[utoipa::path(tag = "notifications", security(("bearer" = [])),
    responses((status = 204, description = "Removed"), (status = 401, body = Problem), (status = 404, body = Problem)))]
#[delete("/sessions/{session_id}/paragraphs/{paragraph_id}/watch")]
#[tracing::instrument(skip_all)]
pub async fn delete_paragraph_watch(
    state: AppState,
    caller: Caller,
    path: web::Path<(Uuid, Uuid)>,
) -> ApiResult<HttpResponse> {
    let (session_id, paragraph_id) = *path;
    let mut conn = state.conn().await?;
    let user_id = paragraph_reader(&mut conn, &caller, session_id, paragraph_id).await?;
    unset(&mut conn, user_id, (WatchScope::Paragraph, paragraph_id, session_id)).await
}

/// Set the caller's level for the thread.
#[utoipa::path(tag = "notifications", security(("bearer" = [])), request_body = WatchLevel,
    responses((status = 200, body = WatchLevel), (status = 401, body = Problem), (status = 404, body = Problem),
              (status = 422, body = Problem)))]
#[put("/threads/{thread_id}/watch")]
#[tracing::instrument(skip_all, fields(id = %*path))]
pub async fn put_thread_watch(
    state: AppState,
    caller: Caller,
    path: web::Path<Uuid>,
    body: Json<WatchLevel>,
) -> ApiResult<web::Json<WatchLevel>> {
    let mut conn = state.conn().await?;
    let user_id = reader(&mut conn, &caller, Scope::Thread(*path)).await?;
    set(&mut conn, user_id, (WatchScope::Thread, *path, NO_SESSION), body.0.level).await
}

/// Remove the caller's level for the thread (back to the paragraph's).
#[utoipa::path(tag = "notifications", security(("bearer" = [])),
    responses((status = 204, description = "Removed"), (status = 401, body = Problem), (status = 404, body = Problem)))]
#[delete("/threads/{thread_id}/watch")]
#[tracing::instrument(skip_all, fields(id = %*path))]
pub async fn delete_thread_watch(
    state: AppState,
    caller: Caller,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let mut conn = state.conn().await?;
    let user_id = reader(&mut conn, &caller, Scope::Thread(*path)).await?;
    unset(&mut conn, user_id, (WatchScope::Thread, *path, NO_SESSION)).await
}

/// The caller's watch levels, by scope and id.
#[utoipa::path(tag = "notifications", security(("bearer" = [])), params(PageParams),
    responses((status = 200, body = Page<WatchView>), (status = 400, body = Problem), (status = 401, body = Problem)))]
#[get("/me/watches")]
#[tracing::instrument(skip_all)]
pub async fn list_watches(
    state: AppState,
    caller: Caller,
    page: web::Query<PageParams>,
) -> ApiResult<web::Json<Page<WatchView>>> {
    let limit = page.limit()?;
    let after: Option<(String, Uuid, Uuid)> = page.after()?;
    let mut conn = state.conn().await?;
    let user = users::current(&mut conn, &caller).await?;
    let mut query = watches::table
        .filter(watches::user_id.eq(user.id))
        .order((watches::scope.asc(), watches::scope_id.asc(), watches::in_session.asc()))
        .select((watches::scope, watches::scope_id, watches::in_session, watches::level))
        .limit(limit + 1)
        .into_boxed();
    if let Some((scope, id, in_session)) = after {
        query = query.filter(keyset!(>, watches::scope => scope.clone(), watches::scope_id => id, watches::in_session => in_session));
    }
    let rows: Vec<(String, Uuid, Uuid, String)> = query.load(&mut conn).await?;
    let page = Page::from_rows(rows, limit, |r| (r.0.clone(), r.1, r.2));
    let mut items = Vec::with_capacity(page.items.len());
    for (scope, id, in_session, level) in page.items {
        let scope: WatchScope = scope.parse().map_err(ApiError::internal)?;
        let level: Level = level.parse().map_err(ApiError::internal)?;
        let session_id = (in_session != NO_SESSION).then_some(in_session);
        items.push(WatchView { scope, id, session_id, level });
    }
    Ok(web::Json(Page { items, next_cursor: page.next_cursor }))
}
