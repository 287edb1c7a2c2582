//! POST /comments/{comment_id}/moderation: hide and restore. Hiding is a
//! moderator's state, separate from the author's deletion: restoring a
//! comment its author has deleted leaves it deleted.

use actix_web::post;
use actix_web::web;
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::access::{self, Role, Scope};
use crate::auth::Caller;
use crate::db::modlog::{self as modlog, Action, Target};
use crate::domain::limits;
use crate::error::{ApiError, ApiResult, Problem};
use crate::http::Json;
use crate::schema::comments;
use crate::state::AppState;
use crate::views::{self, CommentView, Viewer};

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(moderate_comment);
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CommentAction {
    Hide,
    Restore,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ModerateComment {
    pub action: CommentAction,
    /// At most 1,000 characters. Goes to the moderation log; for `hide`, also
    /// shown to moderators on the comment.
    #[schema(schema_with = limits::optional_reason_or_null)]
    pub reason: Option<String>,
}

/// Hide or restore a comment (moderator or above of its group). Idempotent:
/// an action that changes nothing is 200 and is not logged.
#[utoipa::path(tag = "moderation",
    security(("bearer" = [])), request_body = ModerateComment,
    responses(
        (status = 200, description = "The comment as a moderator sees it", body = CommentView),
        (status = 401, body = Problem),
        (status = 403, description = "`insufficient_role` or `banned`", body = Problem),
        (status = 404, body = Problem),
        (status = 422, description = "Unknown action or a reason over 1,000 characters", body = Problem),
    ))]
#[post("/comments/{comment_id}/moderation")]
#[tracing::instrument(skip_all, fields(id = %*path))]
pub async fn moderate_comment(
    state: AppState,
    caller: Caller,
    path: web::Path<Uuid>,
    body: Json<ModerateComment>,
) -> ApiResult<web::Json<CommentView>> {
    let req = body.0;
    let reason = super::optional_reason(req.reason.as_deref())?;
    let comment_id = *path;
    let mut conn = state.conn().await?;
    let access = access::resolve(&mut conn, Some(&caller), Scope::Comment(comment_id)).await?;
    let actor = access.require(Role::Moderator)?;
    let viewer = Viewer::of(&access);
    let group_id = access.group_id;
    conn.transaction::<_, ApiError, _>(async move |conn| {
        // Row locks in the triggers' order: comment, then (by the trigger)
        // thread; the protocol is in src/db/replaceable/triggers.sql.
        let (hidden, author_id): (bool, Uuid) = comments::table
            .find(comment_id)
            .select((comments::hidden, comments::author_id))
            .for_update()
            .first(conn)
            .await?;
        access::require_outranks(conn, &access, author_id).await?;
        let row = comments::table.find(comment_id);
        let (changed, action) = match req.action {
            CommentAction::Hide => {
                let changed = !hidden
                    && diesel::update(row)
                        .set((
                            comments::hidden.eq(true),
                            comments::hidden_by.eq(Some(actor)),
                            comments::hidden_reason.eq(reason.as_deref()),
                        ))
                        .execute(conn)
                        .await?
                        == 1;
                (changed, Action::Hide)
            }
            CommentAction::Restore => {
                let changed = hidden
                    && diesel::update(row)
                        .set((
                            comments::hidden.eq(false),
                            comments::hidden_by.eq(None::<Uuid>),
                            comments::hidden_reason.eq(None::<String>),
                        ))
                        .execute(conn)
                        .await?
                        == 1;
                (changed, Action::Restore)
            }
        };
        if changed {
            let target = Target::Comment(comment_id);
            modlog::record(conn, group_id, actor, action, target, reason.as_deref()).await?;
        }
        Ok(())
    })
    .await?;
    Ok(web::Json(views::comment::one(&mut conn, viewer, comment_id).await?))
}
