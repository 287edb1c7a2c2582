//! E-mail verification. Registration mails a link; `POST /auth/verify-email`
//! takes its token; `POST /me/email-verification` mails a new one. Tokens
//! are 256 random bits, stored as SHA-256, single use, 24 hours, like reset
//! tokens. Each names the address it proves (`email_verifications.email`):
//! confirming it makes that address the account's, verified, so a link sent
//! to a new address can confirm an address change through the same endpoint.
//! Confirming spends every other link of the account.

use actix_web::{post, HttpResponse};
use chrono::{Duration, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::Mailing;
use crate::auth::Caller;
use crate::domain::limits;
use crate::error::{unique_violation, ApiError, ApiResult, ErrorCode, Problem};
use crate::http::Json;
use crate::schema::{email_verifications as ev, users as u};
use crate::secrets::{random_token, sha256};
use crate::state::AppState;
use crate::users::models as users;

pub const VALID_HOURS: i64 = 24;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(verify_email).service(request_verification);
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyEmail {
    /// The token from the mailed link.
    #[schema(schema_with = limits::token)]
    pub token: String,
}

/// The one answer to a request for a new link.
#[derive(Debug, Serialize, ToSchema)]
pub struct VerificationAccepted {
    pub message: &'static str,
}

/// Mails a verification link for `email` to it, after the caller has answered
/// (a failure is logged: the reader can ask again).
pub fn send_later(mailing: std::sync::Arc<Mailing>, user_id: Uuid, display_name: String, email: String) {
    tokio::spawn(async move {
        if let Err(e) = send_link(&mailing, user_id, &display_name, &email).await {
            tracing::warn!(error = ?e, "verification mail not sent");
        }
    });
}

async fn send_link(mailing: &Mailing, user_id: Uuid, display_name: &str, email: &str) -> anyhow::Result<()> {
    let token = random_token(32);
    {
        let mut conn = crate::db::pool::conn(&mailing.pool).await.map_err(|e| anyhow::anyhow!("{e}"))?;
        diesel::insert_into(ev::table)
            .values((
                ev::token_hash.eq(sha256(&token)),
                ev::user_id.eq(user_id),
                ev::email.eq(email),
                ev::expires_at.eq(Utc::now() + Duration::hours(VALID_HOURS)),
            ))
            .execute(&mut conn)
            .await?;
    }
    let body = super::compose::verification(display_name, &mailing.verify_link, &token, VALID_HOURS);
    mailing.mailer.send(email, "Confirm your address for Pilcrow", body).await
}

fn invalid_token() -> ApiError {
    ApiError::unprocessable(
        ErrorCode::InvalidVerificationToken,
        "The verification link is invalid, used or expired; ask for a new one.",
    )
}

/// Confirm an address with the token from the mailed link. Needs no sign-in: the token is the proof.
#[utoipa::path(tag = "auth", request_body = VerifyEmail,
    responses(
        (status = 204, description = "Verified: the address the link was sent to is the account's, verified"),
        (status = 409, description = "`email_taken`: another account has that address now", body = Problem),
        (status = 422, description = "`invalid_verification_token` (unknown, used or expired), or invalid fields", body = Problem),
    ))]
#[post("/auth/verify-email")]
#[tracing::instrument(skip_all)]
pub async fn verify_email(state: AppState, body: Json<VerifyEmail>) -> ApiResult<HttpResponse> {
    let hash_of_token = sha256(&body.token);
    let mut conn = state.conn().await?;
    conn.transaction::<_, ApiError, _>(async move |conn| confirm(conn, &hash_of_token).await).await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn confirm(conn: &mut AsyncPgConnection, hash_of_token: &[u8]) -> ApiResult<()> {
    // Spend the token first: of two confirmations racing, one updates the row.
    let spent: Option<(Uuid, String)> = diesel::update(
        ev::table
            .filter(ev::token_hash.eq(hash_of_token))
            .filter(ev::used_at.is_null())
            .filter(ev::expires_at.gt(Utc::now())),
    )
    .set(ev::used_at.eq(diesel::dsl::now))
    .returning((ev::user_id, ev::email))
    .get_result(conn)
    .await
    .optional()?;
    let (user_id, email) = spent.ok_or_else(invalid_token)?;
    diesel::update(u::table.filter(u::id.eq(user_id)))
        .set((
            u::email.eq(&email),
            u::email_verified_at.eq(diesel::dsl::now),
            u::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .await
        .map_err(|e| match unique_violation(&e) {
            Some(_) => {
                ApiError::conflict(ErrorCode::EmailTaken, "An account with that email already exists.")
            }
            None => e.into(),
        })?;
    diesel::update(ev::table.filter(ev::user_id.eq(user_id)).filter(ev::used_at.is_null()))
        .set(ev::used_at.eq(diesel::dsl::now))
        .execute(conn)
        .await?;
    Ok(())
}

/// Mail a new verification link to the caller's address. Already verified,
/// or past `rate_limit.email_verification_per_user`: the same 202, and nothing is sent.
#[utoipa::path(tag = "users", security(("bearer" = [])),
    responses(
        (status = 202, description = "A link is on its way (unless the address is verified already or the hourly limit is reached)", body = VerificationAccepted),
        (status = 401, body = Problem),
    ))]
#[post("/me/email-verification")]
#[tracing::instrument(skip_all)]
pub async fn request_verification(state: AppState, caller: Caller) -> ApiResult<HttpResponse> {
    let mut conn = state.conn().await?;
    let user = users::current(&mut conn, &caller).await?;
    drop(conn);
    if user.email_verified_at.is_none() {
        if state.limits.verification_mail(user.id) {
            send_later(state.mailing.clone(), user.id, user.display_name, user.email);
        } else {
            tracing::info!("verification mail not sent: this account's limit is reached");
        }
    }
    Ok(HttpResponse::Accepted().json(VerificationAccepted {
        message: "Unless your address is verified already, a new link has been sent to it.",
    }))
}
