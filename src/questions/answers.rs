//! POST and DELETE /threads/{thread_id}/answers/{comment_id}.
//!
//! The thread's author or a moderator accepts comments of a question thread
//! as answers, as many as they like. An accepted answer counts while its
//! comment counts: hidden or deleted later, it stops answering (the thread
//! is open again) until the comment is restored. The acceptance itself is
//! kept. Closed sessions and locked threads still take acceptances: marking
//! what answered a question is the end of a discussion, not part of it.

use actix_web::{delete, post, web};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::access::{self, GroupAccess, Role, Scope};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorCode, Problem};
use crate::schema::{comments, thread_answers, threads};
use crate::state::AppState;
use crate::threads::models::ThreadKind;
use crate::views::{self, ThreadView, Viewer};

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(accept_answer).service(withdraw_answer);
}

#[derive(Queryable)]
struct CommentState {
    thread_id: Uuid,
    hidden: bool,
    deleted: bool,
    sort_key: String,
}

/// Locks the comment (FOR SHARE: a concurrent hide or delete waits, and so
/// does this for them) and then the thread, in the protocol's order, and
/// checks the caller may manage the thread's answers. Returns the comment.
async fn lock_for_answer(
    conn: &mut AsyncPgConnection,
    access: &GroupAccess,
    thread_id: Uuid,
    comment_id: Uuid,
) -> ApiResult<CommentState> {
    let user_id = access.require(Role::Member)?;
    let comment: Option<CommentState> = comments::table
        .find(comment_id)
        .select((comments::thread_id, comments::hidden, comments::deleted, comments::sort_key))
        .for_share()
        .first(conn)
        .await
        .optional()?;
    let (author_id, kind, hidden): (Uuid, ThreadKind, bool) = threads::table
        .find(thread_id)
        .select((threads::author_id, threads::kind, threads::hidden))
        .for_no_key_update()
        .first(conn)
        .await?;
    let moderator = access.is_moderator();
    if hidden && !moderator {
        return Err(ApiError::not_found());
    }
    if author_id != user_id && !moderator {
        return Err(ApiError::forbidden(
            ErrorCode::NotAuthor,
            "Only the thread's author or a moderator can accept or withdraw answers.",
        ));
    }
    if kind != ThreadKind::Question {
        return Err(ApiError::unprocessable(ErrorCode::NotAQuestion, "Only question threads have answers."));
    }
    match comment {
        Some(c) if c.thread_id == thread_id => Ok(c),
        _ => Err(ApiError::invalid_field("comment_id", "is not a comment of this thread")),
    }
}

/// Accept a comment as an answer to the question (its author or a moderator).
/// Idempotent; several answers may be accepted.
#[utoipa::path(tag = "questions", security(("bearer" = [])),
    responses(
        (status = 200, description = "The thread, answered", body = ThreadView),
        (status = 403, description = "`not_author` (neither the thread's author nor a moderator), `not_a_member` or `banned`", body = Problem),
        (status = 404, body = Problem),
        (status = 422, description = "`not_a_question`; or `validation_failed`: the comment is not in the thread, is hidden or deleted, or is the question itself", body = Problem),
    ))]
#[post("/threads/{thread_id}/answers/{comment_id}")]
#[tracing::instrument(skip_all, fields(thread = %path.0, comment = %path.1))]
pub async fn accept_answer(
    state: AppState,
    caller: Caller,
    path: web::Path<(Uuid, Uuid)>,
) -> ApiResult<web::Json<ThreadView>> {
    let (thread_id, comment_id) = *path;
    let mut conn = state.conn().await?;
    let access = access::resolve(&mut conn, Some(&caller), Scope::Thread(thread_id)).await?;
    let accepted_by = access.require(Role::Member)?;
    let checked = access.clone();
    conn.transaction::<_, ApiError, _>(async move |conn| {
        let comment = lock_for_answer(conn, &checked, thread_id, comment_id).await?;
        if comment.hidden || comment.deleted {
            return Err(ApiError::invalid_field("comment_id", "is hidden or deleted"));
        }
        // The opening comment is the question: the first in tree order.
        let earlier: bool = diesel::select(diesel::dsl::exists(
            comments::table
                .filter(comments::thread_id.eq(thread_id))
                .filter(comments::sort_key.lt(comment.sort_key)),
        ))
        .get_result(conn)
        .await?;
        if !earlier {
            return Err(ApiError::invalid_field("comment_id", "is the question itself"));
        }
        diesel::insert_into(thread_answers::table)
            .values((
                thread_answers::thread_id.eq(thread_id),
                thread_answers::comment_id.eq(comment_id),
                thread_answers::accepted_by.eq(accepted_by),
            ))
            .on_conflict_do_nothing()
            .execute(conn)
            .await?;
        Ok(())
    })
    .await?;
    Ok(web::Json(views::thread::one(&mut conn, Viewer::of(&access), thread_id).await?))
}

/// Withdraw an accepted answer (the thread's author or a moderator). Idempotent.
#[utoipa::path(tag = "questions", security(("bearer" = [])),
    responses(
        (status = 200, description = "The thread", body = ThreadView),
        (status = 403, description = "`not_author` (neither the thread's author nor a moderator), `not_a_member` or `banned`", body = Problem),
        (status = 404, body = Problem),
        (status = 422, description = "`not_a_question`; or `validation_failed`: the comment is not in the thread", body = Problem),
    ))]
#[delete("/threads/{thread_id}/answers/{comment_id}")]
#[tracing::instrument(skip_all, fields(thread = %path.0, comment = %path.1))]
pub async fn withdraw_answer(
    state: AppState,
    caller: Caller,
    path: web::Path<(Uuid, Uuid)>,
) -> ApiResult<web::Json<ThreadView>> {
    let (thread_id, comment_id) = *path;
    let mut conn = state.conn().await?;
    let access = access::resolve(&mut conn, Some(&caller), Scope::Thread(thread_id)).await?;
    let checked = access.clone();
    conn.transaction::<_, ApiError, _>(async move |conn| {
        lock_for_answer(conn, &checked, thread_id, comment_id).await?;
        diesel::delete(thread_answers::table.find((thread_id, comment_id))).execute(conn).await?;
        Ok(())
    })
    .await?;
    Ok(web::Json(views::thread::one(&mut conn, Viewer::of(&access), thread_id).await?))
}
