//! Who is calling. `Caller` requires a valid access token, `MaybeCaller`
//! accepts anonymous requests but still refuses a bad token. Both only check
//! the signature and claims; whether the token has since been revoked (its
//! version) is checked in the same query that first touches the caller's data
//! (`users::models::current`, `access::resolve`), so it costs no extra round trip.

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};
use std::future::{ready, Ready};
use uuid::Uuid;

use super::tokens::TokenKeys;
use crate::error::{ApiError, ErrorCode};

/// A caller whose token is well signed, but not yet known to be current.
/// Its fields are private: a handler learns the user id from the access
/// policy (or `users::models::current`), which checks the token version first.
#[derive(Debug, Clone, Copy)]
pub struct Caller {
    user_id: Uuid,
    token_version: i32,
}

impl Caller {
    /// For the two queries that check revocation as they read the caller:
    /// `access::caller_key` and `users::models::current`.
    pub(crate) fn unverified_key(&self) -> (Uuid, i32) {
        (self.user_id, self.token_version)
    }

    /// The user an event ticket stands for (src/events/tickets.rs): its
    /// version is checked by the access policy exactly like a token's.
    pub(crate) fn from_ticket(user_id: Uuid, token_version: i32) -> Self {
        Caller { user_id, token_version }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct MaybeCaller(pub Option<Caller>);

fn bearer(req: &HttpRequest) -> Result<Option<&str>, ApiError> {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else { return Ok(None) };
    let value = value.to_str().map_err(|_| {
        ApiError::unauthorized(ErrorCode::InvalidToken, "The Authorization header is not readable.")
    })?;
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() => {
            Ok(Some(token.trim()))
        }
        _ => Err(ApiError::unauthorized(
            ErrorCode::InvalidToken,
            "Use `Authorization: Bearer <access token>`.",
        )),
    }
}

fn caller(req: &HttpRequest) -> Result<Option<Caller>, ApiError> {
    Ok(caller_until(req)?.map(|(caller, _)| caller))
}

/// The bearer token's caller and its expiry (Unix seconds): a live event
/// stream ends when the token does.
pub fn caller_until(req: &HttpRequest) -> Result<Option<(Caller, i64)>, ApiError> {
    let Some(token) = bearer(req)? else { return Ok(None) };
    let keys = req
        .app_data::<web::Data<TokenKeys>>()
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("TokenKeys not registered")))?;
    let claims = keys.verify_access(token)?;
    Ok(Some((Caller { user_id: claims.sub, token_version: claims.ver }, claims.exp)))
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(caller(req).and_then(|c| {
            c.ok_or_else(|| {
                ApiError::unauthorized(ErrorCode::MissingToken, "Sign in: this route needs a bearer token.")
            })
        }))
    }
}

impl FromRequest for MaybeCaller {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(caller(req).map(MaybeCaller))
    }
}
