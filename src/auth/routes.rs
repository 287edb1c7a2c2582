use actix_web::post;
use actix_web::{web, HttpResponse};
use diesel_async::AsyncConnection;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{store, strength, Caller};
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
#[utoipa::path(tag = "auth", request_body = RegisterRequest,
    responses(
        (status = 201, description = "Account created and signed in", body = TokenResponse),
        (status = 409, description = "`username_taken` or `email_taken`", body = Problem),
        (status = 422, description = "Invalid fields (`validation_failed`), or `weak_password` with advice", body = Problem),
        (status = 429, description = "`rate_limited`: too many registrations from this address; see Retry-After", body = Problem),
    ))]
#[post("/auth/register")]
#[tracing::instrument(skip_all)]
pub async fn register(
    state: web::Data<AppState>,
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
    strength::check("password", &req.password, inputs, state.min_password_score).await?;
    let ticket = state.passwords.admit(vec![client.queue_key()])?;
    let hash = state.passwords.hash(ticket, req.password).await?;
    let mut conn = state.conn().await?;
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
    Ok(HttpResponse::Created().insert_header(("Location", "/api/v1/me")).json(pair(
        &state,
        &user,
        refresh_token,
    )?))
}

fn bad_credentials() -> ApiError {
    ApiError::unauthorized(ErrorCode::InvalidCredentials, "Wrong login or password.")
}

/// Sign in with username or email and password.
#[utoipa::path(tag = "auth", request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in", body = TokenResponse),
        (status = 401, description = "`invalid_credentials`, the same for an unknown login and a wrong password", body = Problem),
        (status = 429, description = "`rate_limited`: too many sign-ins for this account or from this address, or too many at once; see Retry-After", body = Problem),
    ))]
#[post("/auth/login")]
#[tracing::instrument(skip_all)]
pub async fn login(
    state: web::Data<AppState>,
    client: ClientAddr,
    body: Json<LoginRequest>,
) -> ApiResult<HttpResponse> {
    let req = body.0;
    let user = {
        let mut conn = state.conn().await?;
        users::by_login(&mut conn, &req.login).await?
    };
    // An existing account is counted by its id, whichever of username and
    // email is typed; an unknown login by what was typed.
    let account = match &user {
        Some(user) => format!("user:{}", user.id),
        None => format!("login:{}", req.login.trim().to_lowercase()),
    };
    state.limits.password_attempt(client, &account)?;
    let ticket = state.passwords.admit(vec![client.queue_key(), account])?;
    // The connection goes back to the pool while argon2 runs.
    let ok = state
        .passwords
        .verify(ticket, req.password.clone(), user.as_ref().map(|u| u.password_hash.clone()))
        .await?;
    let user = match user {
        Some(user) if ok => user,
        _ => return Err(bad_credentials()),
    };
    if state.passwords.needs_rehash(&user.password_hash) {
        rehash(&state, client, &user, req.password).await;
    }
    let mut conn = state.conn().await?;
    let refresh_token = store::issue_new_family(&mut conn, user.id, state.tokens.refresh_ttl_days).await?;
    token_response(&state, &user, refresh_token).await
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
pub async fn refresh(state: web::Data<AppState>, body: Json<RefreshRequest>) -> ApiResult<HttpResponse> {
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
pub async fn logout(
    state: web::Data<AppState>,
    caller: Caller,
    body: Json<RefreshRequest>,
) -> ApiResult<HttpResponse> {
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
