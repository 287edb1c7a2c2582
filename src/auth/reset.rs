//! Password reset by mail (API.md, "Abuse resistance and safe retries").
//! A request answers 202 at once, the same for every address: looking the
//! address up, storing the token and sending the mail happen after the
//! response, so neither the body nor the time tells whether an account
//! exists. Tokens are 256 random bits, stored as SHA-256, single use, 30 minutes.

use actix_web::{post, HttpResponse};
use chrono::{Duration, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{store, strength};
use crate::domain::{limits, Email};
use crate::error::{ApiError, ApiResult, ErrorCode, Problem};
use crate::http::{Check, Json};
use crate::ratelimit::ClientAddr;
use crate::schema::password_resets as pr;
use crate::secrets::{random_token, sha256};
use crate::state::AppState;
use crate::users::models::{self as users, User};

const VALID_MINUTES: i64 = 30;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetRequest {
    #[schema(schema_with = Email::schema)]
    pub email: String,
}

/// The one answer to every reset request.
#[derive(Debug, Serialize, ToSchema)]
pub struct ResetAccepted {
    pub message: &'static str,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetConfirm {
    /// The token from the mail.
    #[schema(schema_with = limits::token)]
    pub token: String,
    /// 8–128 characters, and not easy to guess.
    #[schema(schema_with = limits::password)]
    pub new_password: String,
}

/// Ask for a reset link by mail. The same 202 whether or not the address has an account.
#[utoipa::path(tag = "auth", request_body = ResetRequest,
    responses(
        (status = 202, description = "If the address has an account, a link is on its way", body = ResetAccepted),
        (status = 422, body = Problem),
        (status = 429, description = "`rate_limited`: too many requests from this address; see Retry-After. Past the per-account limit of mails the answer is still 202, and nothing is sent", body = Problem),
    ))]
#[post("/auth/password-reset")]
#[tracing::instrument(skip_all)]
pub async fn request_reset(
    state: AppState,
    client: ClientAddr,
    body: Json<ResetRequest>,
) -> ApiResult<HttpResponse> {
    state.limits.password_reset(client)?;
    let mut check = Check::new();
    let email = check.parse("email", Email::parse(&body.email));
    check.done()?;
    let Some(email) = email else {
        return Err(ApiError::internal(anyhow::anyhow!("check passed without a parsed email")));
    };
    let email = email.as_str().to_owned();
    tokio::spawn(async move {
        if let Err(e) = send_link(&state, &email).await {
            tracing::warn!(error = ?e, "password reset mail not sent");
        }
    });
    Ok(HttpResponse::Accepted()
        .json(ResetAccepted { message: "If that address has an account, a reset link has been sent to it." }))
}

async fn send_link(state: &AppState, email: &str) -> anyhow::Result<()> {
    let mut conn = state.conn().await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let Some(user) = users::by_login(&mut conn, email).await.map_err(|e| anyhow::anyhow!("{e}"))? else {
        return Ok(());
    };
    // by_login also matches usernames; a reset goes only to an address.
    if !user.email.eq_ignore_ascii_case(email) {
        return Ok(());
    }
    // However many addresses ask, one inbox gets only a few; the request was
    // answered alike already, so this tells nobody anything.
    if !state.limits.reset_mail(user.id) {
        tracing::info!("password reset mail not sent: this account's limit is reached");
        return Ok(());
    }
    let token = random_token(32);
    diesel::insert_into(pr::table)
        .values((
            pr::token_hash.eq(sha256(&token)),
            pr::user_id.eq(user.id),
            pr::expires_at.eq(Utc::now() + Duration::minutes(VALID_MINUTES)),
        ))
        .execute(&mut conn)
        .await?;
    drop(conn);
    let body = format!(
        "Hello {},\n\nSomeone (we hope you) asked to reset your Pilcrow password. \
         To choose a new one, open this link within {VALID_MINUTES} minutes:\n\n{}?token={token}\n\n\
         If you did not ask, ignore this message; your password stays as it is.\n",
        user.display_name, state.reset_link
    );
    state.mailer.send(&user.email, "Reset your Pilcrow password", body).await
}

fn invalid_token() -> ApiError {
    ApiError::unprocessable(
        ErrorCode::InvalidResetToken,
        "The reset link is invalid, used or expired; ask for a new one.",
    )
}

/// Set a new password with the token from the mail; every earlier access and refresh token stops working.
#[utoipa::path(tag = "auth", request_body = ResetConfirm,
    responses(
        (status = 204, description = "Password set; sign in with it"),
        (status = 422, description = "`invalid_reset_token` (unknown, used or expired), `weak_password` or invalid fields", body = Problem),
    ))]
#[post("/auth/password-reset/confirm")]
#[tracing::instrument(skip_all)]
pub async fn confirm_reset(
    state: AppState,
    client: ClientAddr,
    body: Json<ResetConfirm>,
) -> ApiResult<HttpResponse> {
    let req = body.0;
    let mut check = Check::new();
    check.chars("new_password", &req.new_password, limits::PASSWORD);
    check.done()?;
    let hash_of_token = sha256(&req.token);
    let user: User = {
        let mut conn = state.conn().await?;
        let user_id: Option<Uuid> = pr::table
            .filter(pr::token_hash.eq(&hash_of_token))
            .filter(pr::used_at.is_null())
            .filter(pr::expires_at.gt(Utc::now()))
            .select(pr::user_id)
            .first(&mut conn)
            .await
            .optional()?;
        let user_id = user_id.ok_or_else(invalid_token)?;
        users::by_id(&mut conn, user_id).await?
    };
    let inputs = vec![user.username.clone(), user.email.clone(), user.display_name.clone()];
    let queue = vec![client.queue_key(), format!("user:{}", user.id)];
    strength::check(
        &state.passwords,
        queue.clone(),
        "new_password",
        &req.new_password,
        inputs,
        state.min_password_score,
    )
    .await?;
    let ticket = state.passwords.admit(queue)?;
    let hash = state.passwords.hash(ticket, req.new_password).await?;
    let mut conn = state.conn().await?;
    conn.transaction::<_, ApiError, _>(async move |conn| {
        // Spend the token first: of two confirmations racing, one updates the row.
        let spent =
            diesel::update(pr::table.filter(pr::token_hash.eq(&hash_of_token)).filter(pr::used_at.is_null()))
                .set(pr::used_at.eq(diesel::dsl::now))
                .execute(conn)
                .await?;
        if spent != 1 {
            return Err(invalid_token());
        }
        // The user row, then the tokens: the lock order `store::rotate` relies on.
        users::set_password_and_revoke(conn, user.id, &hash).await?;
        store::revoke_all_for_user(conn, user.id).await?;
        // Other links sent to this account stop working too.
        diesel::update(pr::table.filter(pr::user_id.eq(user.id)).filter(pr::used_at.is_null()))
            .set(pr::used_at.eq(diesel::dsl::now))
            .execute(conn)
            .await?;
        Ok(())
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
