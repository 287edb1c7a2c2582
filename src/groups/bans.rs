//! Group bans: a moderator or above shuts a lower role out of posting,
//! reporting and joining, for a while or until lifted.

use actix_web::{delete, post};
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::upsert::excluded;
use diesel_async::{AsyncConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::access::{self, Role, Scope};
use crate::auth::Caller;
use crate::db::modlog::{self as modlog, Action, Target};
use crate::db::rules::live_bans;
use crate::domain::limits;
use crate::error::{ApiError, ApiResult, Problem};
use crate::http::{Check, Json};
use crate::idempotency::{self, Reply};
use crate::ids::{GroupId, UserId};
use crate::schema::bans;
use crate::state::AppState;
use crate::users::{models as users, UserView};

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(ban).service(unban);
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateBan {
    pub user_id: Uuid,
    /// 1–1,000 characters; goes to the moderation log.
    #[schema(schema_with = limits::reason)]
    pub reason: String,
    /// When the ban ends by itself; never when absent.
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BanView {
    pub group_id: Uuid,
    pub user: UserView,
    pub reason: String,
    pub expires_at: Option<DateTime<Utc>>,
    pub banned_by: Uuid,
    pub created_at: DateTime<Utc>,
}

/// Ban a user from the group (moderator or above, over lower roles only).
#[utoipa::path(params(idempotency::IdempotencyKey), tag = "moderation", security(("bearer" = [])),
    request_body = CreateBan,
    responses(
        (status = 201, body = BanView),
        (status = 403, description = "Not a moderator, or the target's role is equal or higher", body = Problem),
        (status = 404, body = Problem),
        (status = 422, body = Problem),
    ))]
#[post("/groups/{group_id}/bans")]
#[tracing::instrument(skip_all, fields(id = %*path))]
pub async fn ban(
    state: AppState,
    http: HttpRequest,
    caller: Caller,
    path: web::Path<Uuid>,
    body: Json<CreateBan>,
) -> ApiResult<HttpResponse> {
    let req = body.0;
    let mut conn = state.conn().await?;
    let access = access::resolve(&mut conn, Some(&caller), Scope::Group(*path)).await?;
    let actor = access.require(Role::Moderator)?;
    let mut check = Check::new();
    check.text("reason", &req.reason, limits::REASON);
    check.require(req.expires_at.is_none_or(|t| t > Utc::now()), "expires_at", "must be in the future");
    check.require(req.user_id != actor, "user_id", "you cannot ban yourself");
    check.done()?;
    let target = users::by_id(&mut conn, req.user_id).await?;
    let group_id = access.group_id;
    let (reason, expires_at) = (req.reason.trim().to_owned(), req.expires_at);
    idempotency::once(&mut conn, &http, &caller, async |conn| {
        let created_at = conn
            .transaction::<_, ApiError, _>(async move |conn| {
                access::require_outranks(conn, &access, target.id).await?;
                let created_at: DateTime<Utc> = diesel::insert_into(bans::table)
                    .values((
                        bans::group_id.eq(group_id),
                        bans::user_id.eq(target.id),
                        bans::banned_by.eq(actor),
                        bans::reason.eq(&reason),
                        bans::expires_at.eq(expires_at),
                    ))
                    .on_conflict((bans::group_id, bans::user_id))
                    .do_update()
                    .set((
                        bans::banned_by.eq(excluded(bans::banned_by)),
                        bans::reason.eq(excluded(bans::reason)),
                        bans::expires_at.eq(excluded(bans::expires_at)),
                        bans::created_at.eq(diesel::dsl::now),
                    ))
                    .returning(bans::created_at)
                    .get_result(conn)
                    .await?;
                modlog::record(conn, group_id, actor, Action::Ban, Target::User(target.id), Some(&reason))
                    .await?;
                Ok((created_at, target, reason))
            })
            .await?;
        let (created_at, target, reason) = created_at;
        Reply::created(
            format!("/api/v1/groups/{group_id}/bans/{}", target.id),
            &BanView { group_id, user: (&target).into(), reason, expires_at, banned_by: actor, created_at },
        )
    })
    .await
}

/// Lift a ban (moderator or above).
#[utoipa::path(tag = "moderation",
    security(("bearer" = [])),
    responses((status = 204), (status = 403, body = Problem), (status = 404, description = "No such group or no active ban", body = Problem)))]
#[delete("/groups/{group_id}/bans/{user_id}")]
#[tracing::instrument(skip_all)]
pub async fn unban(
    state: AppState,
    caller: Caller,
    path: web::Path<(GroupId, UserId)>,
) -> ApiResult<HttpResponse> {
    let (GroupId(group_id), UserId(user_id)) = path.into_inner();
    let mut conn = state.conn().await?;
    let access = access::resolve(&mut conn, Some(&caller), Scope::Group(group_id)).await?;
    let actor = access.require(Role::Moderator)?;
    let group_id = access.group_id;
    conn.transaction::<_, ApiError, _>(async move |conn| {
        access::require_outranks(conn, &access, user_id).await?;
        // Through the view: only a ban still in force is lifted.
        let removed = diesel::delete(live_bans::table.find((group_id, user_id))).execute(conn).await?;
        if removed == 0 {
            return Err(ApiError::not_found());
        }
        modlog::record(conn, group_id, actor, Action::Unban, Target::User(user_id), None).await
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
