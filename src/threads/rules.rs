//! What every write to a thread checks, shared by the thread and comment
//! routes: body limits, whether the session takes posts, and whether the
//! caller may see the thread at all.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::access::GroupAccess;
use crate::domain::limits;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::http::Check;
use crate::schema::reading_sessions as rs;
use crate::sessions::models::Status;

pub fn check_body(check: &mut Check, body: &str) {
    check.text("body", body, limits::COMMENT_BODY);
}

/// 409 `session_closed` unless the session takes new posts. The share lock
/// makes a concurrent close wait until this post has landed.
#[tracing::instrument(skip_all)]
pub async fn lock_open_session(conn: &mut AsyncPgConnection, session_id: Uuid) -> ApiResult<Status> {
    let status: Status = rs::table.find(session_id).select(rs::status).for_share().first(conn).await?;
    check_open(status)?;
    Ok(status)
}

/// 409 `session_closed` unless a session with this status takes new posts.
pub fn check_open(status: Status) -> ApiResult<()> {
    if status == Status::Closed {
        return Err(ApiError::conflict(ErrorCode::SessionClosed, "This reading session is closed."));
    }
    Ok(())
}

/// 404 unless the caller may read the group and, for a hidden thread, moderates it.
pub fn check_visible(access: &GroupAccess, thread_hidden: bool) -> ApiResult<()> {
    access.require_read()?;
    if thread_hidden && !access.is_moderator() {
        return Err(ApiError::not_found());
    }
    Ok(())
}

/// A hidden thread is 404 and a locked one 409 `thread_locked`, except to moderators.
pub fn check_writable(locked: bool, hidden: bool, access: &GroupAccess) -> ApiResult<()> {
    let moderator = access.is_moderator();
    if hidden && !moderator {
        return Err(ApiError::not_found());
    }
    if locked && !moderator {
        return Err(ApiError::conflict(ErrorCode::ThreadLocked, "This thread is locked."));
    }
    Ok(())
}
