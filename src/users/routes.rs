use actix_web::{get, patch, post};
use actix_web::{web, HttpRequest, HttpResponse};
use diesel_async::AsyncConnection;
use serde::Deserialize;
use utoipa::ToSchema;

use super::models::{self as users, MeView, ProfileChanges};
use crate::auth::{device, store, strength, Caller};
use crate::domain::limits;
use crate::error::{ApiError, ApiResult, ErrorCode, Problem};
use crate::http::{double_option, Check, Json};
use crate::ratelimit::ClientAddr;
use crate::state::AppState;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(get_me).service(patch_me).service(change_password);
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchMe {
    /// 1–64 characters.
    #[schema(schema_with = limits::display_name_or_null)]
    pub display_name: Option<String>,
    /// Up to 2,000 characters; `null` or "" clears it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(schema_with = limits::bio_or_null)]
    pub bio: Option<Option<String>>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePassword {
    #[schema(schema_with = limits::password)]
    pub current_password: String,
    /// 8–128 characters.
    #[schema(schema_with = limits::password)]
    pub new_password: String,
}

/// The signed-in user's account, with email.
#[utoipa::path(tag = "users", security(("bearer" = [])),
    responses((status = 200, body = MeView), (status = 401, body = Problem)))]
#[get("/me")]
#[tracing::instrument(skip_all)]
pub async fn get_me(state: AppState, caller: Caller) -> ApiResult<web::Json<MeView>> {
    let mut conn = state.conn().await?;
    let user = users::current(&mut conn, &caller).await?;
    Ok(web::Json((&user).into()))
}

/// Change display name or bio.
#[utoipa::path(tag = "users", security(("bearer" = [])), request_body = PatchMe,
    responses((status = 200, body = MeView), (status = 401, body = Problem), (status = 422, body = Problem)))]
#[patch("/me")]
#[tracing::instrument(skip_all)]
pub async fn patch_me(state: AppState, caller: Caller, body: Json<PatchMe>) -> ApiResult<web::Json<MeView>> {
    let req = body.0;
    let mut check = Check::new();
    if let Some(name) = &req.display_name {
        check.text("display_name", name, limits::DISPLAY_NAME);
    }
    if let Some(Some(bio)) = &req.bio {
        check.chars("bio", bio, limits::BIO);
    }
    check.done()?;
    let mut conn = state.conn().await?;
    let user = users::current(&mut conn, &caller).await?;
    let changes = ProfileChanges {
        display_name: req.display_name.map(|n| n.trim().to_owned()),
        bio: req.bio.map(|b| b.filter(|s| !s.is_empty())),
    };
    let user = users::update_profile(&mut conn, user.id, changes).await?;
    Ok(web::Json((&user).into()))
}

/// Change password; every earlier access and refresh token stops working.
#[utoipa::path(tag = "users", security(("bearer" = [])), request_body = ChangePassword,
    params(("Pilcrow-Device" = Option<String>, Header, description = "This client's device token (or the `pilcrow_device` cookie): its failed attempts are counted apart")),
    responses(
        (status = 204, description = "Changed; sign in again"),
        (status = 429, description = "`rate_limited`: too many failed password attempts (counted before the new password is judged), or too many at once; see Retry-After", body = Problem),
        (status = 401, description = "Wrong current password (`invalid_credentials`) or bad token", body = Problem),
        (status = 422, description = "Invalid fields (`validation_failed`), or `weak_password` with advice", body = Problem),
    ))]
#[post("/me/password")]
#[tracing::instrument(skip_all)]
pub async fn change_password(
    state: AppState,
    http: HttpRequest,
    caller: Caller,
    client: ClientAddr,
    body: Json<ChangePassword>,
) -> ApiResult<HttpResponse> {
    let req = body.0;
    let mut check = Check::new();
    check.chars("new_password", &req.new_password, limits::PASSWORD);
    check.done()?;
    let user = {
        let mut conn = state.conn().await?;
        users::current(&mut conn, &caller).await?
    };
    let queue = confirm_password(&state, &http, client, &user, req.current_password).await?;
    // Only a caller who knows the password gets zxcvbn's time.
    let inputs = vec![user.username.clone(), user.email.clone(), user.display_name.clone()];
    let min_score = state.min_password_score;
    strength::check(&state.passwords, queue.clone(), "new_password", &req.new_password, inputs, min_score)
        .await?;
    let ticket = state.passwords.admit(queue)?;
    let hash = state.passwords.hash(ticket, req.new_password).await?;
    let mut conn = state.conn().await?;
    conn.transaction::<_, ApiError, _>(async move |conn| {
        users::set_password_and_revoke(conn, user.id, &hash).await?;
        store::revoke_all_for_user(conn, user.id).await
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Checks the signed-in user's `password` before an account change (a new
/// password, deleting the account): 401 `invalid_credentials` when wrong.
/// Returns the hashing queue the caller's further hashes join.
///
/// This is a password oracle like login, so it takes the same limits (both
/// of the account's logins, as a sign-in would type them), before any CPU
/// is spent on the request.
pub(super) async fn confirm_password(
    state: &AppState,
    http: &HttpRequest,
    client: ClientAddr,
    user: &users::User,
    password: String,
) -> ApiResult<Vec<String>> {
    let device = device::of(http, &state.tokens, user.id, user.token_version);
    let typed =
        [format!("login:{}", user.username.to_lowercase()), format!("login:{}", user.email.to_lowercase())];
    let charge = state.limits.password_attempt(client, &typed, device)?;
    let queue =
        vec![client.queue_key(), device.map_or(format!("user:{}", user.id), |d| format!("device:{d}"))];
    let ticket = state.passwords.admit(queue.clone())?;
    if !state.passwords.verify(ticket, password, Some(user.password_hash.clone())).await? {
        return Err(ApiError::unauthorized(ErrorCode::InvalidCredentials, "The password is wrong."));
    }
    state.limits.password_correct(charge);
    Ok(queue)
}
