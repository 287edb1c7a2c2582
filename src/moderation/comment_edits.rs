//! GET /comments/{comment_id}/revisions: a comment's edit history (its
//! earlier versions), for moderators. To anyone else the history does not exist (404).

use actix_web::get;
use actix_web::web;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::access::{self, Role, Scope};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorCode, Problem};
use crate::http::{Page, PageParams};
use crate::state::AppState;
use crate::views::{self, comment_edit::CommentEditView};

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_comment_revisions);
}

/// Every earlier version of a comment, oldest first (moderators; 404 to members).
#[utoipa::path(tag = "moderation",
    security(("bearer" = [])), params(PageParams),
    responses(
        (status = 200, body = Page<CommentEditView>),
        (status = 401, body = Problem),
        (status = 403, description = "`banned`", body = Problem),
        (status = 404, description = "No such comment, or the caller is not a moderator", body = Problem),
    ))]
#[get("/comments/{comment_id}/revisions")]
#[tracing::instrument(skip_all, fields(id = %*path))]
pub async fn list_comment_revisions(
    state: AppState,
    caller: Caller,
    path: web::Path<Uuid>,
    page: web::Query<PageParams>,
) -> ApiResult<web::Json<Page<CommentEditView>>> {
    let limit = page.limit()?;
    let after: Option<(DateTime<Utc>, Uuid)> = page.after()?;
    let mut conn = state.conn().await?;
    let access = access::resolve(&mut conn, Some(&caller), Scope::Comment(*path)).await?;
    // Members and outsiders are not told that a history exists.
    access.require(Role::Moderator).map_err(|e| match e.code {
        ErrorCode::InsufficientRole | ErrorCode::NotAMember => ApiError::not_found(),
        _ => e,
    })?;
    Ok(web::Json(views::comment_edit::page(&mut conn, *path, after, limit).await?))
}
