//! The one policy: who may see and do what in a reading group.
//!
//! Every route that touches a group's content calls [`resolve`] with the
//! thing it was asked about. One query finds the group behind that thing, the
//! caller's membership, role and ban, and checks that the caller's token has
//! not been revoked: the facts of `r.caller_access` (src/db/replaceable/
//! triggers.sql), the one statement of them, which every hand-written
//! statement that gates a read on access names too (the hottest anonymous
//! reads name `r.anonymous_access`, the same facts for the caller with no
//! account, by the same rule). Whatever the caller may not see is 404, exactly like a
//! missing id, so a private group's existence never leaks.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use futures_util::future::{BoxFuture, FutureExt};
use uuid::Uuid;

use crate::auth::Caller;
use crate::db::prepared::Prepared;
use crate::db::rules::live_bans;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::schema::{groups, memberships};
use crate::users::UserView;

crate::db_enum! {
    /// Roles, lowest first, so `role >= Role::Moderator` reads naturally.
    #[derive(PartialOrd, Ord)]
    pub enum Role {
        Member,
        Moderator,
        Organiser,
        Owner,
    }
}

crate::db_enum! {
    /// Who can see a group: anyone, or its members only.
    pub enum Visibility {
        Public,
        Private,
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
    /// Whether the caller may read the group's content: `readable` of
    /// `r.caller_access`, the same answer every statement gated on it saw.
    readable: bool,
    /// The caller as others see them (read in the same query, so a route
    /// that shows its author needs no second one).
    pub caller: Option<UserView>,
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
        self.readable
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
            return Err(ApiError::unauthorized(
                ErrorCode::MissingToken,
                "Sign in: this route needs a bearer token.",
            ));
        };
        if self.banned && !self.site_admin {
            return Err(ApiError::forbidden(ErrorCode::Banned, "You are banned from this group."));
        }
        match self.role() {
            Some(role) if role >= min => Ok(user_id),
            None if min == Role::Member => {
                Err(ApiError::forbidden(ErrorCode::NotAMember, "Join the group first."))
            }
            _ => Err(ApiError::forbidden(
                ErrorCode::InsufficientRole,
                format!("This needs the {} role or higher.", min.as_str()),
            )),
        }
    }
}

/// Whether `uid` holds a live ban in the group `groups::id`, for queries
/// over `groups`.
#[diesel::dsl::auto_type(no_type_alias)]
pub fn active_ban(uid: Uuid) -> _ {
    diesel::dsl::exists(
        live_bans::table.filter(live_bans::group_id.eq(groups::id)).filter(live_bans::user_id.eq(uid)),
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
    let target_role: Option<Role> = memberships::table
        .find((access.group_id, target))
        .select(memberships::role)
        .first(conn)
        .await
        .optional()?;
    match (access.role(), target_role) {
        (Some(mine), Some(theirs)) if theirs >= mine => Err(ApiError::forbidden(
            ErrorCode::InsufficientRole,
            "You cannot act on someone whose role is equal to or higher than yours.",
        )),
        _ => Ok(()),
    }
}

/// The caller as query parameters: an anonymous caller is the nil id with a
/// version no token carries, so it matches no user, membership or ban row.
pub fn caller_key(caller: Option<&Caller>) -> (Uuid, i32) {
    caller.map_or((Uuid::nil(), -1), Caller::unverified_key)
}

/// A row of `r.caller_access` (or `r.anonymous_access`): the facts the
/// policy decides on. A hand-written statement selects its columns (`a.*`
/// of `r.caller_access(group, $uid, $ver) a`) and embeds this.
#[derive(Debug, QueryableByName)]
pub struct CallerFacts {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    group_id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Text)]
    visibility: Visibility,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    role: Option<Role>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Uuid>)]
    user_current: Option<Uuid>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Bool>)]
    site_admin: Option<bool>,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    banned: bool,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    username: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    display_name: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    bio: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>)]
    user_created_at: Option<chrono::DateTime<chrono::Utc>>,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    readable: bool,
}

impl CallerFacts {
    /// The caller's access from these facts; 401 when a signed-in caller's
    /// token has been revoked. (`None`, no row, is for the caller to turn
    /// into 404.)
    pub fn decide(self, signed_in: bool) -> ApiResult<GroupAccess> {
        if signed_in && self.user_current.is_none() {
            return Err(crate::users::models::revoked());
        }
        let caller = match (self.user_current, self.username, self.display_name, self.user_created_at) {
            (Some(id), Some(username), Some(display_name), Some(created_at)) => {
                Some(UserView { id, username, display_name, bio: self.bio, created_at, erased: false })
            }
            _ => None,
        };
        Ok(GroupAccess {
            caller,
            group_id: self.group_id,
            public: self.visibility == Visibility::Public,
            user_id: self.user_current,
            membership: self.role,
            banned: self.banned,
            site_admin: self.site_admin.unwrap_or(false),
            readable: self.readable,
        })
    }
}

/// Resolves the caller's access to the group behind `scope`; 404 when
/// nothing is there, 401 when the caller's token has been revoked.
#[tracing::instrument(skip_all, fields(scope = ?scope))]
pub async fn resolve(
    conn: &mut AsyncPgConnection,
    caller: Option<&Caller>,
    scope: Scope,
) -> ApiResult<GroupAccess> {
    resolve_pipelined(conn, caller, scope).await
}

/// [`resolve`] as a future that does not hold on to the connection, so a
/// handler can send the queries this check guards in the same round trip
/// (pipelined: PostgreSQL runs them in the order they are first polled). Their
/// results must not be used, nor anything written, before this one allows it.
pub fn resolve_pipelined<'a>(
    conn: &'a AsyncPgConnection,
    caller: Option<&Caller>,
    scope: Scope,
) -> BoxFuture<'a, ApiResult<GroupAccess>> {
    let (uid, ver) = caller_key(caller);
    let signed_in = caller.is_some();
    let (statement, id) = match scope {
        Scope::Group(id) => (crate::sql!("access/group.sql"), id),
        Scope::Essay(id) => (crate::sql!("access/essay.sql"), id),
        Scope::Session(id) => (crate::sql!("access/session.sql"), id),
        Scope::Thread(id) => (crate::sql!("access/thread.sql"), id),
        Scope::Comment(id) => (crate::sql!("access/comment.sql"), id),
        Scope::Report(id) => (crate::sql!("access/report.sql"), id),
    };
    let row = facts(statement, uid, ver, id).get_result::<CallerFacts>(&mut &*conn);
    async move {
        let row = row.await.optional()?.ok_or_else(ApiError::not_found)?;
        row.decide(signed_in)
    }
    .boxed()
}

/// `statement` with the caller (`$1`, `$2`) and the id asked about (`$3`).
fn facts(statement: Prepared<'static>, uid: Uuid, ver: i32, id: Uuid) -> Prepared<'static> {
    statement
        .bind::<diesel::sql_types::Uuid, _>(uid)
        .bind::<diesel::sql_types::Integer, _>(ver)
        .bind::<diesel::sql_types::Uuid, _>(id)
}
