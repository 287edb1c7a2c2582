//! One-click unsubscribe (RFC 8058): `POST /unsubscribe/{token}` with the
//! form body `List-Unsubscribe=One-Click` and no credentials stops the kind
//! of mail that carried the token; `GET` shows a page that changes nothing
//! and offers the button.
//!
//! A token names a user and a kind of mail and is signed: the user's id and
//! the kind, then the first 128 bits of an HMAC-SHA256 of both under a key
//! derived from the server's secret (`auth.jwt_secret`), base64url. Nothing
//! is stored; it cannot be guessed or made for another user, and it does
//! nothing but stop that kind of mail. Rotating the secret ends the links
//! of mail already sent (the settings page still works). An unknown or
//! altered token is 404, the same as a token whose account is gone.

use actix_web::http::header::{self, ContentType};
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use diesel::sql_types::Uuid as SqlUuid;
use diesel_async::RunQueryDsl;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;
use uuid::Uuid;

use crate::error::{ApiError, ApiResult, ErrorCode, Problem};
use crate::state::AppState;

type HmacSha256 = Hmac<Sha256>;

const MAC_BYTES: usize = 16;
const TOKEN_BYTES: usize = 16 + 1 + MAC_BYTES;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(unsubscribe_page).service(unsubscribe);
}

/// Which mail a token stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The mail of one item (reply, mention, moderation): `email` becomes
    /// `digest` (digests, if any, continue).
    Immediate,
    /// The digest: `digest` becomes `off`.
    Digest,
    /// An organiser's session briefing: `briefing` becomes false.
    Briefing,
}

impl Kind {
    fn byte(self) -> u8 {
        match self {
            Kind::Immediate => 1,
            Kind::Digest => 2,
            Kind::Briefing => 3,
        }
    }

    fn of(byte: u8) -> Option<Self> {
        match byte {
            1 => Some(Kind::Immediate),
            2 => Some(Kind::Digest),
            3 => Some(Kind::Briefing),
            _ => None,
        }
    }
}

/// The unsubscribe key, derived from the server's secret so that it signs
/// nothing else.
#[derive(Clone)]
pub struct Keys {
    key: [u8; 32],
}

impl Keys {
    pub fn new(secret: &SecretString) -> Self {
        let mut derive = HmacSha256::new_from_slice(secret.expose_secret().as_bytes())
            .expect("HMAC takes a key of any length");
        derive.update(b"pilcrow unsubscribe v1");
        let mut key = [0u8; 32];
        key.copy_from_slice(&derive.finalize().into_bytes());
        Self { key }
    }

    fn mac(&self, payload: &[u8]) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC takes a key of any length");
        mac.update(payload);
        mac
    }

    /// The token that stops `kind` mail to `user`.
    pub fn token(&self, user: Uuid, kind: Kind) -> String {
        let mut bytes = Vec::with_capacity(TOKEN_BYTES);
        bytes.extend_from_slice(user.as_bytes());
        bytes.push(kind.byte());
        let tag = self.mac(&bytes).finalize().into_bytes();
        bytes.extend_from_slice(&tag[..MAC_BYTES]);
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// The user and kind a token names, if it is one of ours.
    pub fn open(&self, token: &str) -> Option<(Uuid, Kind)> {
        let bytes = URL_SAFE_NO_PAD.decode(token).ok()?;
        if bytes.len() != TOKEN_BYTES {
            return None;
        }
        let (payload, tag) = bytes.split_at(17);
        // Constant time: the comparison tells nothing about a near miss.
        self.mac(payload).verify_truncated_left(tag).ok()?;
        let user = Uuid::from_slice(&payload[..16]).ok()?;
        Some((user, Kind::of(payload[16])?))
    }
}

/// The page a person sees when they open the link: what the button does,
/// and the button. Opening it changes nothing (link scanners open links).
#[utoipa::path(tag = "notifications",
    params(("token" = String, Path, description = "The token from the mail's List-Unsubscribe URL")),
    responses(
        (status = 200, description = "A page with a button that unsubscribes (POST to this URL)", content_type = "text/html", body = String),
        (status = 404, description = "Not a token of this server (or its account is gone)", body = Problem),
    ))]
#[get("/unsubscribe/{token}")]
#[tracing::instrument(skip_all)]
pub async fn unsubscribe_page(state: AppState, token: web::Path<String>) -> ApiResult<HttpResponse> {
    let (user, kind) = state.mailing.unsubscribe.open(&token).ok_or_else(ApiError::not_found)?;
    let mut conn = state.conn().await?;
    if !account_exists(&mut conn, user).await? {
        return Err(ApiError::not_found());
    }
    let what = match kind {
        Kind::Immediate => {
            "mails about single replies, mentions and moderation (digests, if you get them, continue)"
        }
        Kind::Digest => "notification digests",
        Kind::Briefing => "briefings before the sessions you organise",
    };
    // The token is base64url (checked by `open`): safe inside an attribute.
    // Relative, so the form posts to the very URL the page came from.
    let body = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"robots\" content=\"noindex\"><title>Unsubscribe</title></head>\
         <body><h1>Unsubscribe</h1><p>Stop {what} from Pilcrow?</p>\
         <form method=\"post\" action=\"{}\"><input type=\"hidden\" name=\"List-Unsubscribe\" value=\"One-Click\">\
         <button type=\"submit\">Unsubscribe</button></form>\
         <p>You can choose again at any time in your notification settings.</p></body></html>\n",
        html_escape(token.as_str()),
    );
    Ok(page(body))
}

/// One-click unsubscribe (RFC 8058), as a mailbox provider sends it: the
/// form body `List-Unsubscribe=One-Click`, no credentials. Repeating it
/// changes nothing more.
#[utoipa::path(tag = "notifications",
    params(("token" = String, Path, description = "The token from the mail's List-Unsubscribe URL")),
    request_body(content = OneClick, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Unsubscribed: that kind of mail stops", content_type = "text/html", body = String),
        (status = 404, description = "Not a token of this server (or its account is gone)", body = Problem),
        (status = 415, description = "`unsupported_media_type`: the body is not a form", body = Problem),
        (status = 422, description = "`validation_failed`: the form is not `List-Unsubscribe=One-Click`", body = Problem),
    ))]
#[post("/unsubscribe/{token}")]
#[tracing::instrument(skip_all)]
pub async fn unsubscribe(
    state: AppState,
    req: HttpRequest,
    token: web::Path<String>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"));
    if !is_form {
        return Err(ApiError::new(
            actix_web::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::UnsupportedMediaType,
            "Send the form body List-Unsubscribe=One-Click as application/x-www-form-urlencoded.",
        ));
    }
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&body)
        .map_err(|_| ApiError::invalid_field("List-Unsubscribe", "the body is not a form"))?;
    if !pairs.iter().any(|(k, v)| k == "List-Unsubscribe" && v == "One-Click") {
        return Err(ApiError::invalid_field("List-Unsubscribe", "must be One-Click"));
    }
    let (user, kind) = state.mailing.unsubscribe.open(&token).ok_or_else(ApiError::not_found)?;
    let mut conn = state.conn().await?;
    let statement = match kind {
        Kind::Immediate => crate::sql!("unsubscribe/immediate.sql"),
        Kind::Digest => crate::sql!("unsubscribe/digest.sql"),
        Kind::Briefing => crate::sql!("unsubscribe/briefing.sql"),
    };
    let changed = statement.bind::<SqlUuid, _>(user).execute(&mut conn).await?;
    if changed == 0 {
        return Err(ApiError::not_found());
    }
    tracing::info!(kind = ?kind, "unsubscribed by one click");
    let what = match kind {
        Kind::Immediate => "You will get no more mails about single replies, mentions and moderation.",
        Kind::Digest => "You will get no more notification digests.",
        Kind::Briefing => "You will get no more briefings before the sessions you organise.",
    };
    Ok(page(format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"robots\" content=\"noindex\"><title>Unsubscribed</title></head>\
         <body><h1>Unsubscribed</h1><p>{what}</p>\
         <p>You can choose again at any time in your notification settings.</p></body></html>\n"
    )))
}

/// The form a mailbox provider posts.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // documents the form body; the handler reads the raw pairs
pub struct OneClick {
    #[schema(rename = "List-Unsubscribe", pattern = "^One-Click$")]
    list_unsubscribe: OneClickValue,
}

/// The one value RFC 8058 defines.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub enum OneClickValue {
    #[schema(rename = "One-Click")]
    OneClick,
}

async fn account_exists(conn: &mut diesel_async::AsyncPgConnection, user: Uuid) -> ApiResult<bool> {
    use crate::schema::users;
    use diesel::{ExpressionMethods, OptionalExtension, QueryDsl};
    let found: Option<Uuid> =
        users::table.filter(users::id.eq(user)).select(users::id).first(conn).await.optional()?;
    Ok(found.is_some())
}

fn page(body: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(ContentType::html())
        // The page posts only to itself and loads nothing.
        .insert_header((header::CONTENT_SECURITY_POLICY, "default-src 'none'; form-action 'self'"))
        .body(body)
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_opens_to_its_user_and_kind_and_an_altered_one_does_not() {
        let keys = Keys::new(&SecretString::from("a test secret that is long enough to be one".to_owned()));
        let user = Uuid::now_v7();
        let token = keys.token(user, Kind::Digest);
        assert_eq!(keys.open(&token), Some((user, Kind::Digest)));
        assert_ne!(keys.token(user, Kind::Immediate), token);
        let mut bytes = URL_SAFE_NO_PAD.decode(&token).unwrap();
        bytes[16] = Kind::Immediate.byte();
        assert_eq!(keys.open(&URL_SAFE_NO_PAD.encode(&bytes)), None, "the kind is signed");
        let other = Keys::new(&SecretString::from("another secret that is long enough to be one".to_owned()));
        assert_eq!(other.open(&token), None);
        assert_eq!(keys.open("not-a-token"), None);
    }
}
