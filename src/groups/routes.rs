use actix_web::{delete, get, patch, post, put};
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::models::{self as groups_db, Group, GroupView, MembershipView, NewGroup};
use crate::access::{self, Role, Scope, Visibility};
use crate::auth::{Caller, MaybeCaller};
use crate::db::modlog::{self as modlog, Action, Target};
use crate::domain::{limits, Slug};
use crate::error::{unique_violation, ApiError, ApiResult, ErrorCode, Problem};
use crate::http::pages::keyset;
use crate::http::{double_option, Check, Json, Page, PageParams};
use crate::idempotency::{self, Reply};
use crate::ids::{GroupId, UserId};
use crate::ratelimit::Create;
use crate::schema::{groups, memberships};
use crate::state::AppState;
use crate::users::models as users;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(create_group)
        .service(list_groups)
        .service(get_group)
        .service(update_group)
        .service(join_group)
        .service(list_members)
        .service(leave_group)
        .service(set_role);
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateGroup {
    /// 1–100 characters.
    #[schema(schema_with = limits::group_name)]
    pub name: String,
    /// Lowercase letters, digits and hyphens, at most 64; made from the name when absent.
    #[schema(schema_with = Slug::schema_or_null)]
    pub slug: Option<String>,
    /// At most 5,000 characters.
    #[schema(schema_with = limits::group_description_or_null)]
    pub description: Option<String>,
    pub visibility: Visibility,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateGroup {
    #[schema(schema_with = limits::group_name_or_null)]
    pub name: Option<String>,
    /// `null` clears it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(schema_with = limits::group_description_or_null)]
    pub description: Option<Option<String>>,
    pub visibility: Option<Visibility>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetRole {
    pub role: Role,
}

/// Create a reading group; the caller becomes its owner.
#[utoipa::path(params(idempotency::IdempotencyKey), tag = "groups", security(("bearer" = [])), request_body = CreateGroup,
    responses(
        (status = 429, description = "`rate_limited`: too many created by this user; see Retry-After", body = Problem),
        (status = 201, body = GroupView),
        (status = 409, description = "`slug_taken`", body = Problem),
        (status = 422, body = Problem),
    ))]
#[post("/groups")]
#[tracing::instrument(skip_all)]
pub async fn create_group(
    state: AppState,
    http: HttpRequest,
    caller: Caller,
    body: Json<CreateGroup>,
) -> ApiResult<HttpResponse> {
    state.limits.create(Create::Group, &caller)?;
    let req = body.0;
    let mut check = Check::new();
    check.text("name", &req.name, limits::GROUP_NAME);
    let slug = req.slug.as_deref().map(|slug| check.parse("slug", Slug::parse(slug)));
    if let Some(d) = &req.description {
        check.chars("description", d, limits::GROUP_DESCRIPTION);
    }
    check.done()?;

    let mut conn = state.conn().await?;
    idempotency::once(&mut conn, &http, &caller, async |conn| {
        let user = users::current(conn, &caller).await?;
        let name = req.name.trim();
        // A private group's slug carries a random suffix (asked for or made
        // from the name), so neither its name nor a guess reveals that it exists;
        // `slug_taken` and the `-2` suffixes are then only ever about public groups
        // (or a private slug guessed exactly, 32 random bits).
        let slug = match (slug.flatten(), req.visibility) {
            (Some(slug), Visibility::Private) => slug.with_private_suffix().as_str().to_owned(),
            (Some(slug), Visibility::Public) => slug.as_str().to_owned(),
            (None, Visibility::Private) => Slug::from_name(name).with_private_suffix().as_str().to_owned(),
            (None, Visibility::Public) => free_slug(conn, Slug::from_name(name).as_str()).await?,
        };
        let new = NewGroup {
            name,
            slug: &slug,
            description: req.description.as_deref(),
            visibility: req.visibility,
            owner: user.id,
        };
        let group = conn
            .transaction::<_, diesel::result::Error, _>(async move |conn| groups_db::insert(conn, &new).await)
            .await
            .map_err(|e| match unique_violation(&e) {
                Some("groups_slug_lower_key") => {
                    ApiError::conflict(ErrorCode::SlugTaken, "Another group has that slug.")
                }
                _ => e.into(),
            })?;
        Reply::created(format!("/api/v1/groups/{}", group.id), &GroupView::new(group, Some(Role::Owner)))
    })
    .await
}

/// `base`, or `base-2`, `base-3`… whichever is free first.
async fn free_slug(conn: &mut diesel_async::AsyncPgConnection, base: &str) -> ApiResult<String> {
    if !groups_db::slug_taken(conn, base).await? {
        return Ok(base.to_owned());
    }
    for n in 2..50 {
        let candidate = format!("{}-{n}", &base[..base.len().min(60)]);
        if !groups_db::slug_taken(conn, &candidate).await? {
            return Ok(candidate);
        }
    }
    Ok(format!("{}-{}", &base[..base.len().min(50)], &Uuid::new_v4().simple().to_string()[..8]))
}

/// Public groups and the caller's own, newest first.
#[utoipa::path(security((), ("bearer" = [])), tag = "groups", params(PageParams),
    responses((status = 200, body = Page<GroupView>), (status = 422, body = Problem)))]
#[get("/groups")]
#[tracing::instrument(skip_all)]
pub async fn list_groups(
    state: AppState,
    caller: MaybeCaller,
    page: web::Query<PageParams>,
) -> ApiResult<web::Json<Page<GroupView>>> {
    let limit = page.limit()?;
    let after: Option<(DateTime<Utc>, Uuid)> = page.after()?;
    state
        .read(async |conn| {
            let uid = match &caller.0 {
                Some(c) => users::current(conn, c).await?.id,
                None => Uuid::nil(),
            };
            let mut query =
                groups::table
                    .left_join(
                        memberships::table
                            .on(memberships::group_id.eq(groups::id).and(memberships::user_id.eq(uid))),
                    )
                    // Like `access::resolve`: a ban hides a private group, even from its list.
                    .filter(groups::visibility.eq(Visibility::Public).or(
                        memberships::user_id.is_not_null().and(diesel::dsl::not(access::active_ban(uid))),
                    ))
                    .select((Group::as_select(), memberships::role.nullable()))
                    .order((groups::created_at.desc(), groups::id.desc()))
                    .limit(limit + 1)
                    .into_boxed();
            if let Some((at, id)) = after {
                query = query.filter(keyset!(<, groups::created_at => at, groups::id => id));
            }
            let rows: Vec<(Group, Option<Role>)> = query.load(conn).await?;
            let page = Page::from_rows(rows, limit, |(g, _)| (g.created_at, g.id));
            Ok(web::Json(page.map(|(g, role)| GroupView::new(g, role))))
        })
        .await
}

/// A group, with the caller's role in it.
#[utoipa::path(security((), ("bearer" = [])), tag = "groups",
    responses((status = 200, body = GroupView), (status = 404, body = Problem)))]
#[get("/groups/{group_id}")]
#[tracing::instrument(skip_all, fields(id = %*path))]
pub async fn get_group(
    state: AppState,
    caller: MaybeCaller,
    path: web::Path<Uuid>,
) -> ApiResult<web::Json<GroupView>> {
    state
        .read(async |conn| {
            let access = access::resolve(conn, caller.0.as_ref(), Scope::Group(*path)).await?;
            access.require_read()?;
            let group = groups_db::find(conn, access.group_id).await?;
            Ok(web::Json(GroupView::new(group, access.membership)))
        })
        .await
}

/// Rename, describe or change visibility (organiser or owner).
#[utoipa::path(tag = "groups", security(("bearer" = [])),
    request_body = UpdateGroup,
    responses((status = 200, body = GroupView), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
#[patch("/groups/{group_id}")]
#[tracing::instrument(skip_all, fields(id = %*path))]
pub async fn update_group(
    state: AppState,
    caller: Caller,
    path: web::Path<Uuid>,
    body: Json<UpdateGroup>,
) -> ApiResult<web::Json<GroupView>> {
    let req = body.0;
    let mut conn = state.conn().await?;
    let access = access::resolve(&mut conn, Some(&caller), Scope::Group(*path)).await?;
    access.require(Role::Organiser)?;
    let mut check = Check::new();
    if let Some(name) = &req.name {
        check.text("name", name, limits::GROUP_NAME);
    }
    if let Some(Some(d)) = &req.description {
        check.chars("description", d, limits::GROUP_DESCRIPTION);
    }
    check.done()?;

    #[derive(AsChangeset)]
    #[diesel(table_name = groups)]
    struct Changes {
        name: Option<String>,
        description: Option<Option<String>>,
        visibility: Option<Visibility>,
        slug: Option<String>,
    }
    // A public group made private gets a private group's slug (its own with a
    // random suffix): the old one was public and guessable, and `slug_taken`
    // on it would tell that the now hidden group exists.
    let slug = match req.visibility {
        Some(Visibility::Private) => {
            let group = groups_db::find(&mut conn, access.group_id).await?;
            (group.visibility == Visibility::Public).then(|| {
                Slug::parse(&group.slug)
                    .unwrap_or_else(|_| Slug::from_name(&group.slug))
                    .with_private_suffix()
                    .as_str()
                    .to_owned()
            })
        }
        _ => None,
    };
    let changes = Changes {
        name: req.name.map(|n| n.trim().to_owned()),
        description: req.description,
        visibility: req.visibility,
        slug,
    };
    let group = if changes.name.is_none() && changes.description.is_none() && changes.visibility.is_none() {
        groups_db::find(&mut conn, access.group_id).await?
    } else {
        diesel::update(groups::table.find(access.group_id))
            .set((&changes, groups::updated_at.eq(diesel::dsl::now)))
            .returning(Group::as_returning())
            .get_result(&mut conn)
            .await?
    };
    Ok(web::Json(GroupView::new(group, access.membership)))
}

/// Join a public group as a member.
#[utoipa::path(params(idempotency::IdempotencyKey), tag = "groups", security(("bearer" = [])),
    responses(
        (status = 201, body = MembershipView),
        (status = 403, description = "`banned`, or the group is private (join by invite)", body = Problem),
        (status = 404, body = Problem),
        (status = 409, description = "`already_member`", body = Problem),
    ))]
#[post("/groups/{group_id}/join")]
#[tracing::instrument(skip_all, fields(id = %*path))]
pub async fn join_group(
    state: AppState,
    http: HttpRequest,
    caller: Caller,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let mut conn = state.conn().await?;
    idempotency::once(&mut conn, &http, &caller, async |conn| join(conn, &caller, *path).await).await
}

async fn join(conn: &mut AsyncPgConnection, caller: &Caller, group_id: Uuid) -> ApiResult<Reply> {
    let access = access::resolve(conn, Some(caller), Scope::Group(group_id)).await?;
    access.require_read()?;
    let user_id = access.user_id.ok_or_else(ApiError::not_found)?;
    if access.banned {
        return Err(ApiError::forbidden(ErrorCode::Banned, "You are banned from this group."));
    }
    if access.membership.is_some() {
        return Err(ApiError::conflict(ErrorCode::AlreadyMember, "You are already a member of this group."));
    }
    if !access.public {
        return Err(ApiError::forbidden(
            ErrorCode::InviteOnly,
            "This group is private; join it with an invite.",
        ));
    }
    let membership = groups_db::join(conn, access.group_id, user_id).await?;
    let user = users::by_id(conn, user_id).await?;
    Reply::created(format!("/api/v1/groups/{}/members", access.group_id), &membership.view((&user).into()))
}

/// Leave a group. The last owner cannot leave (hand ownership over first).
#[utoipa::path(tag = "groups", security(("bearer" = [])),
    responses((status = 204), (status = 403, description = "`not_a_member` or `banned`", body = Problem), (status = 404, body = Problem), (status = 409, description = "`last_owner`", body = Problem)))]
#[delete("/groups/{group_id}/members/me")]
#[tracing::instrument(skip_all, fields(id = %*path))]
pub async fn leave_group(state: AppState, caller: Caller, path: web::Path<Uuid>) -> ApiResult<HttpResponse> {
    let mut conn = state.conn().await?;
    let access = access::resolve(&mut conn, Some(&caller), Scope::Group(*path)).await?;
    // Leaving is acting in the group: a banned member cannot slip out of the ban.
    let user_id = access.require(Role::Member)?;
    let Some(role) = access.membership else {
        return Err(ApiError::forbidden(ErrorCode::NotAMember, "You are not a member of this group."));
    };
    let group_id = access.group_id;
    conn.transaction::<_, ApiError, _>(async move |conn| {
        if role == Role::Owner {
            groups_db::lock_owners(conn, group_id).await?;
            if groups_db::owner_count(conn, group_id).await? <= 1 {
                return Err(last_owner());
            }
        }
        diesel::delete(memberships::table.find((group_id, user_id))).execute(conn).await?;
        Ok(())
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

fn last_owner() -> ApiError {
    ApiError::conflict(ErrorCode::LastOwner, "A group needs an owner: make someone else owner first.")
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MemberFilter {
    /// Moderators only: just the members whom at least this many members of
    /// the group block (3 or more; who blocks them is never shown).
    #[param(minimum = 3)]
    pub blocked_by_at_least: Option<i64>,
}

/// The fewest blockers `blocked_by_at_least` may ask for: fewer would come
/// close to saying who blocks whom.
const FEWEST_BLOCKERS: i64 = 3;

/// Members of a group, oldest first (members only).
#[utoipa::path(security((), ("bearer" = [])), tag = "groups", params(PageParams, MemberFilter),
    responses((status = 200, body = Page<MembershipView>), (status = 403, description = "Not a member; or `blocked_by_at_least` asked by someone who does not moderate", body = Problem), (status = 404, body = Problem),
        (status = 422, description = "`blocked_by_at_least` under 3", body = Problem)))]
#[get("/groups/{group_id}/members")]
#[tracing::instrument(skip_all, fields(id = %*path))]
pub async fn list_members(
    state: AppState,
    caller: MaybeCaller,
    path: web::Path<Uuid>,
    page: web::Query<PageParams>,
    filter: web::Query<MemberFilter>,
) -> ApiResult<web::Json<Page<MembershipView>>> {
    let limit = page.limit()?;
    let after: Option<(DateTime<Utc>, Uuid)> = page.after()?;
    if filter.blocked_by_at_least.is_some_and(|n| n < FEWEST_BLOCKERS) {
        return Err(ApiError::invalid_field("blocked_by_at_least", "must be 3 or more"));
    }
    let mut conn = state.conn().await?;
    let access = access::resolve(&mut conn, caller.0.as_ref(), Scope::Group(*path)).await?;
    access.require(Role::Member)?;
    if filter.blocked_by_at_least.is_some() {
        access.require(Role::Moderator)?;
    }
    let rows =
        groups_db::members(&mut conn, access.group_id, after, limit, filter.blocked_by_at_least).await?;
    Ok(web::Json(Page::from_rows(rows, limit, |m| (m.joined_at, m.user.id))))
}

/// Change a member's role. Organisers move members between `member` and
/// `moderator`; only owners grant or remove `organiser` and `owner`. The last
/// owner cannot be demoted.
#[utoipa::path(tag = "groups",
    security(("bearer" = [])), request_body = SetRole,
    responses(
        (status = 200, body = MembershipView),
        (status = 403, body = Problem),
        (status = 404, description = "No such group or member", body = Problem),
        (status = 409, description = "`last_owner`", body = Problem),
    ))]
#[put("/groups/{group_id}/members/{user_id}/role")]
#[tracing::instrument(skip_all)]
pub async fn set_role(
    state: AppState,
    caller: Caller,
    path: web::Path<(GroupId, UserId)>,
    body: Json<SetRole>,
) -> ApiResult<web::Json<MembershipView>> {
    let (GroupId(group_id), UserId(target_id)) = path.into_inner();
    let new_role = body.role;
    let mut conn = state.conn().await?;
    let access = access::resolve(&mut conn, Some(&caller), Scope::Group(group_id)).await?;
    let actor = access.require(Role::Organiser)?;
    let actor_role = access.role().unwrap_or(Role::Member);
    let group_id = access.group_id;
    let membership = conn
        .transaction::<_, ApiError, _>(async move |conn| {
            groups_db::lock_owners(conn, group_id).await?;
            let current =
                groups_db::membership(conn, group_id, target_id).await?.ok_or_else(ApiError::not_found)?;
            let old_role = current.role;
            let touches_high = old_role >= Role::Organiser || new_role >= Role::Organiser;
            if touches_high && actor_role < Role::Owner {
                return Err(ApiError::forbidden(
                    ErrorCode::InsufficientRole,
                    "Only an owner grants or removes the organiser and owner roles.",
                ));
            }
            if old_role == new_role {
                return Ok(current);
            }
            if old_role == Role::Owner && groups_db::owner_count(conn, group_id).await? <= 1 {
                return Err(last_owner());
            }
            let updated = diesel::update(memberships::table.find((group_id, target_id)))
                .set(memberships::role.eq(new_role.as_str()))
                .returning(groups_db::Membership::as_returning())
                .get_result(conn)
                .await?;
            let reason = format!("{} -> {}", old_role.as_str(), new_role.as_str());
            modlog::record(conn, group_id, actor, Action::RoleChange, Target::User(target_id), Some(&reason))
                .await?;
            Ok(updated)
        })
        .await?;
    let user = users::by_id(&mut conn, target_id).await?;
    Ok(web::Json(membership.view((&user).into())))
}
