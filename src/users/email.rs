//! `POST /me/email`: changing the account's address. The new address gets a
//! link (a verification token naming it, src/mailing/verify.rs) and the old
//! one a notice; the address changes only when `POST /auth/verify-email`
//! takes that token, and then it is verified. Nothing else about the account
//! changes: its tokens keep working.
//!
//! The answer never says whether the new address belongs to another
//! account: then no link is made, and the new address is told instead that
//! an account exists there. Two accounts confirming the same free address at
//! once: the first gets it, the second a 409 (the unique index decides).

use actix_web::{post, HttpRequest, HttpResponse};
use chrono::{Duration, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use serde::Deserialize;
use utoipa::ToSchema;

use super::models::{self as users, lower, User};
use crate::auth::Caller;
use crate::domain::email::Email;
use crate::domain::limits;
use crate::error::{ApiError, ApiResult, Problem};
use crate::http::{Check, Json};
use crate::mailing::verify::{VerificationAccepted, VALID_HOURS};
use crate::mailing::{compose, Mailing};
use crate::ratelimit::ClientAddr;
use crate::schema::{email_verifications as ev, users as u};
use crate::secrets::{random_token, sha256};
use crate::state::AppState;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(change_email);
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeEmail {
    /// The new address.
    #[schema(schema_with = Email::schema)]
    pub email: String,
    /// The account's current password.
    #[schema(schema_with = limits::password)]
    pub password: String,
}

/// Change your address: a confirmation link goes to the new address and a
/// notice to the current one; the address changes (verified) only when the
/// link's token is confirmed with `POST /auth/verify-email`. A newer request
/// replaces an older pending one. Signed-in sessions stay signed in.
#[utoipa::path(tag = "users", security(("bearer" = [])), request_body = ChangeEmail,
    params(("Pilcrow-Device" = Option<String>, Header, description = "This client's device token (or the `pilcrow_device` cookie): its failed attempts are counted apart")),
    responses(
        (status = 202, description = "Mails are on their way; the same answer whether or not another account has the new address", body = VerificationAccepted),
        (status = 401, description = "Wrong password (`invalid_credentials`) or bad token", body = Problem),
        (status = 422, description = "Invalid fields (`validation_failed`), or the address is already the account's", body = Problem),
        (status = 429, description = "`rate_limited`: too many failed password attempts, or too many address mails this hour; see Retry-After", body = Problem),
    ))]
#[post("/me/email")]
#[tracing::instrument(skip_all)]
pub async fn change_email(
    state: AppState,
    http: HttpRequest,
    caller: Caller,
    client: ClientAddr,
    body: Json<ChangeEmail>,
) -> ApiResult<HttpResponse> {
    let req = body.0;
    let mut check = Check::new();
    let email = check.parse("email", Email::parse(&req.email));
    check.chars("password", &req.password, limits::PASSWORD);
    check.done()?;
    let Some(email) = email else {
        return Err(ApiError::internal(anyhow::anyhow!("check passed without a parsed address")));
    };
    let email = email.as_str().to_owned();
    let user = {
        let mut conn = state.conn().await?;
        users::current(&mut conn, &caller).await?
    };
    super::routes::confirm_password(&state, &http, client, &user, req.password).await?;
    // As the unique index compares (PostgreSQL's lower() folds ASCII only).
    if email.eq_ignore_ascii_case(&user.email) {
        return Err(ApiError::invalid_field("email", "is already your address"));
    }
    state.limits.email_change_mail(user.id)?;
    let mut conn = state.conn().await?;
    let user_id = user.id;
    let current = user.email.clone();
    let wanted = email.clone();
    let token = conn
        .transaction::<_, ApiError, _>(async move |conn| {
            // A newer request replaces older ones: every pending link to an
            // address other than the current one is spent.
            diesel::update(
                ev::table
                    .filter(ev::user_id.eq(user_id))
                    .filter(ev::used_at.is_null())
                    .filter(lower(ev::email).ne(lower(&current))),
            )
            .set(ev::used_at.eq(diesel::dsl::now))
            .execute(conn)
            .await?;
            let taken: bool = diesel::select(diesel::dsl::exists(
                u::table.filter(lower(u::email).eq(lower(&wanted))).filter(u::id.ne(user_id)),
            ))
            .get_result(conn)
            .await?;
            // A deleted account's address stays refused while its ban lasts.
            if taken || super::deletion::address_refused(conn, &wanted).await? {
                return Ok(None);
            }
            let token = random_token(32);
            diesel::insert_into(ev::table)
                .values((
                    ev::token_hash.eq(sha256(&token)),
                    ev::user_id.eq(user_id),
                    ev::email.eq(&wanted),
                    ev::expires_at.eq(Utc::now() + Duration::hours(VALID_HOURS)),
                ))
                .execute(conn)
                .await?;
            Ok(Some(token))
        })
        .await?;
    drop(conn);
    send_later(state.mailing.clone(), user, email, token);
    Ok(HttpResponse::Accepted().json(VerificationAccepted {
        message:
            "A confirmation link is on its way to the new address; your address changes when it is opened.",
    }))
}

/// Mails the new address (the link, or, when another account has it, word
/// of that) and the current one (a notice), after the caller has answered;
/// a failure is logged.
fn send_later(mailing: std::sync::Arc<Mailing>, user: User, new_email: String, token: Option<String>) {
    tokio::spawn(async move {
        let name = &user.display_name;
        let to_new = match &token {
            Some(token) => compose::email_change_link(name, &mailing.verify_link, token, VALID_HOURS),
            None => compose::email_change_taken(),
        };
        if let Err(e) = mailing.mailer.send(&new_email, to_new.0, to_new.1).await {
            tracing::warn!(error = ?e, "address change mail not sent to the new address");
        }
        let (subject, body) = compose::email_change_notice(name, &new_email);
        if let Err(e) = mailing.mailer.send(&user.email, subject, body).await {
            tracing::warn!(error = ?e, "address change notice not sent to the old address");
        }
    });
}
