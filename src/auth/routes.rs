use actix_web::post;
use actix_web::{HttpRequest, HttpResponse};
use diesel_async::AsyncConnection;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{device, store, strength, Caller};
use crate::domain::{limits, Email, Username};
use crate::error::{ApiError, ApiResult, ErrorCode, Problem};
use crate::http::{Check, Json};
use crate::ratelimit::ClientAddr;
use crate::state::AppState;
use crate::users::models::{self as users, MeView, NewUser, User};

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(register)
        .service(login)
        .service(refresh)
        .service(logout)
        .service(logout_all)
        .service(super::reset::request_reset)
        .service(super::reset::confirm_reset);
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    /// 3–32 of `[A-Za-z0-9_-]`, unique ignoring case.
    #[schema(schema_with = Username::schema)]
    pub username: String,
    #[schema(schema_with = Email::schema)]
    pub email: String,
    /// 8–128 characters, any characters.
    #[schema(schema_with = limits::password)]
    pub password: String,
    #[schema(schema_with = limits::display_name_or_null)]
    pub display_name: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// Username or email, either in any letter case.
    #[schema(schema_with = limits::login)]
    pub login: String,
    #[schema(schema_with = limits::password)]
    pub password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    #[schema(schema_with = limits::token)]
    pub refresh_token: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    pub user: MeView,
    pub access_token: String,
    pub refresh_token: String,
    /// Always "Bearer".
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// After a sign-in with the password: this client's device token. Send it
    /// back as `Pilcrow-Device` at later sign-ins and password changes (a
    /// browser gets it as the HttpOnly `pilcrow_device` cookie too): failed
    /// attempts from elsewhere then never lock this client out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_token: Option<String>,
}

async fn token_response(state: &AppState, user: &User, refresh_token: String) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(pair(state, user, refresh_token)?))
}

fn pair(state: &AppState, user: &User, refresh_token: String) -> ApiResult<TokenResponse> {
    Ok(TokenResponse {
        user: user.into(),
        access_token: state.tokens.issue_access(user.id, user.token_version)?,
        refresh_token,
        token_type: "Bearer",
        expires_in: state.tokens.access_ttl_secs,
        device_token: None,
    })
}

/// `pair`, with a device token for a client that has just proved the password.
fn pair_with_device(
    state: &AppState,
    user: &User,
    refresh_token: String,
) -> ApiResult<(TokenResponse, Option<device::SetCookie>)> {
    let mut tokens = pair(state, user, refresh_token)?;
    let device = state.tokens.issue_device(user.id, user.token_version)?;
    let cookie = device::cookie(&device);
    tokens.device_token = Some(device);
    Ok((tokens, cookie))
}

/// Create an account and sign in.
#[utoipa::path(tag = "auth", request_body = RegisterRequest,
    responses(
        (status = 201, description = "Account created and signed in; sets the `pilcrow_device` cookie", body = TokenResponse,
            headers(("Set-Cookie" = String, description = "`pilcrow_device`: this client's device token (HttpOnly)"))),
        (status = 409, description = "`username_taken` or `email_taken`", body = Problem),
        (status = 422, description = "Invalid fields (`validation_failed`), or `weak_password` with advice", body = Problem),
        (status = 429, description = "`rate_limited`: too many registrations from this address; see Retry-After", body = Problem),
    ))]
#[post("/auth/register")]
#[tracing::instrument(skip_all)]
pub async fn register(
    state: AppState,
    client: ClientAddr,
    body: Json<RegisterRequest>,
) -> ApiResult<HttpResponse> {
    state.limits.register(client)?;
    let req = body.0;
    let mut check = Check::new();
    let username = check.parse("username", Username::parse(&req.username));
    let email = check.parse("email", Email::parse(&req.email));
    check.chars("password", &req.password, limits::PASSWORD);
    if let Some(name) = &req.display_name {
        check.text("display_name", name, limits::DISPLAY_NAME);
    }
    check.done()?;
    let (Some(username), Some(email)) = (username, email) else {
        return Err(ApiError::internal(anyhow::anyhow!("check passed without parsed values")));
    };

    let inputs = vec![
        username.as_str().to_owned(),
        email.as_str().to_owned(),
        req.display_name.clone().unwrap_or_default(),
    ];
    strength::check(
        &state.passwords,
        vec![client.queue_key()],
        "password",
        &req.password,
        inputs,
        state.min_password_score,
    )
    .await?;
    let ticket = state.passwords.admit(vec![client.queue_key()])?;
    let hash = state.passwords.hash(ticket, req.password).await?;
    let mut conn = state.conn().await?;
    if crate::users::deletion::address_refused(&mut conn, email.as_str()).await? {
        return Err(ApiError::conflict(ErrorCode::EmailTaken, "An account with that email already exists."));
    }
    let user = users::insert(
        &mut conn,
        NewUser {
            id: Uuid::now_v7(),
            username: username.as_str(),
            email: email.as_str(),
            display_name: req.display_name.as_deref().map(str::trim).unwrap_or(username.as_str()),
            password_hash: &hash,
        },
    )
    .await?;
    let refresh_token = store::issue_new_family(&mut conn, user.id, state.tokens.refresh_ttl_days).await?;
    drop(conn);
    crate::mailing::verify::send_later(
        state.mailing.clone(),
        user.id,
        user.display_name.clone(),
        user.email.clone(),
    );
    let (tokens, cookie) = pair_with_device(&state, &user, refresh_token)?;
    let mut res = HttpResponse::Created();
    res.insert_header(("Location", "/api/v1/me"));
    if let Some(cookie) = cookie {
        res.insert_header(cookie);
    }
    Ok(res.json(tokens))
}

fn bad_credentials() -> ApiError {
    ApiError::unauthorized(ErrorCode::InvalidCredentials, "Wrong login or password.")
}

/// Sign in with username or email and password.
#[utoipa::path(tag = "auth", request_body = LoginRequest,
    params(("Pilcrow-Device" = Option<String>, Header, description = "The `device_token` of an earlier sign-in to this account (browsers send the `pilcrow_device` cookie instead): this client's failed attempts are then counted apart, and others' never lock it out")),
    responses(
        (status = 200, description = "Signed in; sets the `pilcrow_device` cookie", body = TokenResponse,
            headers(("Set-Cookie" = String, description = "`pilcrow_device`: this client's device token (HttpOnly)"))),
        (status = 401, description = "`invalid_credentials`, the same for an unknown login and a wrong password", body = Problem),
        (status = 429, description = "`rate_limited`: too many failed sign-ins for this login, from this address or on this device, or too many at once; see Retry-After", body = Problem),
    ))]
#[post("/auth/login")]
#[tracing::instrument(skip_all)]
pub async fn login(
    state: AppState,
    http: HttpRequest,
    client: ClientAddr,
    body: Json<LoginRequest>,
) -> ApiResult<HttpResponse> {
    let req = body.0;
    let user = {
        let mut conn = state.conn().await?;
        users::by_login(&mut conn, &req.login).await?
    };
    // Counted by what was typed, known account or not: keyed by the account,
    // a limit reached through the username would answer for the email too,
    // and tell that both name one account.
    let typed = format!("login:{}", req.login.trim().to_lowercase());
    let device = user.as_ref().and_then(|u| device::of(&http, &state.tokens, u.id, u.token_version));
    let charge = state.limits.password_attempt(client, std::slice::from_ref(&typed), device)?;
    // A known device queues on its own key too, so a flood aimed at the login
    // cannot hold the account's share of the queue against its owner.
    let queue_key = device.map_or(typed, |d| format!("device:{d}"));
    let ticket = state.passwords.admit(vec![client.queue_key(), queue_key])?;
    // The connection goes back to the pool while argon2 runs.
    let ok = state
        .passwords
        .verify(ticket, req.password.clone(), user.as_ref().map(|u| u.password_hash.clone()))
        .await?;
    let user = match user {
        Some(user) if ok => user,
        _ => return Err(bad_credentials()),
    };
    state.limits.password_correct(charge);
    if state.passwords.needs_rehash(&user.password_hash) {
        rehash(&state, client, &user, req.password).await;
    }
    let mut conn = state.conn().await?;
    let refresh_token = store::issue_new_family(&mut conn, user.id, state.tokens.refresh_ttl_days).await?;
    let (tokens, cookie) = pair_with_device(&state, &user, refresh_token)?;
    let mut res = HttpResponse::Ok();
    if let Some(cookie) = cookie {
        res.insert_header(cookie);
    }
    Ok(res.json(tokens))
}

/// Stores the password hashed with the configured parameters, replacing a
/// hash made with older ones (only if the stored hash is still that one).
/// Best effort: a failure is logged and the sign-in goes on.
async fn rehash(state: &AppState, client: ClientAddr, user: &User, password: String) {
    let result = async {
        let ticket = state.passwords.admit(vec![client.queue_key(), format!("user:{}", user.id)])?;
        let hash = state.passwords.hash(ticket, password).await?;
        let mut conn = state.conn().await?;
        users::replace_password_hash(&mut conn, user.id, &user.password_hash, &hash).await
    }
    .await;
    if let Err(e) = result {
        tracing::warn!(error = %e, "rehashing a password with the configured parameters");
    }
}

/// Trade a refresh token for a new pair; the old refresh token is spent.
#[utoipa::path(tag = "auth", request_body = RefreshRequest,
    responses(
        (status = 200, description = "A new token pair", body = TokenResponse),
        (status = 401, description = "`invalid_refresh_token`, or `refresh_token_reused` (the whole sign-in is revoked)", body = Problem),
    ))]
#[post("/auth/refresh")]
#[tracing::instrument(skip_all)]
pub async fn refresh(state: AppState, body: Json<RefreshRequest>) -> ApiResult<HttpResponse> {
    let mut conn = state.conn().await?;
    let (user, refresh_token) =
        store::rotate(&mut conn, &body.refresh_token, state.tokens.refresh_idle_days).await?;
    token_response(&state, &user, refresh_token).await
}

/// Sign out: the refresh token (and every token rotated from the same sign-in) stops working.
#[utoipa::path(tag = "auth", request_body = RefreshRequest,
    security(("bearer" = [])),
    responses((status = 204, description = "Signed out"), (status = 401, body = Problem)))]
#[post("/auth/logout")]
#[tracing::instrument(skip_all)]
pub async fn logout(state: AppState, caller: Caller, body: Json<RefreshRequest>) -> ApiResult<HttpResponse> {
    let mut check = Check::new();
    check.chars("refresh_token", &body.refresh_token, limits::TOKEN);
    check.done()?;
    let mut conn = state.conn().await?;
    let user = users::current(&mut conn, &caller).await?;
    store::revoke_family_of(&mut conn, &body.refresh_token, user.id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Sign out everywhere: every refresh token and every access token issued so far stop working.
#[utoipa::path(tag = "auth", security(("bearer" = [])),
    responses((status = 204, description = "Every sign-in ended"), (status = 401, body = Problem)))]
#[post("/auth/logout-all")]
#[tracing::instrument(skip_all)]
pub async fn logout_all(state: AppState, caller: Caller) -> ApiResult<HttpResponse> {
    let mut conn = state.conn().await?;
    let user = users::current(&mut conn, &caller).await?;
    // One transaction, the user row first: see `store::rotate` for the race this closes.
    conn.transaction::<_, ApiError, _>(async move |conn| {
        users::bump_token_version(conn, user.id).await?;
        store::revoke_all_for_user(conn, user.id).await
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
