//! Invitations to (mostly private) groups: a long random code, kept only as
//! a hash, with optional use limit and expiry.

use actix_web::{delete, get, post};
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::models::{self as groups_db, MembershipView};
use crate::access::{self, Role, Scope};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorCode, Problem};
use crate::http::pages::keyset;
use crate::http::{Check, Json, Page, PageParams};
use crate::idempotency::{self, Reply};
use crate::ids::{GroupId, InviteId};
use crate::ratelimit::Create;
use crate::schema::invites;
use crate::secrets::{random_token, sha256};
use crate::state::AppState;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(create_invite).service(list_invites).service(revoke_invite).service(accept_invite);
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateInvite {
    /// How many people may use the code; unlimited when absent.
    pub max_uses: Option<i32>,
    /// When the code stops working; never when absent.
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InviteView {
    pub id: Uuid,
    pub group_id: Uuid,
    /// The secret code. Shown only here, once: the server keeps only its hash.
    pub code: String,
    pub max_uses: Option<i32>,
    pub uses: i32,
    pub expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// Create an invite code (organiser or owner).
#[utoipa::path(params(idempotency::IdempotencyKey), tag = "groups", security(("bearer" = [])),
    request_body = CreateInvite,
    responses(
        (status = 429, description = "`rate_limited`: too many created by this user; see Retry-After", body = Problem),(status = 201, body = InviteView), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
#[post("/groups/{group_id}/invites")]
#[tracing::instrument(skip_all, fields(id = %*path))]
pub async fn create_invite(
    state: AppState,
    http: HttpRequest,
    caller: Caller,
    path: web::Path<Uuid>,
    body: Json<CreateInvite>,
) -> ApiResult<HttpResponse> {
    state.limits.create(Create::Invite, &caller)?;
    let req = body.0;
    let mut conn = state.conn().await?;
    idempotency::once(&mut conn, &http, &caller, async |conn| {
        let access = access::resolve(conn, Some(&caller), Scope::Group(*path)).await?;
        let actor = access.require(Role::Organiser)?;
        let mut check = Check::new();
        check.require(req.max_uses.is_none_or(|n| n >= 1), "max_uses", "must be at least 1");
        check.require(req.expires_at.is_none_or(|t| t > Utc::now()), "expires_at", "must be in the future");
        check.done()?;
        let code = random_token(24);
        let (id, created_at): (Uuid, DateTime<Utc>) = diesel::insert_into(invites::table)
            .values((
                invites::id.eq(Uuid::now_v7()),
                invites::group_id.eq(access.group_id),
                invites::code_hash.eq(sha256(&code)),
                invites::created_by.eq(actor),
                invites::max_uses.eq(req.max_uses),
                invites::expires_at.eq(req.expires_at),
            ))
            .returning((invites::id, invites::created_at))
            .get_result(conn)
            .await?;
        // The code is a secret: the Location names the list, not the code.
        let location = format!("/api/v1/groups/{}/invites", access.group_id);
        Reply::created(
            location,
            &InviteView {
                id,
                group_id: access.group_id,
                code,
                max_uses: req.max_uses,
                uses: 0,
                expires_at: req.expires_at,
                created_at,
            },
        )
    })
    .await
}

/// An invite as listed: everything but the code, which only its creator saw once.
#[derive(Debug, Serialize, ToSchema, Queryable, Selectable)]
#[diesel(table_name = invites)]
pub struct InviteSummary {
    pub id: Uuid,
    pub group_id: Uuid,
    pub created_by: Uuid,
    pub max_uses: Option<i32>,
    pub uses: i32,
    pub expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// The group's invites, newest first (organiser or owner).
#[utoipa::path(tag = "groups", security(("bearer" = [])),
    params(PageParams),
    responses((status = 200, body = Page<InviteSummary>), (status = 403, body = Problem), (status = 404, body = Problem)))]
#[get("/groups/{group_id}/invites")]
#[tracing::instrument(skip_all, fields(id = %*path))]
pub async fn list_invites(
    state: AppState,
    caller: Caller,
    path: web::Path<Uuid>,
    page: web::Query<PageParams>,
) -> ApiResult<web::Json<Page<InviteSummary>>> {
    let limit = page.limit()?;
    let after: Option<(DateTime<Utc>, Uuid)> = page.after()?;
    let mut conn = state.conn().await?;
    let access = access::resolve(&mut conn, Some(&caller), Scope::Group(*path)).await?;
    access.require(Role::Organiser)?;
    let mut query = invites::table
        .filter(invites::group_id.eq(access.group_id))
        .order((invites::created_at.desc(), invites::id.desc()))
        .select(InviteSummary::as_select())
        .limit(limit + 1)
        .into_boxed();
    if let Some((at, id)) = after {
        query = query.filter(keyset!(<, invites::created_at => at, invites::id => id));
    }
    let rows = query.load(&mut conn).await?;
    Ok(web::Json(Page::from_rows(rows, limit, |i| (i.created_at, i.id))))
}

/// Revoke an invite: its code stops working at once (organiser or owner).
#[utoipa::path(tag = "groups",
    security(("bearer" = [])),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
#[delete("/groups/{group_id}/invites/{invite_id}")]
#[tracing::instrument(skip_all)]
pub async fn revoke_invite(
    state: AppState,
    caller: Caller,
    path: web::Path<(GroupId, InviteId)>,
) -> ApiResult<HttpResponse> {
    let (GroupId(group_id), InviteId(invite_id)) = path.into_inner();
    let mut conn = state.conn().await?;
    let access = access::resolve(&mut conn, Some(&caller), Scope::Group(group_id)).await?;
    access.require(Role::Organiser)?;
    let removed =
        diesel::delete(invites::table.find(invite_id).filter(invites::group_id.eq(access.group_id)))
            .execute(&mut conn)
            .await?;
    if removed == 0 {
        return Err(ApiError::not_found());
    }
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Queryable)]
struct InviteRow {
    id: Uuid,
    group_id: Uuid,
    max_uses: Option<i32>,
    uses: i32,
    expires_at: Option<DateTime<Utc>>,
}

/// Join the invite's group as a member.
#[utoipa::path(params(idempotency::IdempotencyKey), tag = "groups", security(("bearer" = [])),
    responses(
        (status = 201, body = MembershipView),
        (status = 403, description = "`banned`", body = Problem),
        (status = 404, description = "No such code", body = Problem),
        (status = 409, description = "`already_member`", body = Problem),
        (status = 410, description = "`invite_expired` or `invite_used_up`", body = Problem),
    ))]
#[post("/invites/{code}/accept")]
#[tracing::instrument(skip_all)]
pub async fn accept_invite(
    state: AppState,
    http: HttpRequest,
    caller: Caller,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let hash = sha256(&path);
    let mut conn = state.conn().await?;
    idempotency::once(&mut conn, &http, &caller, async |conn| {
        let caller = &caller;
        let (membership, user) = conn
            .transaction::<_, ApiError, _>(async move |conn| {
                // The row lock makes concurrent accepts take turns, so `uses`
                // never passes `max_uses`.
                let invite: InviteRow = invites::table
                    .filter(invites::code_hash.eq(&hash))
                    .select((
                        invites::id,
                        invites::group_id,
                        invites::max_uses,
                        invites::uses,
                        invites::expires_at,
                    ))
                    .for_update()
                    .first(conn)
                    .await
                    .optional()?
                    .ok_or_else(ApiError::not_found)?;
                if invite.expires_at.is_some_and(|t| t <= Utc::now()) {
                    return Err(ApiError::gone(ErrorCode::InviteExpired, "This invite has expired."));
                }
                if invite.max_uses.is_some_and(|max| invite.uses >= max) {
                    return Err(ApiError::gone(ErrorCode::InviteUsedUp, "This invite has been used up."));
                }
                // The code is the caller's way in, so a private group is not
                // 404 here; the ban and membership facts come from the policy.
                let access = access::resolve(conn, Some(caller), Scope::Group(invite.group_id)).await?;
                let (Some(user_id), Some(user)) = (access.user_id, access.caller.clone()) else {
                    return Err(crate::users::models::revoked());
                };
                if access.banned {
                    return Err(ApiError::forbidden(ErrorCode::Banned, "You are banned from this group."));
                }
                let membership = groups_db::join(conn, invite.group_id, user_id).await?;
                diesel::update(invites::table.find(invite.id))
                    .set(invites::uses.eq(invites::uses + 1))
                    .execute(conn)
                    .await?;
                Ok((membership, user))
            })
            .await?;
        Reply::created(format!("/api/v1/groups/{}", membership.group_id), &membership.view(user))
    })
    .await
}
