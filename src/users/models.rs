use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::Caller;
use crate::error::{unique_violation, ApiError, ApiResult, ErrorCode};
use crate::schema::users;
pub use crate::views::UserView;

diesel::define_sql_function!(fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text);

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = users)]
pub struct User {
    pub id: Uuid,
    pub username: String,
    pub email: String,
    pub display_name: String,
    pub bio: Option<String>,
    pub password_hash: String,
    pub token_version: i32,
    pub is_admin: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When the current address was verified (src/mailing/verify.rs).
    pub email_verified_at: Option<DateTime<Utc>>,
    /// When the account was deleted (src/users/deletion.rs); it signs in no more.
    pub deleted_at: Option<DateTime<Utc>>,
    pub erased: bool,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    pub id: Uuid,
    pub username: &'a str,
    pub email: &'a str,
    pub display_name: &'a str,
    pub password_hash: &'a str,
}

/// The signed-in user's own account: the public view plus the email.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeView {
    #[serde(flatten)]
    pub user: UserView,
    pub email: String,
    /// Whether `email` is verified (by the link mailed to it); notification
    /// mail goes only to a verified address.
    pub email_verified: bool,
}

impl From<&User> for MeView {
    fn from(u: &User) -> Self {
        MeView { user: u.into(), email: u.email.clone(), email_verified: u.email_verified_at.is_some() }
    }
}

/// The caller's account, provided the token has not been revoked since it
/// was issued (password change, logout everywhere).
#[tracing::instrument(skip_all)]
pub async fn current(conn: &mut AsyncPgConnection, caller: &Caller) -> ApiResult<User> {
    let (user_id, token_version) = caller.unverified_key();
    users::table
        .filter(users::id.eq(user_id))
        .filter(users::token_version.eq(token_version))
        .select(User::as_select())
        .first(conn)
        .await
        .optional()?
        .ok_or_else(revoked)
}

pub fn revoked() -> ApiError {
    ApiError::unauthorized(ErrorCode::TokenRevoked, "The access token is no longer valid; sign in again.")
}

#[tracing::instrument(skip_all)]
pub async fn by_login(conn: &mut AsyncPgConnection, login: &str) -> ApiResult<Option<User>> {
    // Both sides through PostgreSQL's lower(), as the unique indexes are: Rust's
    // to_lowercase folds non-ASCII letters that lower() under the C locale keeps.
    Ok(users::table
        .filter(lower(users::username).eq(lower(login)).or(lower(users::email).eq(lower(login))))
        .filter(users::deleted_at.is_null())
        .select(User::as_select())
        .first(conn)
        .await
        .optional()?)
}

#[tracing::instrument(skip_all)]
pub async fn by_id(conn: &mut AsyncPgConnection, id: Uuid) -> ApiResult<User> {
    Ok(users::table.find(id).select(User::as_select()).first(conn).await?)
}

#[tracing::instrument(skip_all)]
pub async fn insert(conn: &mut AsyncPgConnection, new: NewUser<'_>) -> ApiResult<User> {
    diesel::insert_into(users::table)
        .values(&new)
        .returning(User::as_returning())
        .get_result(conn)
        .await
        .map_err(|e| match unique_violation(&e) {
            Some("users_username_lower_key") => {
                ApiError::conflict(ErrorCode::UsernameTaken, "That username is taken.")
            }
            Some("users_email_lower_key") => {
                ApiError::conflict(ErrorCode::EmailTaken, "An account with that email already exists.")
            }
            _ => e.into(),
        })
}

#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = users)]
pub struct ProfileChanges {
    pub display_name: Option<String>,
    pub bio: Option<Option<String>>,
}

#[tracing::instrument(skip_all)]
pub async fn update_profile(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    changes: ProfileChanges,
) -> ApiResult<User> {
    if changes.display_name.is_none() && changes.bio.is_none() {
        return by_id(conn, id).await;
    }
    Ok(diesel::update(users::table.find(id))
        .set((&changes, users::updated_at.eq(diesel::dsl::now)))
        .returning(User::as_returning())
        .get_result(conn)
        .await?)
}

/// Stores a new hash and bumps the token version, which revokes every access
/// token issued before. Returns the new version.
#[tracing::instrument(skip_all)]
pub async fn set_password_and_revoke(conn: &mut AsyncPgConnection, id: Uuid, hash: &str) -> ApiResult<i32> {
    Ok(diesel::update(users::table.find(id))
        .set((
            users::password_hash.eq(hash),
            users::token_version.eq(users::token_version + 1),
            users::updated_at.eq(diesel::dsl::now),
        ))
        .returning(users::token_version)
        .get_result(conn)
        .await?)
}

/// Replaces `old` with `new` (the same password, rehashed); tokens stay valid.
/// Does nothing if the password changed meanwhile.
#[tracing::instrument(skip_all)]
pub async fn replace_password_hash(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    old: &str,
    new: &str,
) -> ApiResult<()> {
    diesel::update(users::table.find(id).filter(users::password_hash.eq(old)))
        .set(users::password_hash.eq(new))
        .execute(conn)
        .await?;
    Ok(())
}

#[tracing::instrument(skip_all)]
pub async fn bump_token_version(conn: &mut AsyncPgConnection, id: Uuid) -> ApiResult<i32> {
    Ok(diesel::update(users::table.find(id))
        .set(users::token_version.eq(users::token_version + 1))
        .returning(users::token_version)
        .get_result(conn)
        .await?)
}
