//! Device tokens (OWASP's device cookie): a client that signed in to an
//! account with its password gets one, and shows it again at later password
//! attempts, as the `pilcrow_device` cookie (browsers; HttpOnly) or the
//! `Pilcrow-Device` header (other clients, from the sign-in's `device_token`).
//! Its attempts are then counted on a budget of its own, so failures from
//! elsewhere never lock the owner out (see `RateLimits::password_attempt`).

use actix_web::http::header::{self, HeaderValue};
use actix_web::HttpRequest;
use uuid::Uuid;

use super::tokens::{TokenKeys, DEVICE_TTL_DAYS};

pub const COOKIE: &str = "pilcrow_device";
pub const HEADER: &str = "pilcrow-device";

/// A `Set-Cookie` header, ready for `insert_header`.
pub type SetCookie = (header::HeaderName, HeaderValue);

/// The device token the client sent: the header, else the cookie.
fn presented(req: &HttpRequest) -> Option<String> {
    if let Some(v) = req.headers().get(HEADER).and_then(|v| v.to_str().ok()) {
        return Some(v.trim().to_owned());
    }
    req.headers().get_all(header::COOKIE).filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).find_map(
        |pair| {
            let (name, value) = pair.trim().split_once('=')?;
            (name == COOKIE).then(|| value.trim_matches('"').to_owned())
        },
    )
}

/// The id of the device the client proves for `user_id`, if any.
pub fn of(req: &HttpRequest, keys: &TokenKeys, user_id: Uuid, token_version: i32) -> Option<Uuid> {
    keys.device_of(&presented(req)?, user_id, token_version)
}

/// The cookie that keeps `token` in a browser: sent only back to the API,
/// never readable by scripts, never cross-site.
pub fn cookie(token: &str) -> Option<SetCookie> {
    let value = format!(
        "{COOKIE}={token}; Path=/api/v1; Max-Age={}; HttpOnly; Secure; SameSite=Strict",
        DEVICE_TTL_DAYS * 86_400
    );
    HeaderValue::from_str(&value).ok().map(|v| (header::SET_COOKIE, v))
}
