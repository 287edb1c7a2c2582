use actix_web::{delete, get, patch, post};
use actix_web::{web, HttpRequest, HttpResponse};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bool, Integer, Nullable, Uuid as SqlUuid};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::models::Comment;
use super::posting::{self, Ask, Outcome};
use crate::access::{self, GroupAccess, Role, Scope};
use crate::auth::{Caller, MaybeCaller};
use crate::db::modlog::{self as modlog, Action, Target};
use crate::domain::limits;
use crate::error::{ApiError, ApiResult, ErrorCode, Problem};
use crate::http::{Check, Json, Page, PageParams};
use crate::idempotency::{self, Reply};
use crate::notifications::mentions::{self, Mention};
use crate::ratelimit::Create;
use crate::schema::{comment_revisions, comments, threads};
use crate::state::AppState;
use crate::threads::rules::{check_body, check_visible, check_writable};
use crate::users::blocks::ShowBlocked;
use crate::versions::session::{SessionEvents, Versioned};
use crate::views::{self, CommentView, Viewer};

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_comments).service(create_comment).service(edit_comment).service(delete_comment);
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateComment {
    /// 1–10,000 characters of Markdown, stored as written.
    #[schema(schema_with = limits::comment_body)]
    pub body: String,
    /// Reply to this comment of the same thread; a top-level comment when absent.
    pub parent_id: Option<Uuid>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EditComment {
    #[schema(schema_with = limits::comment_body)]
    pub body: String,
}

/// A thread's comments in tree order: every reply right after its parent's
/// subtree begins, siblings oldest first. Pages stay stable while people reply.
#[utoipa::path(security((), ("bearer" = [])), tag = "threads", params(PageParams, ShowBlocked),
    responses((status = 200, body = Page<CommentView>), (status = 304, description = "Not modified"), (status = 404, body = Problem), (status = 422, body = Problem)))]
#[get("/threads/{thread_id}/comments")]
#[tracing::instrument(skip_all, fields(id = %*path))]
pub async fn list_comments(
    state: AppState,
    http: HttpRequest,
    caller: MaybeCaller,
    path: web::Path<Uuid>,
    page: web::Query<PageParams>,
    show: web::Query<ShowBlocked>,
) -> ApiResult<HttpResponse> {
    let limit = page.limit()?;
    let after: Option<String> = page.after()?;
    state
        .read(async |conn| {
            let read =
                readable_thread(conn, caller.0.as_ref(), *path, after.as_deref(), limit, &show).await?;
            if let Some(known) = read.answer.known(&http, &state.kept_responses) {
                return Ok(known);
            }
            let viewer = Viewer::of(&read.access).collapsing(&read.blocked);
            let rows = views::comment::page_rows(conn, *path, after.as_deref(), limit).await?;
            let page = Page::from_rows(rows, limit, |(c, _)| c.sort_key.clone());
            read.answer.json(
                &http,
                &state.kept_responses,
                &page.map(|(c, author)| CommentView::of(viewer, c, author)),
            )
        })
        .await
}

#[derive(QueryableByName)]
struct ThreadRead {
    #[diesel(embed)]
    facts: access::CallerFacts,
    #[diesel(embed)]
    events: SessionEvents,
    #[diesel(sql_type = Bool)]
    thread_hidden: bool,
    #[diesel(sql_type = SqlUuid)]
    session_id: Uuid,
    #[diesel(sql_type = Nullable<BigInt>)]
    profiles_xid: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    profiles_id: Option<i64>,
    #[diesel(sql_type = Nullable<Array<SqlUuid>>)]
    blocked: Option<Vec<Uuid>>,
}

/// A page of comments the caller may read, begun.
struct PageRead {
    access: GroupAccess,
    answer: Versioned,
    /// Whose comments reach the caller collapsed, sorted.
    blocked: Vec<Uuid>,
}

/// Whether the caller may read the thread's comments, the event horizon,
/// and the version of the page, in one statement (prepared once per
/// connection). Only once access allows it is anything of the thread read
/// (no timing oracle).
///
/// Why the session's events version a page of comments: every change to
/// what a page shows appends an event for the thread's session (a comment
/// posted, edited, hidden, restored or deleted: src/db/replaceable/
/// triggers.sql), except its authors' names and bios, which move the
/// `profiles` watermark instead (same file). With both settled, the page
/// is named by them, the page's place (`after`, `limit`), whether the
/// reader moderates (moderators see hidden bodies) and, when the reader
/// blocks anyone and did not ask to see them, a digest of whom they block
/// (their comments come collapsed): blocking or unblocking renames the
/// reader's pages, and readers who block nobody share theirs.
async fn readable_thread(
    conn: &mut AsyncPgConnection,
    caller: Option<&Caller>,
    thread_id: Uuid,
    after: Option<&str>,
    limit: i64,
    show: &ShowBlocked,
) -> ApiResult<PageRead> {
    let row: Option<ThreadRead> = match caller {
        None => {
            crate::sql!("routes/thread_state_anonymous.sql")
                .bind::<SqlUuid, _>(thread_id)
                .get_result(conn)
                .await
        }
        Some(_) => {
            let (uid, ver) = access::caller_key(caller);
            crate::sql!("routes/thread_state.sql")
                .bind::<SqlUuid, _>(uid)
                .bind::<Integer, _>(ver)
                .bind::<SqlUuid, _>(thread_id)
                .get_result(conn)
                .await
        }
    }
    .optional()?;
    let row = row.ok_or_else(ApiError::not_found)?;
    let events = row.events.named();
    let profiles = row.events.settled(row.profiles_xid, row.profiles_id);
    let horizon = row.events.horizon;
    let access = row.facts.decide(caller.is_some())?;
    check_visible(&access, row.thread_hidden)?;
    let blocked = match (access.user_id, show.show_blocked) {
        (Some(_), false) => row.blocked.unwrap_or_default(),
        _ => Vec::new(),
    };
    let collapsing = blocks_digest(&blocked);
    let version = events.zip(profiles).map(|(events, profiles)| {
        // `after` last: it is the caller's text, and every field before it
        // has a fixed form, so no two pages share a name.
        let moderator = access.is_moderator();
        format!(
            "comments|{thread_id}|{limit}|{moderator}|{collapsing}|{}|{events}|{profiles}|{}",
            row.session_id,
            after.unwrap_or("")
        )
    });
    Ok(PageRead { access, answer: Versioned::new(horizon, version), blocked })
}

/// Names a sorted set of blocked users in a page's version: `-` for none,
/// else the SHA-256 of their ids (fixed length, whatever their number).
fn blocks_digest(blocked: &[Uuid]) -> String {
    use sha2::{Digest, Sha256};
    if blocked.is_empty() {
        return "-".to_owned();
    }
    let mut hash = Sha256::new();
    for id in blocked {
        hash.update(id.as_bytes());
    }
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

#[derive(Queryable)]
struct ThreadState {
    session_id: Uuid,
    locked: bool,
    hidden: bool,
}

/// Locks the thread row for this write and refuses what its state forbids
/// (see [`check_writable`]).
async fn lock_writable_thread(
    conn: &mut AsyncPgConnection,
    access: &GroupAccess,
    thread_id: Uuid,
) -> ApiResult<Uuid> {
    let state: ThreadState = threads::table
        .find(thread_id)
        .select((threads::session_id, threads::locked, threads::hidden))
        .for_no_key_update()
        .first(conn)
        .await?;
    check_writable(state.locked, state.hidden, access)?;
    Ok(state.session_id)
}

/// Comment on a thread, or reply to one of its comments.
#[utoipa::path(params(idempotency::IdempotencyKey), tag = "threads", security(("bearer" = [])),
    request_body = CreateComment,
    responses(
        (status = 429, description = "`rate_limited`: too many created by this user; see Retry-After", body = Problem),
        (status = 201, body = PostedComment),
        (status = 403, description = "Not a member, or banned", body = Problem),
        (status = 404, body = Problem),
        (status = 409, description = "`thread_locked` or `session_closed`", body = Problem),
        (status = 422, description = "Invalid body, a parent from another thread, or deeper than 8", body = Problem),
    ))]
#[post("/threads/{thread_id}/comments")]
#[tracing::instrument(skip_all, fields(id = %*path))]
pub async fn create_comment(
    state: AppState,
    http: HttpRequest,
    caller: Caller,
    path: web::Path<Uuid>,
    body: Json<CreateComment>,
) -> ApiResult<HttpResponse> {
    state.limits.create(Create::Comment, &caller)?;
    let req = body.0;
    let mut check = Check::new();
    check_body(&mut check, &req.body);
    check.done()?;
    let names = mentions::names(&req.body);
    let mut ask = Ask {
        caller: access::caller_key(Some(&caller)),
        thread_id: *path,
        parent_id: req.parent_id,
        body: req.body,
        mentioned: Vec::new(),
    };
    if idempotency::requested(&http)? {
        let mut conn = state.conn().await?;
        idempotency::once(&mut conn, &http, &caller, async |conn| {
            let named = mentions::resolve(conn, &state.limits, ask.thread_id, ask.caller.0, &names).await?;
            let ask = Ask { mentioned: named.recipients, ..ask.clone() };
            post(&mut InKeyTransaction(conn), &ask, named.report).await
        })
        .await
    } else {
        let mut report = Vec::new();
        if !names.is_empty() {
            let mut conn = state.conn().await?;
            let named =
                mentions::resolve(&mut conn, &state.limits, ask.thread_id, ask.caller.0, &names).await?;
            (ask.mentioned, report) = (named.recipients, named.report);
        }
        Ok(post(&mut Queued(&state), &ask, report).await?.into_response())
    }
}

/// A comment's 201: the comment, and what became of each name it mentions.
#[derive(Serialize, ToSchema)]
pub struct PostedComment {
    #[serde(flatten)]
    comment: CommentView,
    mentions: Vec<Mention>,
}

/// Where a post is decided and written.
trait PostPath {
    async fn attempt(&mut self, ask: &Ask) -> Outcome;
}

/// The usual path: with the posts waiting on this worker
/// (src/comments/post_queue.rs).
struct Queued<'a>(&'a AppState);

impl PostPath for Queued<'_> {
    async fn attempt(&mut self, ask: &Ask) -> Outcome {
        self.0.posts().post(ask.clone()).await
    }
}

/// Under an `Idempotency-Key`: alone, on the key's transaction, so the
/// comment and the stored answer commit together.
struct InKeyTransaction<'c>(&'c mut AsyncPgConnection);

impl PostPath for InKeyTransaction<'_> {
    async fn attempt(&mut self, ask: &Ask) -> Outcome {
        posting::post_one(self.0, ask).await
    }
}

/// Posts `ask`; again when the thread or its session changed between its
/// facts and its write.
async fn post(path: &mut impl PostPath, ask: &Ask, mentions: Vec<Mention>) -> ApiResult<Reply> {
    for _ in 0..POST_ATTEMPTS {
        if let Some(posted) = path.attempt(ask).await? {
            let viewer =
                Viewer { user_id: Some(posted.comment.author_id), moderator: posted.moderator, blocked: &[] };
            return Reply::created(
                format!("/api/v1/comments/{}", posted.comment.id),
                &PostedComment { comment: CommentView::of(viewer, posted.comment, posted.author), mentions },
            );
        }
    }
    Err(ApiError::busy("The thread kept changing while the comment was posted; try again."))
}

/// How often a post is decided again when the thread or its session changed
/// between its facts and its write (a moderator locked or hid it, or the
/// session closed, in that instant). Past that: 503 `database_busy`.
const POST_ATTEMPTS: usize = 3;

/// The comment, locked for this write, after the checks every write shares.
async fn lock_comment(
    conn: &mut AsyncPgConnection,
    access: &GroupAccess,
    comment_id: Uuid,
) -> ApiResult<Comment> {
    let comment: Comment =
        comments::table.find(comment_id).select(Comment::as_select()).for_update().first(conn).await?;
    let thread_hidden: bool =
        threads::table.find(comment.thread_id).select(threads::hidden).first(conn).await?;
    if thread_hidden && !access.is_moderator() {
        return Err(ApiError::not_found());
    }
    Ok(comment)
}

/// Edit your comment. The earlier version is kept for moderators.
#[utoipa::path(tag = "threads", security(("bearer" = [])),
    request_body = EditComment,
    responses(
        (status = 200, body = CommentView),
        (status = 403, description = "Not the author, or banned", body = Problem),
        (status = 404, body = Problem),
        (status = 409, description = "`thread_locked`, `comment_deleted` or `comment_hidden`", body = Problem),
        (status = 422, body = Problem),
    ))]
#[patch("/comments/{comment_id}")]
#[tracing::instrument(skip_all, fields(id = %*path))]
pub async fn edit_comment(
    state: AppState,
    caller: Caller,
    path: web::Path<Uuid>,
    body: Json<EditComment>,
) -> ApiResult<web::Json<CommentView>> {
    let req = body.0;
    let comment_id = *path;
    let mut check = Check::new();
    check_body(&mut check, &req.body);
    check.done()?;
    let mut conn = state.conn().await?;
    let access = access::resolve(&mut conn, Some(&caller), Scope::Comment(comment_id)).await?;
    let user_id = access.require(Role::Member)?;
    let moderator = access.is_moderator();
    let viewer = Viewer::of(&access);
    let comment = conn
        .transaction::<_, ApiError, _>(async move |conn| {
            let comment = lock_comment(conn, &access, comment_id).await?;
            if comment.author_id != user_id {
                return Err(ApiError::forbidden(ErrorCode::NotAuthor, "Only the author can edit a comment."));
            }
            if comment.deleted {
                return Err(ApiError::conflict(ErrorCode::CommentDeleted, "This comment was deleted."));
            }
            if comment.hidden && !moderator {
                return Err(ApiError::conflict(
                    ErrorCode::CommentHidden,
                    "A moderator has hidden this comment.",
                ));
            }
            lock_writable_thread(conn, &access, comment.thread_id).await?;
            diesel::insert_into(comment_revisions::table)
                .values((
                    comment_revisions::id.eq(Uuid::now_v7()),
                    comment_revisions::comment_id.eq(comment.id),
                    comment_revisions::body.eq(&comment.body),
                    comment_revisions::editor_id.eq(comment.author_id),
                    comment_revisions::edited_at.eq(comment.edited_at.unwrap_or(comment.created_at)),
                ))
                .execute(conn)
                .await?;
            Ok(diesel::update(comments::table.find(comment.id))
                .set((comments::body.eq(&req.body), comments::edited_at.eq(diesel::dsl::now)))
                .returning(Comment::as_returning())
                .get_result(conn)
                .await?)
        })
        .await?;
    Ok(web::Json(views::comment::one(&mut conn, viewer, comment.id).await?))
}

/// Delete a comment (its author, or a moderator). It stays in the tree as a
/// tombstone so replies keep their place.
#[utoipa::path(tag = "threads", security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted (also when it already was)"),
        (status = 403, description = "Neither author nor moderator, or banned", body = Problem),
        (status = 404, body = Problem),
    ))]
#[delete("/comments/{comment_id}")]
#[tracing::instrument(skip_all, fields(id = %*path))]
pub async fn delete_comment(
    state: AppState,
    caller: Caller,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let comment_id = *path;
    let mut conn = state.conn().await?;
    let access = access::resolve(&mut conn, Some(&caller), Scope::Comment(comment_id)).await?;
    let user_id = access.require(Role::Member)?;
    conn.transaction::<_, ApiError, _>(async move |conn| {
        let comment = lock_comment(conn, &access, comment_id).await?;
        let by_author = comment.author_id == user_id;
        if !by_author && !access.is_moderator() {
            return Err(ApiError::forbidden(
                ErrorCode::NotAuthor,
                "Only the author or a moderator can delete a comment.",
            ));
        }
        if !by_author {
            access::require_outranks(conn, &access, comment.author_id).await?;
        }
        if comment.deleted {
            return Ok(());
        }
        diesel::update(comments::table.find(comment.id))
            .set((comments::deleted.eq(true), comments::deleted_by.eq(user_id)))
            .execute(conn)
            .await?;
        if !by_author {
            modlog::record(conn, access.group_id, user_id, Action::Delete, Target::Comment(comment.id), None)
                .await?;
        }
        Ok(())
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
