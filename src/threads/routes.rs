use actix_web::{get, post};
use actix_web::{web, HttpRequest, HttpResponse};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::models::ThreadKind;
use super::rules::{check_body, lock_open_session};
use crate::access::{self, Role, Scope};
use crate::anchors::placement as anchor;
use crate::anchors::{AnchoredQuote, Quote};
use crate::auth::{Caller, MaybeCaller};
use crate::comments::posting::{self, Place, Post, Seen};
use crate::domain::limits;
use crate::error::{ApiError, ApiResult, Problem};
use crate::essays::revise::AnchorStatus;
use crate::http::{conditional, Check, Json, Page, PageParams};
use crate::idempotency::{self, Reply};
use crate::notifications::mentions::{self, Mention};
use crate::ratelimit::Create;
use crate::schema::threads;
use crate::state::AppState;
use crate::users::blocks::ShowBlocked;
use crate::versions::cursor as event_cursor;
use crate::views::thread::list::{ThreadAfter, ThreadListing, ThreadSort};
use crate::views::{self, ThreadView, Viewer};

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(create_thread).service(list_threads).service(get_thread);
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateThread {
    /// A paragraph of the session's essay.
    pub paragraph_id: Uuid,
    /// At most 200 characters.
    #[schema(schema_with = limits::thread_title_or_null)]
    pub title: Option<String>,
    /// The opening comment: 1–10,000 characters of Markdown.
    #[schema(schema_with = limits::comment_body)]
    pub body: String,
    /// Anchors the thread to a span of the paragraph.
    pub quote: Option<Quote>,
    /// The essay revision the client read the paragraph in (the essay's
    /// `revision`). If the essay has been revised since: 409 `essay_revised`,
    /// so the client re-selects its quote in the new text.
    #[schema(minimum = 1)]
    pub essay_revision: Option<i32>,
    /// "discussion" (the default) or "question".
    #[serde(default)]
    pub kind: ThreadKind,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ThreadFilter {
    /// Only threads on this paragraph.
    pub paragraph_id: Option<Uuid>,
    /// Only threads anchored so: `orphaned` lists the orphans of essay revisions.
    pub anchor: Option<AnchorStatus>,
    /// Only discussions, or only questions.
    pub kind: Option<ThreadKind>,
    /// Only questions that are (true) or are not (false) answered.
    pub answered: Option<bool>,
    /// Pinned threads come first whatever the sort.
    pub sort: Option<ThreadSort>,
}

/// Start a thread on a paragraph; the body becomes its first comment.
#[utoipa::path(params(idempotency::IdempotencyKey), tag = "threads", security(("bearer" = [])),
    request_body = CreateThread,
    responses(
        (status = 429, description = "`rate_limited`: too many created by this user; see Retry-After", body = Problem),
        (status = 201, body = PostedThread),
        (status = 403, description = "Not a member, or banned", body = Problem),
        (status = 404, body = Problem),
        (status = 409, description = "`session_closed`, or `essay_revised` when `essay_revision` is stale", body = Problem),
        (status = 422, description = "Invalid fields, a paragraph of another essay, or a quote that does not match", body = Problem),
    ))]
#[post("/sessions/{session_id}/threads")]
#[tracing::instrument(skip_all, fields(id = %*path))]
pub async fn create_thread(
    state: AppState,
    http: HttpRequest,
    caller: Caller,
    path: web::Path<Uuid>,
    body: Json<CreateThread>,
) -> ApiResult<HttpResponse> {
    state.limits.create(Create::Thread, &caller)?;
    let req = body.0;
    let session_id = *path;
    let mut check = Check::new();
    check_body(&mut check, &req.body);
    if let Some(title) = &req.title {
        check.chars("title", title, limits::THREAD_TITLE);
    }
    check.done()?;
    let names = mentions::names(&req.body);
    let mut conn = state.conn().await?;
    idempotency::once(&mut conn, &http, &caller, async |conn| {
        let access = access::resolve(conn, Some(&caller), Scope::Session(session_id)).await?;
        let author_id = access.require(Role::Member)?;
        let limits = &state.limits;
        let (thread, mentions) = conn
            .transaction::<_, ApiError, _>(async move |conn| {
                let status = lock_open_session(conn, session_id).await?;
                // FOR SHARE: a revision editing this paragraph waits for this
                // thread (and then re-anchors it), or this read waits for the
                // revision and sees its text; see "Essay revisions" in
                // src/db/replaceable/triggers.sql.
                let paragraph = anchor::lock_paragraph(conn, session_id, req.paragraph_id).await?;
                if let Some(seen) = req.essay_revision {
                    anchor::check_revision(paragraph.revision, seen)?;
                }
                let Some(text) = paragraph.text else {
                    return Err(ApiError::invalid_field(
                        "paragraph_id",
                        "is not a current paragraph of this session's essay",
                    ));
                };
                let quote = req
                    .quote
                    .map(|quote| quote.anchor(&text))
                    .transpose()
                    .map_err(|m| ApiError::invalid_field("quote", m))?;
                let thread_id: Uuid = diesel::insert_into(threads::table)
                    .values((
                        threads::id.eq(Uuid::now_v7()),
                        threads::session_id.eq(session_id),
                        threads::paragraph_id.eq(req.paragraph_id),
                        threads::author_id.eq(author_id),
                        threads::title.eq(req.title.as_deref().map(str::trim).filter(|t| !t.is_empty())),
                        threads::quote_exact.eq(quote.as_ref().map(AnchoredQuote::exact)),
                        threads::quote_start.eq(quote.as_ref().map(|q| q.span().0)),
                        threads::quote_end.eq(quote.as_ref().map(|q| q.span().1)),
                        threads::kind.eq(req.kind),
                    ))
                    .returning(threads::id)
                    .get_result(conn)
                    .await?;
                anchor::record_new(conn, thread_id, &text, paragraph.revision, quote.as_ref()).await?;
                let named = mentions::resolve(conn, limits, thread_id, author_id, &names).await?;
                // The first comment is posted as every comment is: the
                // thread is new and the session share-locked, so it is as seen.
                let opening = Post {
                    thread_id,
                    parent_id: None,
                    depth: 0,
                    author_id,
                    body: req.body.clone(),
                    mentioned: named.recipients,
                    seen: Seen { locked: false, hidden: false, status },
                    place: Place { session_id, paragraph_id: req.paragraph_id },
                };
                let written = posting::write_now(conn, &[(Uuid::now_v7(), &opening)]).await?;
                if written.is_empty() {
                    return Err(ApiError::internal(anyhow::anyhow!(
                        "a new thread refused its first comment"
                    )));
                }
                Ok((thread_id, named.report))
            })
            .await?;
        // Read after the triggers ran: comment_count and last activity.
        let thread = views::thread::one(conn, Viewer::of(&access), thread).await?;
        Reply::created(format!("/api/v1/threads/{}", thread.id()), &PostedThread { thread, mentions })
    })
    .await
}

/// A new thread's 201: the thread, and what became of each name its body mentions.
#[derive(Serialize, ToSchema)]
pub struct PostedThread {
    #[serde(flatten)]
    thread: ThreadView,
    mentions: Vec<Mention>,
}

/// The session's threads: pinned first, then by `sort` (latest activity by
/// default). Hidden threads are listed for moderators only. Signed-in
/// callers also get each thread's `unread_count`.
#[utoipa::path(security((), ("bearer" = [])), tag = "threads", params(ThreadFilter, PageParams, ShowBlocked),
    responses((status = 200, body = Page<ThreadView>), (status = 304, description = "Not modified"), (status = 404, body = Problem), (status = 422, body = Problem)))]
#[get("/sessions/{session_id}/threads")]
#[tracing::instrument(skip_all, fields(id = %*path))]
pub async fn list_threads(
    state: AppState,
    http: HttpRequest,
    caller: MaybeCaller,
    path: web::Path<Uuid>,
    filter: web::Query<ThreadFilter>,
    page: web::Query<PageParams>,
    show: web::Query<ShowBlocked>,
) -> ApiResult<HttpResponse> {
    let limit = page.limit()?;
    let sort = filter.sort.unwrap_or_default();
    // Each sort has its own cursor shape; another sort's cursor is refused.
    let after = match sort {
        ThreadSort::Activity => page.after()?.map(ThreadAfter::Activity),
        ThreadSort::Votes => page.after()?.map(ThreadAfter::Votes),
        ThreadSort::New => page.after()?.map(ThreadAfter::New),
    };
    let listing = ThreadListing {
        paragraph_id: filter.paragraph_id,
        kind: filter.kind,
        answered: filter.answered,
        anchor: filter.anchor,
        sort,
    };
    state
        .read(async |conn| {
            // Read where the list is read (a replica's horizon is its own):
            // the stream resumed from it misses nothing the list lacks.
            let cursor = event_cursor::for_read(conn).await?;
            let access = access::resolve(conn, caller.0.as_ref(), Scope::Session(*path)).await?;
            access.require_read()?;
            let blocked = show.collapsed(conn, access.user_id).await?;
            let viewer = Viewer::of(&access).collapsing(&blocked);
            let page = views::thread::list::page(conn, viewer, *path, listing, after, limit).await?;
            conditional::json(&http, &page, &[cursor])
        })
        .await
}

/// A thread.
#[utoipa::path(security((), ("bearer" = [])), tag = "threads", params(ShowBlocked),
    responses((status = 200, body = ThreadView), (status = 304, description = "Not modified"), (status = 404, body = Problem)))]
#[get("/threads/{thread_id}")]
#[tracing::instrument(skip_all, fields(id = %*path))]
pub async fn get_thread(
    state: AppState,
    http: HttpRequest,
    caller: MaybeCaller,
    path: web::Path<Uuid>,
    show: web::Query<ShowBlocked>,
) -> ApiResult<HttpResponse> {
    state
        .read(async |conn| {
            let cursor = event_cursor::for_read(conn).await?;
            let (_, view) = views::thread::visible(conn, caller.0.as_ref(), *path, &show).await?;
            conditional::json(&http, &view, &[cursor])
        })
        .await
}
