use actix_web::{delete, get, patch, post};
use actix_web::{web, HttpRequest, HttpResponse};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use futures_util::FutureExt;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::models::{self as threads_db, Comment, CommentView, NewComment};
use super::rules::{check_body, check_open, visible_thread};
use crate::access::{self, GroupAccess, Role, Scope};
use crate::auth::{Caller, MaybeCaller};
use crate::db::modlog::{self as modlog, Action, Target};
use crate::domain::limits;
use crate::error::{ApiError, ApiResult, ErrorCode, Problem};
use crate::events::cursor as event_cursor;
use crate::http::{conditional, Check, Json, Page, PageParams};
use crate::idempotency::{self, Reply};
use crate::ratelimit::Create;
use crate::schema::{comment_revisions, comments, reading_sessions as rs, threads};
use crate::sessions::models::Status;
use crate::state::AppState;

/// Replies nest at most this deep (a thread's top-level comments are depth 0).
pub const MAX_DEPTH: i16 = 8;

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
#[utoipa::path(security((), ("bearer" = [])), tag = "threads", params(PageParams),
    responses((status = 200, body = Page<CommentView>), (status = 304, description = "Not modified"), (status = 404, body = Problem), (status = 422, body = Problem)))]
#[get("/threads/{thread_id}/comments")]
#[tracing::instrument(skip_all, fields(id = %*path))]
pub async fn list_comments(
    state: web::Data<AppState>,
    http: HttpRequest,
    caller: MaybeCaller,
    path: web::Path<Uuid>,
    page: web::Query<PageParams>,
) -> ApiResult<HttpResponse> {
    let limit = page.limit()?;
    let after: Option<String> = page.after()?;
    let mut conn = state.conn().await?;
    let cursor = event_cursor::for_read(&mut conn).await?;
    let (access, thread, _) = visible_thread(&mut conn, caller.0.as_ref(), *path).await?;
    let moderator = access.is_moderator();
    let rows = threads_db::list_comments(&mut conn, thread.id, after, limit).await?;
    let page = Page::from_rows(rows, limit, |(c, _)| c.sort_key.clone());
    conditional::json(&http, &page.map(|(c, author)| CommentView::new(c, author, moderator)), &[cursor])
}

#[derive(Queryable)]
struct ThreadState {
    session_id: Uuid,
    locked: bool,
    hidden: bool,
}

/// Locks the thread row for this write and refuses what its state forbids:
/// a hidden thread is 404 and a locked one 409 `thread_locked`, except to moderators.
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
    check_writable(&state, access)?;
    Ok(state.session_id)
}

fn check_writable(state: &ThreadState, access: &GroupAccess) -> ApiResult<()> {
    let moderator = access.is_moderator();
    if state.hidden && !moderator {
        return Err(ApiError::not_found());
    }
    if state.locked && !moderator {
        return Err(ApiError::conflict(ErrorCode::ThreadLocked, "This thread is locked."));
    }
    Ok(())
}

/// Comment on a thread, or reply to one of its comments.
#[utoipa::path(params(idempotency::IdempotencyKey), tag = "threads", security(("bearer" = [])),
    request_body = CreateComment,
    responses(
        (status = 429, description = "`rate_limited`: too many created by this user; see Retry-After", body = Problem),
        (status = 201, body = CommentView),
        (status = 403, description = "Not a member, or banned", body = Problem),
        (status = 404, body = Problem),
        (status = 409, description = "`thread_locked` or `session_closed`", body = Problem),
        (status = 422, description = "Invalid body, a parent from another thread, or deeper than 8", body = Problem),
    ))]
#[post("/threads/{thread_id}/comments")]
#[tracing::instrument(skip_all, fields(id = %*path))]
pub async fn create_comment(
    state: web::Data<AppState>,
    http: HttpRequest,
    caller: Caller,
    path: web::Path<Uuid>,
    body: Json<CreateComment>,
) -> ApiResult<HttpResponse> {
    state.limits.create(Create::Comment, &caller)?;
    let req = body.0;
    let thread_id = *path;
    let mut check = Check::new();
    check_body(&mut check, &req.body);
    check.done()?;
    let mut conn = state.conn().await?;
    idempotency::once(&mut conn, &http, &caller, async |conn| {
        let caller = &caller;
        let (comment, author, moderator) = conn
            .transaction::<_, ApiError, _>(async move |conn| {
                // One round trip for everything the insert depends on: the
                // access check (which also reads the author's profile), the
                // thread row lock (keeps `thread_locked` exact, and
                // `session_closed` too: closing a session locks its threads,
                // so the status read after this lock is the final one), the
                // session status and the parent. They are pipelined and run
                // in this order; nothing is used before the access check
                // allows it, and nothing is written before all of them are in.
                let pipe: &AsyncPgConnection = conn;
                let access = access::resolve_pipelined(pipe, Some(caller), Scope::Thread(thread_id));
                let thread = threads::table
                    .find(thread_id)
                    .select((threads::session_id, threads::locked, threads::hidden))
                    .for_no_key_update()
                    .first::<ThreadState>(&mut &*pipe)
                    .boxed();
                let session_status = rs::table
                    .filter(
                        rs::id
                            .nullable()
                            .eq(threads::table.find(thread_id).select(threads::session_id).single_value()),
                    )
                    .select(rs::status)
                    .first::<Status>(&mut &*pipe)
                    .boxed();
                let parent = req.parent_id.map(|parent_id| {
                    comments::table
                        .find(parent_id)
                        .select((comments::thread_id, comments::depth))
                        .first::<(Uuid, i16)>(&mut &*pipe)
                        .boxed()
                });
                let parent = async move {
                    match parent {
                        Some(query) => query.await.optional(),
                        None => Ok(None),
                    }
                };
                let (access, thread, session_status, parent) =
                    futures_util::join!(access, thread, session_status, parent);

                let access = access?;
                let author_id = access.require(Role::Member)?;
                let moderator = access.is_moderator();
                check_writable(&thread?, &access)?;
                check_open(session_status?)?;
                let depth = match (req.parent_id, parent?) {
                    (None, _) => 0,
                    (Some(_), Some((parent_thread, depth))) if parent_thread == thread_id => depth + 1,
                    (Some(_), _) => {
                        return Err(ApiError::invalid_field("parent_id", "is not a comment of this thread"))
                    }
                };
                if depth > MAX_DEPTH {
                    return Err(ApiError::invalid_field(
                        "parent_id",
                        format!("replies nest at most {MAX_DEPTH} levels deep"),
                    ));
                }
                let author = access.caller.clone().ok_or_else(ApiError::not_found)?;
                let new =
                    NewComment { thread_id, parent_id: req.parent_id, depth, author_id, body: &req.body };
                let comment = threads_db::insert_comment(conn, &new).await?;
                Ok((comment, author, moderator))
            })
            .await?;
        Reply::created(
            format!("/api/v1/comments/{}", comment.id),
            &CommentView::new(comment, author, moderator),
        )
    })
    .await
}

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
    state: web::Data<AppState>,
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
    let (_, author) = threads_db::find_comment(&mut conn, comment.id).await?;
    Ok(web::Json(CommentView::new(comment, author, moderator)))
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
    state: web::Data<AppState>,
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
