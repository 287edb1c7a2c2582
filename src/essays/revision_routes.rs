//! Revising an essay, and reading its history.

use actix_web::http::{header, StatusCode};
use actix_web::{get, post};
use actix_web::{web, HttpRequest, HttpResponse};
use diesel_async::AsyncConnection;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::models as essays_db;
use super::revise::{Plan, PlannedParagraph, RetiredParagraph, Summary, ThreadMove};
use super::revisions::{self, NewRevision};
use super::routes::{Format, MAX_BODY_BYTES, MAX_PARAGRAPHS};
use super::split;
use crate::access::{self, Role, Scope};
use crate::auth::{Caller, MaybeCaller};
use crate::domain::limits;
use crate::error::{ApiError, ApiResult, ErrorCode, Problem};
use crate::http::{Check, LateJson, Page, PageParams};
use crate::idempotency::{self, Reply};
use crate::ratelimit::ClientAddr;
use crate::state::AppState;
use crate::views::essay_revision::{self, RevisionSummary, RevisionText};

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(revise_essay).service(list_essay_revisions).service(get_essay_revision);
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviseEssay {
    /// The whole new text, at most 1 MiB, split as at import.
    pub body: String,
    /// Defaults to the essay's format.
    pub format: Option<Format>,
    /// Why it changed, for the history: at most 1,000 characters.
    #[schema(schema_with = limits::revision_note_or_null)]
    pub note: Option<String>,
    /// Plan only: the report is returned (200) and nothing is stored.
    #[serde(default)]
    pub dry_run: bool,
}

/// What a revision did (or, for a dry run, would do).
#[derive(Debug, Serialize, ToSchema)]
pub struct RevisionReport {
    pub essay_id: Uuid,
    /// The new revision (for a dry run: the one it would become).
    pub revision: i32,
    pub dry_run: bool,
    /// The new text. In a dry run, the ids of "added" paragraphs are
    /// provisional: a real revision gives them new ones.
    pub paragraphs: Vec<PlannedParagraph>,
    /// Paragraphs no longer in the text; their threads are listed in `threads`.
    pub retired: Vec<RetiredParagraph>,
    /// Every thread whose paragraph, quote or anchor status changes.
    pub threads: Vec<ThreadMove>,
    pub summary: Summary,
}

impl RevisionReport {
    fn new(essay_id: Uuid, revision: i32, dry_run: bool, plan: Plan) -> Self {
        RevisionReport {
            essay_id,
            revision,
            dry_run,
            paragraphs: plan.paragraphs,
            retired: plan.retired,
            threads: plan.threads,
            summary: plan.summary,
        }
    }
}

/// The revision an `If-Match` names: `"3"` (a weak `W/"3"` is taken alike)
/// or `*`; `None` for no header. (The new revision is in the 201's body.)
fn if_match(http: &HttpRequest) -> ApiResult<Option<Option<i32>>> {
    let Some(value) = http.headers().get(header::IF_MATCH) else {
        return Ok(None);
    };
    let value = value.to_str().unwrap_or("").trim();
    if value == "*" {
        return Ok(Some(None));
    }
    let tag = value.strip_prefix("W/").unwrap_or(value);
    tag.strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .and_then(|t| t.parse::<i32>().ok())
        .map(|n| Some(Some(n)))
        .ok_or_else(|| {
            ApiError::bad_request(ErrorCode::BadRequest, "If-Match must be a revision in quotes, e.g. \"3\".")
        })
}

fn check_if_match(wanted: Option<Option<i32>>, current: i32) -> ApiResult<()> {
    match wanted {
        Some(Some(n)) if n != current => Err(ApiError::new(
            StatusCode::PRECONDITION_FAILED,
            ErrorCode::RevisionConflict,
            format!("The essay is at revision {current}, not {n}: reload it and revise that."),
        )),
        _ => Ok(()),
    }
}

/// Revise an essay (organiser or owner): paragraphs keep their ids by
/// content, threads follow their quotes, and what cannot be placed is
/// orphaned, never guessed.
#[utoipa::path(tag = "essays", security(("bearer" = [])),
    request_body = ReviseEssay,
    params(idempotency::IdempotencyKey, ("If-Match" = Option<String>, Header, description = "The revision the new text was written against, e.g. \"3\" (the essay's ETag)")),
    responses(
        (status = 201, description = "Revised", body = RevisionReport),
        (status = 200, description = "Dry run: the plan, nothing stored", body = RevisionReport),
        (status = 403, body = Problem),
        (status = 404, body = Problem),
        (status = 412, description = "`revision_conflict`: `If-Match` is not the current revision", body = Problem),
        (status = 413, description = "Body over 1 MiB", body = Problem),
        (status = 422, description = "Invalid fields, no paragraphs, or over 5,000 paragraphs", body = Problem),
        (status = 429, description = "`rate_limited`: too many revisions (dry runs included) by this user, or this client already has its share of plans waiting or running (`Retry-After`)", body = Problem),
        (status = 503, description = "`database_busy`: the essay kept changing while the revision was planned (`Retry-After`)", body = Problem),
    ))]
#[post("/essays/{essay_id}/revisions")]
#[tracing::instrument(skip_all, fields(id = %*path))]
pub async fn revise_essay(
    state: AppState,
    http: HttpRequest,
    caller: Caller,
    client: ClientAddr,
    path: web::Path<Uuid>,
    body: LateJson<ReviseEssay>,
) -> ApiResult<HttpResponse> {
    state.limits.create(crate::ratelimit::Create::Revision, &caller)?;
    let essay_id = *path;
    let mut conn = state.conn().await?;
    let access = access::resolve(&mut conn, Some(&caller), Scope::Essay(essay_id)).await?;
    let actor = access.require(Role::Organiser)?;
    let essay = essays_db::find(&mut conn, essay_id).await?;
    // The upload, the split and the plan hold no connection.
    drop(conn);
    let wanted = if_match(&http)?;
    let req = body.read(state.essay_body_limit).await?;
    if req.body.len() > MAX_BODY_BYTES {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::PayloadTooLarge,
            format!("An essay body may hold at most {MAX_BODY_BYTES} bytes."),
        ));
    }
    let mut check = Check::new();
    if let Some(note) = &req.note {
        check.chars("note", note, limits::REVISION_NOTE);
    }
    check.done()?;
    let format = match req.format {
        Some(Format::Text) => "text",
        Some(Format::Markdown) => "markdown",
        None => essay.format.as_str(),
    };
    // One place in the CPU queue for the whole request, however many plans it takes.
    let ticket = state.cpu.admit(vec![format!("user:{actor}"), client.queue_key()])?;
    let text = std::sync::Arc::<str>::from(req.body.as_str());
    let markdown = format == "markdown";
    let blocks = state
        .cpu
        .run(&ticket, move || if markdown { split::split_markdown(&text) } else { split::split_text(&text) })
        .await?;
    if blocks.is_empty() {
        return Err(ApiError::invalid_field("body", "must hold at least one paragraph"));
    }
    if blocks.len() > MAX_PARAGRAPHS {
        return Err(ApiError::invalid_field(
            "body",
            format!("splits into {} paragraphs; at most {MAX_PARAGRAPHS} are allowed", blocks.len()),
        ));
    }
    let note = req.note.as_deref().map(str::trim).filter(|n| !n.is_empty());

    let blocks = std::sync::Arc::new(blocks);
    let mut conn = state.conn().await?;
    let mut snapshot = revisions::current(&mut conn, essay_id, false).await?;
    check_if_match(wanted, snapshot.revision)?;
    drop(conn);

    if req.dry_run {
        let (current, plan) = revisions::plan(&state.cpu, &ticket, snapshot, blocks).await?;
        // A report of 5,000 paragraphs is half a megabyte of JSON: written in
        // the queue too, not on the worker that serves other readers.
        let report = state
            .cpu
            .run(&ticket, move || {
                serde_json::to_vec(&RevisionReport::new(essay_id, current.revision + 1, true, plan))
            })
            .await?
            .map_err(ApiError::internal)?;
        return Ok(HttpResponse::Ok().content_type(mime::APPLICATION_JSON).body(report));
    }

    let format = format.to_owned();
    for attempt in 0..=REPLANS {
        let (planned_from, plan) = revisions::plan(&state.cpu, &ticket, snapshot, blocks.clone()).await?;
        let mut conn = state.conn().await?;
        // What the locked essay looked like when it no longer matched the plan.
        let mut changed = None;
        let (cpu, blocks) = (&state.cpu, blocks.clone());
        let ticket = &ticket;
        // Idempotency-Key: a retried revision is answered from the first, not applied twice.
        let answer = idempotency::once(&mut conn, &http, &caller, async |conn| {
            let report = conn
                .transaction::<_, ApiError, _>(async |conn| {
                    // Still an organiser after the upload and the plan.
                    access::resolve(conn, Some(&caller), Scope::Essay(essay_id))
                        .await?
                        .require(Role::Organiser)?;
                    let current = revisions::current(conn, essay_id, true).await?;
                    check_if_match(wanted, current.revision)?;
                    let (current, plan) = if current == planned_from {
                        (current, plan)
                    } else if attempt == REPLANS {
                        // The essay kept changing under every plan made without its
                        // locks: plan once more holding them (and the connection), so
                        // a revision always lands however busy its threads are.
                        revisions::plan(cpu, ticket, current, blocks).await?
                    } else {
                        changed = Some(current);
                        return Err(essay_changed());
                    };
                    let new = NewRevision {
                        essay_id,
                        revision: current.revision + 1,
                        body: &req.body,
                        format: &format,
                        note,
                        created_by: actor,
                    };
                    revisions::apply(conn, &new, &current.paragraphs, &plan).await?;
                    Ok(RevisionReport::new(essay_id, new.revision, false, plan))
                })
                .await?;
            Reply::created(format!("/api/v1/essays/{essay_id}/revisions/{}", report.revision), &report)
        })
        .await;
        match changed {
            // Rolled back: plan again from what is there now, with no connection held.
            Some(current) => snapshot = current,
            None => return answer,
        }
    }
    Err(essay_changed())
}

/// Plans made before the essay's locks are taken; one is applied only if the
/// essay, its paragraphs and threads are still what it was made from. After
/// this many stale plans the next is made under the locks.
const REPLANS: usize = 3;

/// The essay changed between planning and applying every time: the client
/// retries (its `If-Match`, if any, still holds).
fn essay_changed() -> ApiError {
    ApiError::busy("The essay's threads changed while the revision was planned; try again.")
}

/// The essay's revisions, newest first.
#[utoipa::path(security((), ("bearer" = [])), tag = "essays", params(PageParams),
    responses((status = 200, body = Page<RevisionSummary>), (status = 404, body = Problem)))]
#[get("/essays/{essay_id}/revisions")]
#[tracing::instrument(skip_all, fields(id = %*path))]
pub async fn list_essay_revisions(
    state: AppState,
    caller: MaybeCaller,
    path: web::Path<Uuid>,
    page: web::Query<PageParams>,
) -> ApiResult<web::Json<Page<RevisionSummary>>> {
    let limit = page.limit()?;
    let before: Option<i32> = page.after()?;
    let mut conn = state.conn().await?;
    let access = access::resolve(&mut conn, caller.0.as_ref(), Scope::Essay(*path)).await?;
    access.require_read()?;
    let rows = essay_revision::history(&mut conn, *path, before, limit).await?;
    Ok(web::Json(Page::from_rows(rows, limit, |r| r.revision)))
}

/// The essay's text as of revision `n`, retired paragraphs included where
/// they were then: lets a client show an orphaned quote in its context.
#[utoipa::path(security((), ("bearer" = [])), tag = "essays",
    responses((status = 200, body = RevisionText), (status = 404, body = Problem)))]
#[get("/essays/{essay_id}/revisions/{n}")]
#[tracing::instrument(skip_all, fields(id = %path.0, n = path.1))]
pub async fn get_essay_revision(
    state: AppState,
    caller: MaybeCaller,
    path: web::Path<(Uuid, i32)>,
) -> ApiResult<web::Json<RevisionText>> {
    let (essay_id, n) = path.into_inner();
    let mut conn = state.conn().await?;
    let access = access::resolve(&mut conn, caller.0.as_ref(), Scope::Essay(essay_id)).await?;
    access.require_read()?;
    Ok(web::Json(essay_revision::text_at(&mut conn, essay_id, n).await?))
}
