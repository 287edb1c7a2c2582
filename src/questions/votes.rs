//! PUT and DELETE /threads/{thread_id}/vote.
//!
//! One vote per member and thread, stored as a row whose insert or delete
//! the `thread_votes_counted` trigger counts; idempotent both ways, exact
//! under any concurrency (the primary key decides, the trigger counts only
//! rows that really came or went). Lock order, as stated in
//! src/db/replaceable/triggers.sql: membership, session, thread.

use actix_web::{delete, put, web, HttpResponse};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::access::{self, GroupAccess, Role, Scope};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorCode, Problem};
use crate::schema::{memberships, thread_votes, threads};
use crate::state::AppState;
use crate::threads::rules::lock_open_session;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(vote).service(unvote);
}

/// Locks what a vote depends on, in the protocol's order, and refuses what
/// the thread's state forbids. Returns the voter.
async fn lock_for_vote(
    conn: &mut AsyncPgConnection,
    access: &GroupAccess,
    thread_id: Uuid,
) -> ApiResult<Uuid> {
    let user_id = access.require(Role::Member)?;
    // Votes are members' votes: a site administrator who has not joined has none.
    let member: Option<String> = memberships::table
        .find((access.group_id, user_id))
        .select(memberships::role)
        .for_key_share()
        .first(conn)
        .await
        .optional()?;
    if member.is_none() {
        return Err(ApiError::forbidden(ErrorCode::NotAMember, "Join the group first."));
    }
    // A thread never changes session (a guard refuses it), so this read needs no lock.
    let session_id: Uuid = threads::table.find(thread_id).select(threads::session_id).first(conn).await?;
    lock_open_session(conn, session_id).await?;
    let hidden: bool =
        threads::table.find(thread_id).select(threads::hidden).for_no_key_update().first(conn).await?;
    if hidden {
        if !access.is_moderator() {
            return Err(ApiError::not_found());
        }
        return Err(ApiError::conflict(ErrorCode::ThreadHidden, "A hidden thread takes no votes."));
    }
    Ok(user_id)
}

/// Vote for a thread (once; voting again changes nothing).
#[utoipa::path(tag = "questions", security(("bearer" = [])),
    responses(
        (status = 204, description = "Voted (also when the vote was already there)"),
        (status = 403, description = "`not_a_member` or `banned`", body = Problem),
        (status = 404, body = Problem),
        (status = 409, description = "`session_closed`, or `thread_hidden` (moderators; members get 404)", body = Problem),
    ))]
#[put("/threads/{thread_id}/vote")]
#[tracing::instrument(skip_all, fields(id = %*path))]
pub async fn vote(state: AppState, caller: Caller, path: web::Path<Uuid>) -> ApiResult<HttpResponse> {
    let thread_id = *path;
    let mut conn = state.conn().await?;
    let access = access::resolve(&mut conn, Some(&caller), Scope::Thread(thread_id)).await?;
    conn.transaction::<_, ApiError, _>(async move |conn| {
        let user_id = lock_for_vote(conn, &access, thread_id).await?;
        diesel::insert_into(thread_votes::table)
            .values((
                thread_votes::thread_id.eq(thread_id),
                thread_votes::user_id.eq(user_id),
                thread_votes::group_id.eq(access.group_id),
            ))
            .on_conflict_do_nothing()
            .execute(conn)
            .await?;
        Ok(())
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Take back your vote (nothing happens when there is none).
#[utoipa::path(tag = "questions", security(("bearer" = [])),
    responses(
        (status = 204, description = "No vote of yours on this thread any more"),
        (status = 403, description = "`not_a_member` or `banned`", body = Problem),
        (status = 404, body = Problem),
        (status = 409, description = "`session_closed`, or `thread_hidden` (moderators; members get 404)", body = Problem),
    ))]
#[delete("/threads/{thread_id}/vote")]
#[tracing::instrument(skip_all, fields(id = %*path))]
pub async fn unvote(state: AppState, caller: Caller, path: web::Path<Uuid>) -> ApiResult<HttpResponse> {
    let thread_id = *path;
    let mut conn = state.conn().await?;
    let access = access::resolve(&mut conn, Some(&caller), Scope::Thread(thread_id)).await?;
    conn.transaction::<_, ApiError, _>(async move |conn| {
        let user_id = lock_for_vote(conn, &access, thread_id).await?;
        diesel::delete(thread_votes::table.find((thread_id, user_id))).execute(conn).await?;
        Ok(())
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
