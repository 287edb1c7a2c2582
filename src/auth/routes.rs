use actix_web::{web, HttpResponse};
use diesel_async::AsyncConnection;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{store, Caller};
use crate::error::{ApiError, ApiResult, Problem};
use crate::http::{endpoint, Check, Json};
use crate::state::AppState;
use crate::users::models::{self as users, MeView, NewUser, User};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(endpoint("/auth/register").post(register))
        .service(endpoint("/auth/login").post(login))
        .service(endpoint("/auth/refresh").post(refresh))
        .service(endpoint("/auth/logout").post(logout))
        .service(endpoint("/auth/logout-all").post(logout_all));
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    /// 3–32 of `[A-Za-z0-9_-]`, unique ignoring case.
    pub username: String,
    pub email: String,
    /// 8–128 characters, any characters.
    pub password: String,
    pub display_name: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// Username or email, either in any letter case.
    pub login: String,
    pub password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
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
}

pub fn valid_username(name: &str) -> bool {
    (3..=32).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.rsplit_once('@') else { return false };
    let n = email.chars().count();
    (3..=254).contains(&n)
        && !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
}

pub fn check_password(check: &mut Check, field: &str, password: &str) {
    let n = password.chars().count();
    if !(8..=128).contains(&n) {
        check.fail(field, "must be 8 to 128 characters");
    }
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
    })
}

/// Create an account and sign in.
#[utoipa::path(post, path = "/api/v1/auth/register", tag = "auth", request_body = RegisterRequest,
    responses(
        (status = 201, description = "Account created and signed in", body = TokenResponse),
        (status = 409, description = "`username_taken` or `email_taken`", body = Problem),
        (status = 422, description = "Invalid fields", body = Problem),
    ))]
pub async fn register(state: web::Data<AppState>, body: Json<RegisterRequest>) -> ApiResult<HttpResponse> {
    let req = body.0;
    let mut check = Check::new();
    check.require(valid_username(&req.username), "username", "must be 3 to 32 of A-Z, a-z, 0-9, _ and -");
    check.require(valid_email(&req.email), "email", "must be an email address");
    check_password(&mut check, "password", &req.password);
    if let Some(name) = &req.display_name {
        check.text("display_name", name, 1, 64);
    }
    check.done()?;

    let hash = state.passwords.hash(req.password).await?;
    let mut conn = state.conn().await?;
    let user = users::insert(
        &mut conn,
        NewUser {
            id: Uuid::now_v7(),
            username: &req.username,
            email: &req.email,
            display_name: req.display_name.as_deref().map(str::trim).unwrap_or(&req.username),
            password_hash: &hash,
        },
    )
    .await?;
    let refresh = store::issue_new_family(&mut conn, user.id, state.tokens.refresh_ttl_days).await?;
    Ok(HttpResponse::Created().insert_header(("Location", "/api/v1/me")).json(pair(&state, &user, refresh)?))
}

fn bad_credentials() -> ApiError {
    ApiError::unauthorized("invalid_credentials", "Wrong login or password.")
}

/// Sign in with username or email and password.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in", body = TokenResponse),
        (status = 401, description = "`invalid_credentials`, the same for an unknown login and a wrong password", body = Problem),
        (status = 429, description = "Too many sign-ins at once; see Retry-After", body = Problem),
    ))]
pub async fn login(state: web::Data<AppState>, body: Json<LoginRequest>) -> ApiResult<HttpResponse> {
    let req = body.0;
    let user = {
        let mut conn = state.conn().await?;
        users::by_login(&mut conn, &req.login).await?
    };
    // The connection goes back to the pool while argon2 runs.
    let ok = state.passwords.verify(req.password, user.as_ref().map(|u| u.password_hash.clone())).await?;
    let user = match user {
        Some(user) if ok => user,
        _ => return Err(bad_credentials()),
    };
    let mut conn = state.conn().await?;
    let refresh = store::issue_new_family(&mut conn, user.id, state.tokens.refresh_ttl_days).await?;
    token_response(&state, &user, refresh).await
}

/// Trade a refresh token for a new pair; the old refresh token is spent.
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth", request_body = RefreshRequest,
    responses(
        (status = 200, description = "A new token pair", body = TokenResponse),
        (status = 401, description = "`invalid_refresh_token`, or `refresh_token_reused` (the whole sign-in is revoked)", body = Problem),
    ))]
pub async fn refresh(state: web::Data<AppState>, body: Json<RefreshRequest>) -> ApiResult<HttpResponse> {
    let mut conn = state.conn().await?;
    let (user, refresh) = store::rotate(&mut conn, &body.refresh_token).await?;
    token_response(&state, &user, refresh).await
}

/// Sign out: the refresh token (and every token rotated from the same sign-in) stops working.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", request_body = RefreshRequest,
    security(("bearer" = [])),
    responses((status = 204, description = "Signed out"), (status = 401, body = Problem)))]
pub async fn logout(
    state: web::Data<AppState>,
    caller: Caller,
    body: Json<RefreshRequest>,
) -> ApiResult<HttpResponse> {
    let mut conn = state.conn().await?;
    let user = users::current(&mut conn, &caller).await?;
    store::revoke_family_of(&mut conn, &body.refresh_token, user.id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Sign out everywhere: every refresh token and every access token issued so far stop working.
#[utoipa::path(post, path = "/api/v1/auth/logout-all", tag = "auth", security(("bearer" = [])),
    responses((status = 204, description = "Every sign-in ended"), (status = 401, body = Problem)))]
pub async fn logout_all(state: web::Data<AppState>, caller: Caller) -> ApiResult<HttpResponse> {
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
