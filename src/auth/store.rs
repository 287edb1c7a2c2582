//! Refresh tokens in the database: issue, rotate (with reuse detection), revoke.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::schema::{refresh_tokens as rt, users};
use crate::secrets::{random_token, sha256};
use crate::users::models::User;

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = rt)]
struct Stored {
    id: Uuid,
    user_id: Uuid,
    family_id: Uuid,
    issued_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    spent_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
}

/// Starts a new family (a sign-in) and returns its first token.
#[tracing::instrument(skip_all)]
pub async fn issue_new_family(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    ttl_days: i64,
) -> ApiResult<String> {
    let expires_at = Utc::now() + Duration::days(ttl_days);
    insert(conn, user_id, Uuid::now_v7(), expires_at).await
}

async fn insert(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    family_id: Uuid,
    expires_at: DateTime<Utc>,
) -> ApiResult<String> {
    let token = random_token(32);
    diesel::insert_into(rt::table)
        .values((
            rt::id.eq(Uuid::now_v7()),
            rt::user_id.eq(user_id),
            rt::family_id.eq(family_id),
            rt::token_hash.eq(sha256(&token)),
            rt::expires_at.eq(expires_at),
        ))
        .execute(conn)
        .await?;
    Ok(token)
}

enum Rotation {
    Rotated { user: Box<User>, token: String },
    Reused,
    Invalid,
}

fn invalid() -> ApiError {
    ApiError::unauthorized(ErrorCode::InvalidRefreshToken, "The refresh token is not valid.")
}

/// Spends `token` and returns its user and the next token of the family.
/// Presenting a token that was already spent revokes the whole family
/// (RFC 9700 §4.14.2): whoever holds the other copy is shut out too.
#[tracing::instrument(skip_all)]
pub async fn rotate(conn: &mut AsyncPgConnection, token: &str, idle_days: i64) -> ApiResult<(User, String)> {
    let hash = sha256(token);
    let outcome = conn
        .transaction::<_, ApiError, _>(async move |conn| {
            let Some(user_id) = rt::table
                .filter(rt::token_hash.eq(&hash))
                .select(rt::user_id)
                .first::<Uuid>(conn)
                .await
                .optional()?
            else {
                return Ok(Rotation::Invalid);
            };
            // The user row before the token, the order in which password change and
            // logout-all lock them (by updating the user first, in one transaction):
            // a rotation then either ends before they revoke, its new token revoked with
            // the rest and the access token carrying the old version, or waits and finds
            // its token revoked. One order everywhere also rules out deadlocks between them.
            let user = users::table
                .find(user_id)
                .select(User::as_select())
                .for_share()
                .first(conn)
                .await
                .optional()?;
            let Some(user) = user else { return Ok(Rotation::Invalid) };
            let Some(stored) = rt::table
                .filter(rt::token_hash.eq(&hash))
                .select(Stored::as_select())
                .for_update()
                .first(conn)
                .await
                .optional()?
            else {
                return Ok(Rotation::Invalid);
            };
            // Each rotation issues the next token now, so a token's age is the
            // sign-in's idle time.
            let idle = stored.issued_at + Duration::days(idle_days) <= Utc::now();
            if stored.revoked_at.is_some() || stored.expires_at <= Utc::now() || idle {
                return Ok(Rotation::Invalid);
            }
            if stored.spent_at.is_some() {
                revoke_family(conn, stored.family_id).await?;
                return Ok(Rotation::Reused);
            }
            diesel::update(rt::table.find(stored.id))
                .set(rt::spent_at.eq(diesel::dsl::now))
                .execute(conn)
                .await?;
            let token = insert(conn, stored.user_id, stored.family_id, stored.expires_at).await?;
            Ok(Rotation::Rotated { user: Box::new(user), token })
        })
        .await?;
    match outcome {
        Rotation::Rotated { user, token } => Ok((*user, token)),
        Rotation::Reused => Err(ApiError::unauthorized(
            ErrorCode::RefreshTokenReused,
            "That refresh token was already used; every token of its sign-in has been revoked.",
        )),
        Rotation::Invalid => Err(invalid()),
    }
}

async fn revoke_family(conn: &mut AsyncPgConnection, family_id: Uuid) -> ApiResult<()> {
    diesel::update(rt::table.filter(rt::family_id.eq(family_id)).filter(rt::revoked_at.is_null()))
        .set(rt::revoked_at.eq(diesel::dsl::now))
        .execute(conn)
        .await?;
    Ok(())
}

/// Logout: ends the sign-in `token` belongs to, if it is the caller's.
#[tracing::instrument(skip_all)]
pub async fn revoke_family_of(conn: &mut AsyncPgConnection, token: &str, user_id: Uuid) -> ApiResult<()> {
    let family: Option<Uuid> = rt::table
        .filter(rt::token_hash.eq(sha256(token)))
        .filter(rt::user_id.eq(user_id))
        .select(rt::family_id)
        .first(conn)
        .await
        .optional()?;
    if let Some(family) = family {
        revoke_family(conn, family).await?;
    }
    Ok(())
}

#[tracing::instrument(skip_all)]
pub async fn revoke_all_for_user(conn: &mut AsyncPgConnection, user_id: Uuid) -> ApiResult<()> {
    diesel::update(rt::table.filter(rt::user_id.eq(user_id)).filter(rt::revoked_at.is_null()))
        .set(rt::revoked_at.eq(diesel::dsl::now))
        .execute(conn)
        .await?;
    Ok(())
}
