//! The one policy: who may see and do what in a reading group.
//!
//! Every route that touches a group's content calls [`resolve`] with the
//! thing it was asked about. One query finds the group behind that thing, the
//! caller's membership, role and ban, and checks that the caller's token has
//! not been revoked. Whatever the caller may not see is 404, exactly like a
//! missing id, so a private group's existence never leaks.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::schema::{bans, comments, essays, groups, memberships, reading_sessions, reports, threads, users};

/// Roles, lowest first, so `role >= Role::Moderator` reads naturally.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Member,
    Moderator,
    Organiser,
    Owner,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Member => "member",
            Role::Moderator => "moderator",
            Role::Organiser => "organiser",
            Role::Owner => "owner",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "member" => Some(Role::Member),
            "moderator" => Some(Role::Moderator),
            "organiser" => Some(Role::Organiser),
            "owner" => Some(Role::Owner),
            _ => None,
        }
    }
}

/// What a request is about; each names its group through its parents.
#[derive(Debug, Clone, Copy)]
pub enum Scope {
    Group(Uuid),
    Essay(Uuid),
    Session(Uuid),
    Thread(Uuid),
    Comment(Uuid),
    Report(Uuid),
}

/// The caller's standing in one group.
#[derive(Debug, Clone)]
pub struct GroupAccess {
    pub group_id: Uuid,
    pub public: bool,
    /// The caller, once their token is known to be current.
    pub user_id: Option<Uuid>,
    /// The membership role, whether or not a ban suspends it.
    pub membership: Option<Role>,
    pub banned: bool,
    pub site_admin: bool,
}

impl GroupAccess {
    /// The role the caller may act with now: none while banned.
    pub fn role(&self) -> Option<Role> {
        if self.site_admin {
            return Some(Role::Owner);
        }
        if self.banned {
            None
        } else {
            self.membership
        }
    }

    pub fn can_read(&self) -> bool {
        self.public || self.role().is_some()
    }

    pub fn is_at_least(&self, min: Role) -> bool {
        self.role().is_some_and(|r| r >= min)
    }

    pub fn is_moderator(&self) -> bool {
        self.is_at_least(Role::Moderator)
    }

    /// 404 unless the caller may see the group's content.
    pub fn require_read(&self) -> ApiResult<()> {
        if self.can_read() {
            Ok(())
        } else {
            Err(ApiError::not_found())
        }
    }

    /// The caller's id, for acting in the group at `min` or above.
    /// Invisible → 404; anonymous → 401; banned → 403 `banned`; too low → 403.
    pub fn require(&self, min: Role) -> ApiResult<Uuid> {
        self.require_read()?;
        let Some(user_id) = self.user_id else {
            return Err(ApiError::unauthorized("missing_token", "Sign in: this route needs a bearer token."));
        };
        if self.banned && !self.site_admin {
            return Err(ApiError::forbidden("banned", "You are banned from this group."));
        }
        match self.role() {
            Some(role) if role >= min => Ok(user_id),
            None if min == Role::Member => Err(ApiError::forbidden("not_a_member", "Join the group first.")),
            _ => Err(ApiError::forbidden(
                "insufficient_role",
                format!("This needs the {} role or higher.", min.as_str()),
            )),
        }
    }
}

/// Whether `uid` holds a ban that has not ended in the group `groups::id`:
/// the SQL form of [`GroupAccess::banned`], for queries over `groups`.
#[diesel::dsl::auto_type(no_type_alias)]
pub fn active_ban(uid: Uuid) -> _ {
    diesel::dsl::exists(
        bans::table
            .filter(bans::group_id.eq(groups::id))
            .filter(bans::user_id.eq(uid))
            .filter(bans::expires_at.is_null().or(bans::expires_at.gt(diesel::dsl::now))),
    )
}

/// A moderator acts on another person, or on what they wrote, only from a
/// strictly higher role: moderators cannot hide, delete or ban what an
/// organiser or another moderator did. Acting on one's own is always fine.
pub async fn require_outranks(
    conn: &mut AsyncPgConnection,
    access: &GroupAccess,
    target: Uuid,
) -> ApiResult<()> {
    let actor = access.user_id.ok_or_else(ApiError::not_found)?;
    if actor == target || access.site_admin {
        return Ok(());
    }
    let target_role: Option<String> = memberships::table
        .find((access.group_id, target))
        .select(memberships::role)
        .first(conn)
        .await
        .optional()?;
    match (access.role(), target_role.as_deref().and_then(Role::parse)) {
        (Some(mine), Some(theirs)) if theirs >= mine => Err(ApiError::forbidden(
            "insufficient_role",
            "You cannot act on someone whose role is equal to or higher than yours.",
        )),
        _ => Ok(()),
    }
}

#[derive(Queryable)]
struct AccessRow {
    group_id: Uuid,
    visibility: String,
    role: Option<String>,
    user_current: Option<Uuid>,
    site_admin: Option<bool>,
    banned: bool,
}

/// Resolves the caller's access to the group behind `scope`; 404 when
/// nothing is there, 401 when the caller's token has been revoked.
pub async fn resolve(
    conn: &mut AsyncPgConnection,
    caller: Option<&Caller>,
    scope: Scope,
) -> ApiResult<GroupAccess> {
    // An anonymous caller matches no user, membership or ban row.
    let (uid, ver) = caller.map_or((Uuid::nil(), -1), |c| (c.user_id, c.token_version));

    macro_rules! access_query {
        ($group_filter:expr) => {
            groups::table
                .left_join(
                    memberships::table
                        .on(memberships::group_id.eq(groups::id).and(memberships::user_id.eq(uid))),
                )
                .left_join(users::table.on(users::id.eq(uid).and(users::token_version.eq(ver))))
                .filter($group_filter)
                .select((
                    groups::id,
                    groups::visibility,
                    memberships::role.nullable(),
                    users::id.nullable(),
                    users::is_admin.nullable(),
                    active_ban(uid),
                ))
                .first::<AccessRow>(conn)
                .await
                .optional()?
        };
    }

    let row = match scope {
        Scope::Group(id) => access_query!(groups::id.eq(id)),
        Scope::Essay(id) => {
            access_query!(groups::id
                .nullable()
                .eq(essays::table.find(id).select(essays::group_id).single_value()))
        }
        Scope::Session(id) => access_query!(groups::id
            .nullable()
            .eq(reading_sessions::table.find(id).select(reading_sessions::group_id).single_value())),
        Scope::Thread(id) => access_query!(groups::id.nullable().eq(threads::table
            .inner_join(reading_sessions::table)
            .filter(threads::id.eq(id))
            .select(reading_sessions::group_id)
            .single_value())),
        Scope::Comment(id) => access_query!(groups::id.nullable().eq(comments::table
            .inner_join(threads::table.inner_join(reading_sessions::table))
            .filter(comments::id.eq(id))
            .select(reading_sessions::group_id)
            .single_value())),
        Scope::Report(id) => {
            access_query!(groups::id
                .nullable()
                .eq(reports::table.find(id).select(reports::group_id).single_value()))
        }
    };
    let row = row.ok_or_else(ApiError::not_found)?;
    if caller.is_some() && row.user_current.is_none() {
        return Err(crate::users::models::revoked());
    }
    Ok(GroupAccess {
        group_id: row.group_id,
        public: row.visibility == "public",
        user_id: row.user_current,
        membership: row.role.as_deref().and_then(Role::parse),
        banned: row.banned,
        site_admin: row.site_admin.unwrap_or(false),
    })
}
