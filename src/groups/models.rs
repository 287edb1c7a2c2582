use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::access::{Role, Visibility};
use crate::error::{unique_violation, ApiError, ApiResult, ErrorCode};
use crate::http::pages::keyset;
use crate::schema::{groups, memberships, users};
use crate::users::UserView;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = groups)]
pub struct Group {
    pub id: Uuid,
    pub name: String,
    pub slug: String,
    pub description: Option<String>,
    pub visibility: Visibility,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GroupView {
    pub id: Uuid,
    pub name: String,
    pub slug: String,
    pub description: Option<String>,
    /// "public" or "private".
    pub visibility: Visibility,
    pub created_at: DateTime<Utc>,
    /// The caller's role; null when not a member (or anonymous).
    pub my_role: Option<Role>,
}

impl GroupView {
    pub fn new(g: Group, my_role: Option<Role>) -> Self {
        GroupView {
            id: g.id,
            name: g.name,
            slug: g.slug,
            description: g.description,
            visibility: g.visibility,
            created_at: g.created_at,
            my_role,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MembershipView {
    pub group_id: Uuid,
    pub user: UserView,
    pub role: Role,
    pub joined_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = memberships)]
pub struct Membership {
    pub group_id: Uuid,
    pub user_id: Uuid,
    pub role: Role,
    pub joined_at: DateTime<Utc>,
}

impl Membership {
    pub fn view(self, user: UserView) -> MembershipView {
        let role = self.role;
        MembershipView { group_id: self.group_id, user, role, joined_at: self.joined_at }
    }
}

#[tracing::instrument(skip_all)]
pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> ApiResult<Group> {
    Ok(groups::table.find(id).select(Group::as_select()).first(conn).await?)
}

pub struct NewGroup<'a> {
    pub name: &'a str,
    pub slug: &'a str,
    pub description: Option<&'a str>,
    pub visibility: Visibility,
    pub owner: Uuid,
}

/// Inserts the group and its owner's membership (call inside a transaction).
#[tracing::instrument(skip_all)]
pub async fn insert(
    conn: &mut AsyncPgConnection,
    new: &NewGroup<'_>,
) -> Result<Group, diesel::result::Error> {
    let group = diesel::insert_into(groups::table)
        .values((
            groups::id.eq(Uuid::now_v7()),
            groups::name.eq(new.name),
            groups::slug.eq(new.slug),
            groups::description.eq(new.description),
            groups::visibility.eq(new.visibility),
            groups::created_by.eq(new.owner),
        ))
        .returning(Group::as_returning())
        .get_result(conn)
        .await?;
    add_member(conn, group.id, new.owner, Role::Owner).await?;
    Ok(group)
}

#[tracing::instrument(skip_all)]
pub async fn slug_taken(conn: &mut AsyncPgConnection, slug: &str) -> ApiResult<bool> {
    let lowered = slug.to_lowercase();
    Ok(diesel::select(diesel::dsl::exists(
        groups::table.filter(crate::users::models::lower(groups::slug).eq(lowered)),
    ))
    .get_result(conn)
    .await?)
}

#[tracing::instrument(skip_all)]
pub async fn add_member(
    conn: &mut AsyncPgConnection,
    group_id: Uuid,
    user_id: Uuid,
    role: Role,
) -> Result<Membership, diesel::result::Error> {
    diesel::insert_into(memberships::table)
        .values((
            memberships::group_id.eq(group_id),
            memberships::user_id.eq(user_id),
            memberships::role.eq(role.as_str()),
        ))
        .returning(Membership::as_returning())
        .get_result(conn)
        .await
}

/// `add_member` with the duplicate mapped to 409 `already_member`.
#[tracing::instrument(skip_all)]
pub async fn join(conn: &mut AsyncPgConnection, group_id: Uuid, user_id: Uuid) -> ApiResult<Membership> {
    add_member(conn, group_id, user_id, Role::Member).await.map_err(|e| {
        if unique_violation(&e).is_some() {
            ApiError::conflict(ErrorCode::AlreadyMember, "You are already a member of this group.")
        } else {
            e.into()
        }
    })
}

#[tracing::instrument(skip_all)]
pub async fn membership(
    conn: &mut AsyncPgConnection,
    group_id: Uuid,
    user_id: Uuid,
) -> ApiResult<Option<Membership>> {
    Ok(memberships::table
        .find((group_id, user_id))
        .select(Membership::as_select())
        .first(conn)
        .await
        .optional()?)
}

/// Members with their user views, oldest membership first, after `after`;
/// with `blocked_by_at_least`, only those that many members of the group
/// block.
#[tracing::instrument(skip_all)]
pub async fn members(
    conn: &mut AsyncPgConnection,
    group_id: Uuid,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
    blocked_by_at_least: Option<i64>,
) -> ApiResult<Vec<MembershipView>> {
    let mut query = memberships::table
        .inner_join(users::table)
        .filter(memberships::group_id.eq(group_id))
        .select((Membership::as_select(), UserView::as_select()))
        .order((memberships::joined_at.asc(), memberships::user_id.asc()))
        .limit(limit + 1)
        .into_boxed();
    if let Some((joined, user)) = after {
        query = query.filter(keyset!(>, memberships::joined_at => joined, memberships::user_id => user));
    }
    if let Some(n) = blocked_by_at_least {
        query = query.filter(
            diesel::dsl::sql::<diesel::sql_types::Bool>(
                "(SELECT count(*) FROM blocks b JOIN memberships bm \
                   ON bm.group_id = memberships.group_id AND bm.user_id = b.blocker_id \
                  WHERE b.blocked_id = memberships.user_id) >= ",
            )
            .bind::<diesel::sql_types::BigInt, _>(n),
        );
    }
    let rows: Vec<(Membership, UserView)> = query.load(conn).await?;
    Ok(rows.into_iter().map(|(m, u)| m.view(u)).collect())
}

#[tracing::instrument(skip_all)]
pub async fn owner_count(conn: &mut AsyncPgConnection, group_id: Uuid) -> ApiResult<i64> {
    Ok(memberships::table
        .filter(memberships::group_id.eq(group_id))
        .filter(memberships::role.eq(Role::Owner.as_str()))
        .count()
        .get_result(conn)
        .await?)
}

/// Locks the group's owner rows so two owners leaving or demoting each
/// other at once cannot leave the group with none.
#[tracing::instrument(skip_all)]
pub async fn lock_owners(conn: &mut AsyncPgConnection, group_id: Uuid) -> ApiResult<()> {
    memberships::table
        .filter(memberships::group_id.eq(group_id))
        .filter(memberships::role.eq(Role::Owner.as_str()))
        .select(memberships::user_id)
        .for_update()
        .load::<Uuid>(conn)
        .await?;
    Ok(())
}
