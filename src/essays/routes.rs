use actix_web::{get, post};
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use diesel_async::AsyncConnection;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::models::{self as essays_db, EssaySummary, EssayView, NewEssay};
use super::split;
use crate::access::{self, Role, Scope};
use crate::auth::{Caller, MaybeCaller};
use crate::domain::limits;
use crate::error::{ApiError, ApiResult, Problem};
use crate::http::{Check, LateJson, Page, PageParams};
use crate::idempotency::{self, Reply};
use crate::ratelimit::ClientAddr;
use crate::state::AppState;

/// An essay body may hold at most this many bytes of text...
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// ...and split into at most this many paragraphs.
pub const MAX_PARAGRAPHS: usize = 5000;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(import_essay).service(list_essays).service(get_essay);
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Text,
    Markdown,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportEssay {
    /// 1–300 characters.
    #[schema(schema_with = limits::essay_title)]
    pub title: String,
    #[schema(schema_with = limits::essay_field_or_null)]
    pub author: Option<String>,
    #[schema(schema_with = limits::url_or_null)]
    pub source_url: Option<String>,
    #[schema(schema_with = limits::essay_field_or_null)]
    pub license: Option<String>,
    pub format: Format,
    /// The essay, at most 1 MiB. Split on blank lines; see the paragraph rules.
    pub body: String,
}

/// Import an essay into paragraphs (organiser or owner).
#[utoipa::path(params(idempotency::IdempotencyKey), tag = "essays", security(("bearer" = [])),
    request_body = ImportEssay,
    responses(
        (status = 201, body = EssayView),
        (status = 403, body = Problem),
        (status = 404, body = Problem),
        (status = 413, description = "Body over 1 MiB", body = Problem),
        (status = 422, description = "Invalid fields, no paragraphs, or over 5,000 paragraphs", body = Problem),
        (status = 429, description = "`rate_limited`: too many essays imported by this user, or this client already has its share of work waiting in the CPU queue (`Retry-After`)", body = Problem),
    ))]
#[post("/groups/{group_id}/essays")]
#[tracing::instrument(skip_all, fields(id = %*path))]
pub async fn import_essay(
    state: AppState,
    http: HttpRequest,
    caller: Caller,
    client: ClientAddr,
    path: web::Path<Uuid>,
    body: LateJson<ImportEssay>,
) -> ApiResult<HttpResponse> {
    state.limits.create(crate::ratelimit::Create::Essay, &caller)?;
    let mut conn = state.conn().await?;
    let access = access::resolve(&mut conn, Some(&caller), Scope::Group(*path)).await?;
    let actor = access.require(Role::Organiser)?;
    // Only now, with the caller known to be an organiser, is the body read,
    // and with no connection held: a slow upload or the split holds none.
    drop(conn);
    let req = body.read(state.essay_body_limit).await?;
    if req.body.len() > MAX_BODY_BYTES {
        return Err(ApiError::new(
            actix_web::http::StatusCode::PAYLOAD_TOO_LARGE,
            crate::error::ErrorCode::PayloadTooLarge,
            format!("An essay body may hold at most {MAX_BODY_BYTES} bytes."),
        ));
    }
    let mut check = Check::new();
    check.text("title", &req.title, limits::ESSAY_TITLE);
    for (field, value) in [("author", &req.author), ("license", &req.license)] {
        if let Some(v) = value {
            check.chars(field, v, limits::ESSAY_FIELD);
        }
    }
    if let Some(url) = &req.source_url {
        check.require(
            url.len() <= 2000 && (url.starts_with("https://") || url.starts_with("http://")),
            "source_url",
            "must be an http(s) URL of at most 2,000 characters",
        );
    }
    check.done()?;
    // Splitting a megabyte of Markdown is CPU work: it waits its turn.
    let ticket = state.cpu.admit(vec![format!("user:{actor}"), client.queue_key()])?;
    let (format, text) = match req.format {
        Format::Text => ("text", req.body),
        Format::Markdown => ("markdown", req.body),
    };
    let (text, blocks) = state
        .cpu
        .run(&ticket, move || {
            let blocks =
                if format == "markdown" { split::split_markdown(&text) } else { split::split_text(&text) };
            (text, blocks)
        })
        .await?;
    drop(ticket);
    if blocks.is_empty() {
        return Err(ApiError::invalid_field("body", "must hold at least one paragraph"));
    }
    if blocks.len() > MAX_PARAGRAPHS {
        return Err(ApiError::invalid_field(
            "body",
            format!("splits into {} paragraphs; at most {MAX_PARAGRAPHS} are allowed", blocks.len()),
        ));
    }
    let new = NewEssay {
        group_id: access.group_id,
        title: req.title.trim(),
        author: req.author.as_deref(),
        source_url: req.source_url.as_deref(),
        license: req.license.as_deref(),
        format,
        created_by: actor,
    };
    let mut conn = state.conn().await?;
    idempotency::once(&mut conn, &http, &caller, async |conn| {
        let essay = conn
            .transaction::<_, ApiError, _>(async move |conn| {
                // Still an organiser after the upload and the split.
                access::resolve(conn, Some(&caller), Scope::Group(new.group_id))
                    .await?
                    .require(Role::Organiser)?;
                essays_db::insert(conn, &new, &text, &blocks).await
            })
            .await?;
        Reply::created(format!("/api/v1/essays/{}", essay.essay.id), &essay)
    })
    .await
}

/// The group's essays, newest first, without their paragraphs.
#[utoipa::path(security((), ("bearer" = [])), tag = "essays", params(PageParams),
    responses((status = 200, body = Page<EssaySummary>), (status = 404, body = Problem)))]
#[get("/groups/{group_id}/essays")]
#[tracing::instrument(skip_all, fields(id = %*path))]
pub async fn list_essays(
    state: AppState,
    caller: MaybeCaller,
    path: web::Path<Uuid>,
    page: web::Query<PageParams>,
) -> ApiResult<web::Json<Page<EssaySummary>>> {
    let limit = page.limit()?;
    let after: Option<(DateTime<Utc>, Uuid)> = page.after()?;
    state
        .read(async |conn| {
            let access = access::resolve(conn, caller.0.as_ref(), Scope::Group(*path)).await?;
            access.require_read()?;
            let rows = essays_db::list(conn, access.group_id, after, limit).await?;
            Ok(web::Json(Page::from_rows(rows, limit, |e| (e.created_at, e.id))))
        })
        .await
}

/// An essay with its paragraphs in order.
#[utoipa::path(security((), ("bearer" = [])), tag = "essays",
    responses((status = 200, body = EssayView), (status = 404, body = Problem)))]
#[get("/essays/{essay_id}")]
#[tracing::instrument(skip_all, fields(id = %*path))]
pub async fn get_essay(
    state: AppState,
    caller: MaybeCaller,
    path: web::Path<Uuid>,
) -> ApiResult<web::Json<EssayView>> {
    state
        .read(async |conn| {
            let access = access::resolve(conn, caller.0.as_ref(), Scope::Essay(*path)).await?;
            access.require_read()?;
            let essay = essays_db::find(conn, *path).await?;
            let paragraphs = essays_db::paragraphs_of(conn, essay.id).await?;
            Ok(web::Json(EssayView { essay, paragraphs }))
        })
        .await
}
