//! Reports: members flag a comment, moderators work through the queue.
//! Reports are shown to moderators only, so the reported author never learns
//! who reported them.

use actix_web::{get, post};
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::access::{self, Role, Scope};
use crate::auth::Caller;
use crate::db::modlog::{self as modlog, Action, Target};
use crate::domain::limits;
use crate::error::{unique_violation, ApiError, ApiResult, ErrorCode, Problem};
use crate::http::pages::keyset;
use crate::http::{Check, Json, Page, PageParams};
use crate::idempotency::{self, Reply};
use crate::ratelimit::Create;
use crate::schema::{comments, reports, threads, users};
use crate::state::AppState;
use crate::users::UserView;
use crate::views;
use crate::views::report::ReportView;

pub mod models;

pub use models::{Outcome, Report, ReportStatus};

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(create_report).service(list_reports).service(get_report).service(resolve_report);
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateReport {
    /// 1–1,000 characters: what is wrong with the comment.
    #[schema(schema_with = limits::reason)]
    pub reason: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveReport {
    pub outcome: Outcome,
    /// At most 2,000 characters.
    #[schema(schema_with = limits::report_note_or_null)]
    pub note: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportFilter {
    /// `open` (the default) or `resolved`.
    pub status: Option<ReportStatus>,
}

/// Report a comment to the group's moderators (members). One open report per
/// member and comment; a comment the caller cannot see is 404.
#[utoipa::path(params(idempotency::IdempotencyKey), tag = "moderation",
    security(("bearer" = [])), request_body = CreateReport,
    responses(
        (status = 429, description = "`rate_limited`: too many created by this user; see Retry-After", body = Problem),
        (status = 201, body = ReportView),
        (status = 401, body = Problem),
        (status = 403, description = "`not_a_member` or `banned`", body = Problem),
        (status = 404, description = "No such comment, or not visible to the caller", body = Problem),
        (status = 409, description = "`already_reported` or `comment_deleted`", body = Problem),
        (status = 422, body = Problem),
    ))]
#[post("/comments/{comment_id}/reports")]
#[tracing::instrument(skip_all, fields(id = %*path))]
pub async fn create_report(
    state: AppState,
    http: HttpRequest,
    caller: Caller,
    path: web::Path<Uuid>,
    body: Json<CreateReport>,
) -> ApiResult<HttpResponse> {
    state.limits.create(Create::Report, &caller)?;
    let req = body.0;
    let comment_id = *path;
    let mut check = Check::new();
    check.text("reason", &req.reason, limits::REASON);
    check.done()?;
    let mut conn = state.conn().await?;
    idempotency::once(&mut conn, &http, &caller, async |conn| {
        let access = access::resolve(conn, Some(&caller), Scope::Comment(comment_id)).await?;
        let reporter_id = access.require(Role::Member)?;
        let (hidden, deleted, thread_hidden): (bool, bool, bool) = comments::table
            .inner_join(threads::table)
            .filter(comments::id.eq(comment_id))
            .select((comments::hidden, comments::deleted, threads::hidden))
            .first(conn)
            .await?;
        // What a member cannot read (a hidden thread, a hidden comment's body)
        // cannot be reported either.
        if (hidden || thread_hidden) && !access.is_moderator() {
            return Err(ApiError::not_found());
        }
        if deleted {
            return Err(ApiError::conflict(ErrorCode::CommentDeleted, "This comment was deleted."));
        }
        let inserted = diesel::insert_into(reports::table)
            .values((
                reports::id.eq(Uuid::now_v7()),
                reports::group_id.eq(access.group_id),
                reports::comment_id.eq(comment_id),
                reports::reporter_id.eq(reporter_id),
                reports::reason.eq(req.reason.trim()),
            ))
            .returning(Report::as_returning())
            .get_result::<Report>(conn)
            .await;
        let report = match inserted {
            Ok(report) => report,
            Err(e) if unique_violation(&e) == Some("reports_one_open_key") => {
                return Err(ApiError::conflict(
                    ErrorCode::AlreadyReported,
                    "You already have an open report on this comment.",
                ))
            }
            Err(e) => return Err(e.into()),
        };
        let reporter: UserView =
            users::table.find(reporter_id).select(UserView::as_select()).first(conn).await?;
        Reply::created(format!("/api/v1/reports/{}", report.id), &ReportView::for_reporter(report, reporter))
    })
    .await
}

/// The group's reports by status (moderators), oldest first, each with its
/// comment as a moderator sees it and its reporter.
#[utoipa::path(tag = "moderation",
    security(("bearer" = [])), params(ReportFilter, PageParams),
    responses(
        (status = 200, body = Page<ReportView>),
        (status = 400, description = "Unknown status or a bad cursor", body = Problem),
        (status = 401, body = Problem),
        (status = 403, body = Problem),
        (status = 404, body = Problem),
    ))]
#[get("/groups/{group_id}/reports")]
#[tracing::instrument(skip_all, fields(id = %*path))]
pub async fn list_reports(
    state: AppState,
    caller: Caller,
    path: web::Path<Uuid>,
    filter: web::Query<ReportFilter>,
    page: web::Query<PageParams>,
) -> ApiResult<web::Json<Page<ReportView>>> {
    let limit = page.limit()?;
    let after: Option<(DateTime<Utc>, Uuid)> = page.after()?;
    let status = filter.status.unwrap_or_default();
    let mut conn = state.conn().await?;
    let access = access::resolve(&mut conn, Some(&caller), Scope::Group(*path)).await?;
    access.require(Role::Moderator)?;
    let mut query = reports::table
        .filter(reports::group_id.eq(access.group_id))
        .filter(reports::status.eq(status))
        .order((reports::created_at.asc(), reports::id.asc()))
        .select(Report::as_select())
        .limit(limit + 1)
        .into_boxed();
    if let Some((at, id)) = after {
        query = query.filter(keyset!(>, reports::created_at => at, reports::id => id));
    }
    let rows = query.load::<Report>(&mut conn).await?;
    let page = Page::from_rows(rows, limit, |r| (r.created_at, r.id));
    let items = views::report::for_moderators(&mut conn, page.items).await?;
    Ok(web::Json(Page { items, next_cursor: page.next_cursor }))
}

/// One report (moderators).
#[utoipa::path(tag = "moderation", security(("bearer" = [])),
    responses((status = 200, body = ReportView), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem)))]
#[get("/reports/{report_id}")]
#[tracing::instrument(skip_all, fields(id = %*path))]
pub async fn get_report(
    state: AppState,
    caller: Caller,
    path: web::Path<Uuid>,
) -> ApiResult<web::Json<ReportView>> {
    let mut conn = state.conn().await?;
    let access = access::resolve(&mut conn, Some(&caller), Scope::Report(*path)).await?;
    access.require(Role::Moderator)?;
    let report: Report = reports::table.find(*path).select(Report::as_select()).first(&mut conn).await?;
    Ok(web::Json(views::report::one_for_moderators(&mut conn, report).await?))
}

/// Resolve a report as dismissed or actioned (moderators). Resolving hides
/// nothing by itself; a resolved report cannot be resolved again.
#[utoipa::path(tag = "moderation",
    security(("bearer" = [])), request_body = ResolveReport,
    responses(
        (status = 200, body = ReportView),
        (status = 401, body = Problem),
        (status = 403, body = Problem),
        (status = 404, body = Problem),
        (status = 409, description = "`already_resolved`", body = Problem),
        (status = 422, body = Problem),
    ))]
#[post("/reports/{report_id}/resolve")]
#[tracing::instrument(skip_all, fields(id = %*path))]
pub async fn resolve_report(
    state: AppState,
    caller: Caller,
    path: web::Path<Uuid>,
    body: Json<ResolveReport>,
) -> ApiResult<web::Json<ReportView>> {
    let req = body.0;
    let mut check = Check::new();
    if let Some(note) = &req.note {
        check.chars("note", note, limits::REPORT_NOTE);
    }
    check.done()?;
    let note = req.note.as_deref().map(str::trim).filter(|n| !n.is_empty()).map(str::to_owned);
    let report_id = *path;
    let mut conn = state.conn().await?;
    let access = access::resolve(&mut conn, Some(&caller), Scope::Report(report_id)).await?;
    let actor = access.require(Role::Moderator)?;
    let group_id = access.group_id;
    let outcome = req.outcome;
    let report = conn
        .transaction::<_, ApiError, _>(async move |conn| {
            let status: ReportStatus =
                reports::table.find(report_id).select(reports::status).for_update().first(conn).await?;
            if status != ReportStatus::Open {
                return Err(ApiError::conflict(
                    ErrorCode::AlreadyResolved,
                    "This report is already resolved.",
                ));
            }
            let report: Report = diesel::update(reports::table.find(report_id))
                .set((
                    reports::status.eq(ReportStatus::Resolved),
                    reports::outcome.eq(outcome),
                    reports::note.eq(note.as_deref()),
                    reports::resolved_by.eq(actor),
                    reports::resolved_at.eq(diesel::dsl::now),
                ))
                .returning(Report::as_returning())
                .get_result(conn)
                .await?;
            let reason = match &note {
                Some(note) => format!("{}: {note}", outcome.as_str()),
                None => outcome.as_str().to_owned(),
            };
            modlog::record(
                conn,
                group_id,
                actor,
                Action::ResolveReport,
                Target::Report(report_id),
                Some(&reason),
            )
            .await?;
            Ok(report)
        })
        .await?;
    Ok(web::Json(views::report::one_for_moderators(&mut conn, report).await?))
}
