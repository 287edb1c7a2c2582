//! GET /comments/{comment_id}/revisions: a comment's earlier versions, for
//! moderators. To anyone else the history does not exist (404).

use actix_web::get;
use actix_web::web;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::access::{self, Role, Scope};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorCode, Problem};
use crate::http::pages::keyset;
use crate::http::{Page, PageParams};
use crate::schema::{comment_revisions as revs, users};
use crate::state::AppState;
use crate::users::UserView;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_comment_revisions);
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RevisionView {
    /// The comment's text as it was.
    pub body: String,
    /// When this version was written.
    pub edited_at: DateTime<Utc>,
    pub editor: UserView,
}

#[derive(Queryable)]
struct Row {
    id: Uuid,
    body: String,
    edited_at: DateTime<Utc>,
    editor: UserView,
}

/// Every earlier version of a comment, oldest first (moderators; 404 to members).
#[utoipa::path(tag = "moderation",
    security(("bearer" = [])), params(PageParams),
    responses(
        (status = 200, body = Page<RevisionView>),
        (status = 401, body = Problem),
        (status = 403, description = "`banned`", body = Problem),
        (status = 404, description = "No such comment, or the caller is not a moderator", body = Problem),
    ))]
#[get("/comments/{comment_id}/revisions")]
#[tracing::instrument(skip_all, fields(id = %*path))]
pub async fn list_comment_revisions(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<Uuid>,
    page: web::Query<PageParams>,
) -> ApiResult<web::Json<Page<RevisionView>>> {
    let limit = page.limit()?;
    let after: Option<(DateTime<Utc>, Uuid)> = page.after()?;
    let mut conn = state.conn().await?;
    let access = access::resolve(&mut conn, Some(&caller), Scope::Comment(*path)).await?;
    // Members and outsiders are not told that a history exists.
    access.require(Role::Moderator).map_err(|e| match e.code {
        ErrorCode::InsufficientRole | ErrorCode::NotAMember => ApiError::not_found(),
        _ => e,
    })?;
    let mut query = revs::table
        .inner_join(users::table.on(users::id.eq(revs::editor_id)))
        .filter(revs::comment_id.eq(*path))
        .order((revs::edited_at.asc(), revs::id.asc()))
        .select((revs::id, revs::body, revs::edited_at, UserView::as_select()))
        .limit(limit + 1)
        .into_boxed();
    if let Some((at, id)) = after {
        query = query.filter(keyset!(>, revs::edited_at => at, revs::id => id));
    }
    let rows = query.load::<Row>(&mut conn).await?;
    let page = Page::from_rows(rows, limit, |r| (r.edited_at, r.id));
    Ok(web::Json(page.map(|r| RevisionView { body: r.body, edited_at: r.edited_at, editor: r.editor })))
}
