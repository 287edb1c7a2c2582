//! `POST /me/exports`, `GET /me/exports/{id}` and the signed download.

use actix_web::http::header;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Bool, Timestamptz, Uuid as SqlUuid};
use diesel::QueryableByName;
use diesel_async::{AsyncConnection, RunQueryDsl};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::{ExportStatus, ExportView};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, Problem};
use crate::idempotency::{self, Reply};
use crate::schema::{personal_export_chunks as chunks, personal_exports as pe};
use crate::state::AppState;
use crate::users::models as users;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(create_export).service(get_export).service(download_export);
}

#[derive(QueryableByName)]
struct Locked {
    #[diesel(sql_type = Bool)]
    #[allow(dead_code)] // taking the lock is the point
    locked: bool,
}

#[derive(QueryableByName)]
struct Recent {
    #[diesel(sql_type = SqlUuid)]
    #[allow(dead_code)] // the row's presence is the answer
    id: Uuid,
    #[diesel(sql_type = Timestamptz)]
    next_at: DateTime<Utc>,
}

/// 429 for a second export within 24 hours: when the next may be asked for.
fn one_a_day(next_at: DateTime<Utc>) -> ApiError {
    let secs = (next_at - Utc::now()).num_seconds().max(1) as u64;
    let detail = format!(
        "One export a day: the latest was asked for less than 24 hours ago. Ask again after {}.",
        next_at.format("%Y-%m-%d %H:%M:%S UTC")
    );
    let window = crate::config::Window { requests: 1, window_secs: 86_400, burst: 0 };
    let mut e = crate::ratelimit::limited_for("personal-exports", window, secs);
    e.detail = detail;
    e
}

/// Ask for a copy of everything of yours (a zip, built in the background).
/// At most one a day; follow `Location` to see when it is ready.
#[utoipa::path(params(idempotency::IdempotencyKey), tag = "users", security(("bearer" = [])),
    responses(
        (status = 202, description = "Accepted: being built", body = ExportView,
         headers(("Location" = String, description = "The export: `/api/v1/me/exports/{id}`"))),
        (status = 401, body = Problem),
        (status = 429, description = "`rate_limited`: an export was asked for in the last 24 hours; see Retry-After",
         headers(("Retry-After" = u32, description = "Seconds until another may be asked for")), body = Problem),
    ))]
#[post("/me/exports")]
#[tracing::instrument(skip_all)]
pub async fn create_export(state: AppState, http: HttpRequest, caller: Caller) -> ApiResult<HttpResponse> {
    let mut conn = state.conn().await?;
    let response = idempotency::once(&mut conn, &http, &caller, async |conn| {
        let user = users::current(conn, &caller).await?;
        conn.transaction::<_, ApiError, _>(async move |conn| {
            crate::sql!("lock_user.sql").bind::<SqlUuid, _>(user.id).get_result::<Locked>(conn).await?;
            let recent = crate::sql!("recent.sql")
                .bind::<SqlUuid, _>(user.id)
                .get_result::<Recent>(conn)
                .await
                .optional()?;
            if let Some(recent) = recent {
                return Err(one_a_day(recent.next_at));
            }
            let id = Uuid::now_v7();
            diesel::insert_into(pe::table)
                .values((pe::id.eq(id), pe::user_id.eq(user.id), pe::status.eq(ExportStatus::Pending)))
                .execute(conn)
                .await?;
            let view = ExportView { id, status: ExportStatus::Pending, download_url: None, expires_at: None };
            Reply::accepted(format!("/api/v1/me/exports/{id}"), &view)
        })
        .await
    })
    .await?;
    state.exports.wake();
    Ok(response)
}

/// One of your exports: pending, ready (with its download link, which needs
/// no token, until `expires_at`) or failed. Another user's, or an expired
/// one, is 404.
#[utoipa::path(tag = "users", security(("bearer" = [])),
    responses((status = 200, body = ExportView), (status = 401, body = Problem),
        (status = 404, description = "No such export of yours (or it expired)", body = Problem)))]
#[get("/me/exports/{export_id}")]
#[tracing::instrument(skip_all, fields(id = %*path))]
pub async fn get_export(
    state: AppState,
    caller: Caller,
    path: web::Path<Uuid>,
) -> ApiResult<web::Json<ExportView>> {
    let mut conn = state.conn().await?;
    let user = users::current(&mut conn, &caller).await?;
    let (id, status, expires_at): (Uuid, ExportStatus, Option<DateTime<Utc>>) = pe::table
        .filter(pe::id.eq(*path))
        .filter(pe::user_id.eq(user.id))
        .select((pe::id, pe::status, pe::expires_at))
        .first(&mut conn)
        .await
        .optional()?
        .ok_or_else(ApiError::not_found)?;
    let view = match (status, expires_at) {
        (ExportStatus::Ready, Some(at)) if at > Utc::now() => ExportView {
            id,
            status,
            download_url: Some(state.exports.download_url(id, at)),
            expires_at: Some(at),
        },
        (ExportStatus::Ready, _) => return Err(ApiError::not_found()),
        _ => ExportView { id, status, download_url: None, expires_at: None },
    };
    Ok(web::Json(view))
}

/// A ready export's archive: its attempt, expiry, size and when it was built.
type Ready = (Option<Uuid>, Option<DateTime<Utc>>, Option<i64>, Option<DateTime<Utc>>);

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ArchiveParams {
    /// The signature the export's `download_url` carries.
    pub signature: String,
}

/// A ready export's zip, for whoever holds its `download_url` (no token),
/// until it expires. A wrong signature, or an expired or unknown export, is 404.
#[utoipa::path(tag = "users", params(ArchiveParams),
    responses(
        (status = 200, description = "The archive", content_type = "application/zip", body = String,
         headers(("Content-Disposition" = String, description = "`attachment; filename=\"pilcrow-export-<date>.zip\"`"))),
        (status = 404, description = "Unknown, expired, or not this signature", body = Problem),
    ))]
#[get("/exports/{export_id}/archive")]
#[tracing::instrument(skip_all, fields(id = %*path))]
pub async fn download_export(
    state: AppState,
    path: web::Path<Uuid>,
    query: web::Query<ArchiveParams>,
) -> ApiResult<HttpResponse> {
    let id = *path;
    let row: Option<Ready> = {
        let mut conn = state.conn().await?;
        pe::table
            .filter(pe::id.eq(id))
            .filter(pe::status.eq(ExportStatus::Ready))
            .select((pe::claim, pe::expires_at, pe::size_bytes, pe::finished_at))
            .first(&mut conn)
            .await
            .optional()?
    };
    let Some((Some(claim), Some(expires_at), Some(size), finished_at)) = row else {
        return Err(ApiError::not_found());
    };
    if expires_at <= Utc::now() || !state.exports.verify(id, expires_at, &query.signature) {
        return Err(ApiError::not_found());
    }
    // One chunk in memory at a time, each read with a connection of its own
    // (none is held while the client reads).
    let pool = state.pool.clone();
    let body = futures_util::stream::try_unfold(0i32, move |seq| {
        let pool = pool.clone();
        async move {
            let mut conn = crate::db::pool::conn(&pool).await?;
            let data: Option<Vec<u8>> = chunks::table
                .filter(chunks::export_id.eq(id))
                .filter(chunks::claim.eq(claim))
                .filter(chunks::seq.eq(seq))
                .select(chunks::data)
                .first(&mut conn)
                .await
                .optional()?;
            Ok::<_, ApiError>(data.map(|d| (web::Bytes::from(d), seq + 1)))
        }
    });
    let date = finished_at.unwrap_or(expires_at).format("%Y-%m-%d");
    Ok(HttpResponse::Ok()
        .content_type("application/zip")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"pilcrow-export-{date}.zip\""),
        ))
        .no_chunking(u64::try_from(size).unwrap_or(0))
        .streaming(body))
}
