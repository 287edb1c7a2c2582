//! The one policy: who may see and do what in a reading group.
//!
//! Every route that touches a group's content calls [`resolve`] with the
//! thing it was asked about. One query finds the group behind that thing, the
//! caller's membership, role and ban, and checks that the caller's token has
//! not been revoked. Whatever the caller may not see is 404, exactly like a
//! missing id, so a private group's existence never leaks.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use futures_util::future::{BoxFuture, FutureExt};
use uuid::Uuid;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::schema::{bans, comments, essays, groups, memberships, reading_sessions, reports, threads, users};
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

/// The facts the policy decides on, as one query row: the group, the
/// caller's membership, whether their token is current, and any live ban.
/// Select it with [`caller_columns`] from [`groups_with_caller`].
#[derive(Debug, Queryable)]
pub struct AccessRow {
    group_id: Uuid,
    visibility: Visibility,
    role: Option<Role>,
    user_current: Option<Uuid>,
    site_admin: Option<bool>,
    banned: bool,
    username: Option<String>,
    display_name: Option<String>,
    bio: Option<String>,
    created_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// The caller as query parameters: an anonymous caller is the nil id with a
/// version no token carries, so it matches no user, membership or ban row.
pub fn caller_key(caller: Option<&Caller>) -> (Uuid, i32) {
    caller.map_or((Uuid::nil(), -1), Caller::unverified_key)
}

/// `groups` beside the caller's rows: their membership, their user row only
/// while `ver` is still their token version, and their ban if it is live
/// (each at most one row, so joining more tables to `groups` repeats them
/// rather than multiplying rows). A query that needs access and data in one
/// round trip joins its own tables to this and selects [`caller_columns`].
#[diesel::dsl::auto_type]
pub fn groups_with_caller(uid: Uuid, ver: i32) -> _ {
    groups::table
        .left_join(
            memberships::table.on(memberships::group_id.eq(groups::id).and(memberships::user_id.eq(uid))),
        )
        .left_join(users::table.on(users::id.eq(uid).and(users::token_version.eq(ver))))
        .left_join(
            bans::table.on(bans::group_id
                .eq(groups::id)
                .and(bans::user_id.eq(uid))
                .and(bans::expires_at.is_null().or(bans::expires_at.gt(diesel::dsl::now)))),
        )
}

/// The [`AccessRow`] columns of [`groups_with_caller`].
#[diesel::dsl::auto_type]
pub fn caller_columns() -> _ {
    (
        groups::id,
        groups::visibility,
        memberships::role.nullable(),
        users::id.nullable(),
        users::is_admin.nullable(),
        bans::user_id.nullable().is_not_null(),
        users::username.nullable(),
        users::display_name.nullable(),
        users::bio.nullable(),
        users::created_at.nullable(),
    )
}

/// [`groups_with_caller`] and [`caller_columns`] as SQL text, for the few
/// statements written by hand (`crate::db::prepared`): select
/// `caller_columns_sql!()` from `groups g` followed by `caller_joins_sql!()`,
/// with `$1` the caller's id and `$2` their token version ([`caller_key`]),
/// and load the columns into [`CallerFacts`]. `readable` is
/// [`GroupAccess::can_read`] in SQL, for gating reads inside the statement;
/// [`CallerFacts::decide`] checks that the two agree.
#[macro_export]
macro_rules! caller_columns_sql {
    () => {
        "g.id AS group_id, g.visibility, m.role, u.id AS user_current, u.is_admin AS site_admin, \
         b.user_id IS NOT NULL AS banned, u.username, u.display_name, u.bio, u.created_at AS user_created_at, \
         (g.visibility = 'public' OR coalesce(u.is_admin, false) \
          OR (m.role IS NOT NULL AND b.user_id IS NULL)) AS readable"
    };
}

/// The joins of [`caller_columns_sql`]: the caller is `$1` with token version
/// `$2`, or the two columns named (a statement asking for several callers
/// at once, e.g. `caller_joins_sql!("f.uid", "f.ver")`).
#[macro_export]
macro_rules! caller_joins_sql {
    () => {
        $crate::caller_joins_sql!("$1", "$2")
    };
    ($uid:literal, $ver:literal) => {
        concat!(
            " LEFT JOIN memberships m ON m.group_id = g.id AND m.user_id = ",
            $uid,
            " LEFT JOIN users u ON u.id = ",
            $uid,
            " AND u.token_version = ",
            $ver,
            " LEFT JOIN bans b ON b.group_id = g.id AND b.user_id = ",
            $uid,
            " AND (b.expires_at IS NULL OR b.expires_at > now()) "
        )
    };
}

/// The row of [`caller_columns_sql`].
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
    /// [`decide`] on these facts. The SQL `readable` must be the policy's own
    /// answer: a statement gated on it read nothing the policy would allow,
    /// or read what it would refuse, so a disagreement is a bug, never served.
    pub fn decide(self, signed_in: bool) -> ApiResult<GroupAccess> {
        let readable = self.readable;
        let access = decide(
            signed_in,
            AccessRow {
                group_id: self.group_id,
                visibility: self.visibility,
                role: self.role,
                user_current: self.user_current,
                site_admin: self.site_admin,
                banned: self.banned,
                username: self.username,
                display_name: self.display_name,
                bio: self.bio,
                created_at: self.user_created_at,
            },
        )?;
        if access.can_read() != readable {
            return Err(ApiError::internal(anyhow::anyhow!(
                "the SQL form of can_read disagrees with the policy"
            )));
        }
        Ok(access)
    }
}

/// The caller's access from its row; 401 when a signed-in caller's token has
/// been revoked. (`None`, no row, is for the caller to turn into 404.)
pub fn decide(signed_in: bool, row: AccessRow) -> ApiResult<GroupAccess> {
    if signed_in && row.user_current.is_none() {
        return Err(crate::users::models::revoked());
    }
    let caller = match (row.user_current, row.username, row.display_name, row.created_at) {
        (Some(id), Some(username), Some(display_name), Some(created_at)) => {
            Some(UserView { id, username, display_name, bio: row.bio, created_at })
        }
        _ => None,
    };
    Ok(GroupAccess {
        caller,
        group_id: row.group_id,
        public: row.visibility == Visibility::Public,
        user_id: row.user_current,
        membership: row.role,
        banned: row.banned,
        site_admin: row.site_admin.unwrap_or(false),
    })
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

    macro_rules! access_query {
        ($group_filter:expr) => {
            groups_with_caller(uid, ver)
                .filter($group_filter)
                .select(caller_columns())
                .first::<AccessRow>(&mut &*conn)
                .boxed()
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
    async move {
        let row = row.await.optional()?.ok_or_else(ApiError::not_found)?;
        decide(signed_in, row)
    }
    .boxed()
}
