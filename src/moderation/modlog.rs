//! GET /groups/{group_id}/modlog: who did what and why, newest first.

use actix_web::get;
use actix_web::web;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::access::{self, Role, Scope};
use crate::auth::Caller;
use crate::db::modlog::{Action, TargetType};
use crate::error::{ApiResult, Problem};
use crate::http::pages::keyset;
use crate::http::{Page, PageParams};
use crate::schema::{modlog, users};
use crate::state::AppState;
use crate::users::UserView;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_modlog);
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ModlogFilter {
    /// Only this kind of action.
    pub action: Option<Action>,
    /// Only actions on this kind of target.
    pub target_type: Option<TargetType>,
    /// Only actions on this target.
    pub target_id: Option<Uuid>,
}

#[derive(Debug, Queryable)]
struct Row {
    id: Uuid,
    action: Action,
    target_type: TargetType,
    target_id: Uuid,
    reason: Option<String>,
    created_at: DateTime<Utc>,
    actor: UserView,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ModlogEntry {
    pub id: Uuid,
    pub actor: UserView,
    pub action: Action,
    pub target_type: TargetType,
    pub target_id: Uuid,
    pub reason: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// The group's moderation log (moderators), newest first, filterable by
/// action and target.
#[utoipa::path(tag = "moderation",
    security(("bearer" = [])), params(ModlogFilter, PageParams),
    responses(
        (status = 200, body = Page<ModlogEntry>),
        (status = 400, description = "Unknown filter value or a bad cursor", body = Problem),
        (status = 401, body = Problem),
        (status = 403, body = Problem),
        (status = 404, body = Problem),
    ))]
#[get("/groups/{group_id}/modlog")]
#[tracing::instrument(skip_all, fields(id = %*path))]
pub async fn list_modlog(
    state: AppState,
    caller: Caller,
    path: web::Path<Uuid>,
    filter: web::Query<ModlogFilter>,
    page: web::Query<PageParams>,
) -> ApiResult<web::Json<Page<ModlogEntry>>> {
    let limit = page.limit()?;
    let after: Option<(DateTime<Utc>, Uuid)> = page.after()?;
    let mut conn = state.conn().await?;
    let access = access::resolve(&mut conn, Some(&caller), Scope::Group(*path)).await?;
    access.require(Role::Moderator)?;
    let mut query = modlog::table
        .inner_join(users::table.on(users::id.eq(modlog::actor_id)))
        .filter(modlog::group_id.eq(access.group_id))
        .order((modlog::created_at.desc(), modlog::id.desc()))
        .select((
            modlog::id,
            modlog::action,
            modlog::target_type,
            modlog::target_id,
            modlog::reason,
            modlog::created_at,
            UserView::as_select(),
        ))
        .limit(limit + 1)
        .into_boxed();
    if let Some(action) = filter.action {
        query = query.filter(modlog::action.eq(action));
    }
    if let Some(target_type) = filter.target_type {
        query = query.filter(modlog::target_type.eq(target_type));
    }
    if let Some(target_id) = filter.target_id {
        query = query.filter(modlog::target_id.eq(target_id));
    }
    if let Some((at, id)) = after {
        query = query.filter(keyset!(<, modlog::created_at => at, modlog::id => id));
    }
    let rows = query.load::<Row>(&mut conn).await?;
    let page = Page::from_rows(rows, limit, |r| (r.created_at, r.id));
    Ok(web::Json(page.map(|r| ModlogEntry {
        id: r.id,
        actor: r.actor,
        action: r.action,
        target_type: r.target_type,
        target_id: r.target_id,
        reason: r.reason,
        created_at: r.created_at,
    })))
}
