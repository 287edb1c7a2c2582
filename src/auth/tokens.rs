//! Access tokens (short-lived HS256 JWTs) and refresh tokens (opaque random
//! strings, stored only as SHA-256 hashes).

use chrono::Utc;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::verified::{self, Verified};
use crate::config::AuthSettings;
use crate::error::{ApiError, ErrorCode};

const ACCESS_TYPE: &str = "access";
/// Seconds a token is still taken after its `exp` (clocks differ).
const LEEWAY_SECS: u64 = 5;
const DEVICE_TYPE: &str = "device";
/// How long a device stays known after its last successful sign-in.
pub const DEVICE_TTL_DAYS: i64 = 365;

/// A device token: proof that this client signed in to `sub` with its
/// password before (OWASP's device cookie). Not a credential: it only lets
/// the client's password attempts be counted on a budget of its own.
#[derive(Debug, Serialize, Deserialize)]
pub struct DeviceClaims {
    pub iss: String,
    pub aud: String,
    pub sub: Uuid,
    pub iat: i64,
    pub exp: i64,
    /// Always "device": an access token is never one, nor the other way round.
    pub typ: String,
    /// The user's token version when issued: signing out everywhere, or a
    /// new password, makes every device unknown again.
    pub ver: i32,
    /// The device's id, the key of its own failure budget.
    pub jti: Uuid,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    pub aud: String,
    pub sub: Uuid,
    pub iat: i64,
    pub exp: i64,
    /// Always "access": refuses any other kind of token signed with the same key.
    pub typ: String,
    /// The user's token version when issued; a newer one in the database revokes it.
    pub ver: i32,
}

#[derive(Clone)]
pub struct TokenKeys {
    /// Names these keys among the tokens kept verified (src/auth/verified.rs).
    id: u64,
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    issuer: String,
    audience: String,
    pub access_ttl_secs: i64,
    pub refresh_ttl_days: i64,
    /// A refresh token unused this long stops working (its sign-in went idle).
    pub refresh_idle_days: i64,
}

impl TokenKeys {
    pub fn new(secret: &secrecy::SecretString, settings: &AuthSettings) -> Self {
        let bytes = secret.expose_secret().as_bytes();
        let mut validation = Validation::new(Algorithm::HS256);
        validation.algorithms = vec![Algorithm::HS256];
        validation.set_issuer(&[&settings.issuer]);
        validation.set_audience(&[&settings.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = LEEWAY_SECS;
        Self {
            id: verified::keys_id(),
            encoding: EncodingKey::from_secret(bytes),
            decoding: DecodingKey::from_secret(bytes),
            validation,
            issuer: settings.issuer.clone(),
            audience: settings.audience.clone(),
            access_ttl_secs: settings.access_token_ttl_secs,
            refresh_ttl_days: settings.refresh_token_ttl_days,
            refresh_idle_days: settings.refresh_token_idle_days,
        }
    }

    pub fn issue_access(&self, user_id: Uuid, token_version: i32) -> Result<String, ApiError> {
        let now = Utc::now().timestamp();
        self.encode(&AccessClaims {
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            sub: user_id,
            iat: now,
            exp: now + self.access_ttl_secs,
            typ: ACCESS_TYPE.to_owned(),
            ver: token_version,
        })
    }

    fn encode(&self, claims: &AccessClaims) -> Result<String, ApiError> {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .map_err(ApiError::internal)
    }

    /// A device token for a client that just proved `user_id`'s password.
    pub fn issue_device(&self, user_id: Uuid, token_version: i32) -> Result<String, ApiError> {
        let now = Utc::now().timestamp();
        let claims = DeviceClaims {
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            sub: user_id,
            iat: now,
            exp: now + DEVICE_TTL_DAYS * 86_400,
            typ: DEVICE_TYPE.to_owned(),
            ver: token_version,
            jti: Uuid::new_v4(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(ApiError::internal)
    }

    /// The device id in `token` when it is this server's device token for
    /// `user_id` at `token_version`; anything else is simply no device.
    pub fn device_of(&self, token: &str, user_id: Uuid, token_version: i32) -> Option<Uuid> {
        let claims =
            jsonwebtoken::decode::<DeviceClaims>(token, &self.decoding, &self.validation).ok()?.claims;
        (claims.typ == DEVICE_TYPE && claims.sub == user_id && claims.ver == token_version)
            .then_some(claims.jti)
    }

    /// Signs any claims with this server's key: tests forge expired, foreign
    /// and mistyped tokens with it. Never in the product.
    #[cfg(feature = "test-support")]
    pub fn sign(&self, claims: &AccessClaims) -> Result<String, ApiError> {
        self.encode(claims)
    }

    /// The caller `token` names, when these keys signed it as an access
    /// token that has not expired; once verified, a token is found again
    /// by its text (src/auth/verified.rs), its expiry still checked.
    pub fn verify_access(&self, token: &str) -> Result<Verified, ApiError> {
        let expired = || ApiError::unauthorized(ErrorCode::TokenExpired, "The access token has expired.");
        if let Some(known) = verified::find(self.id, token) {
            let now = Utc::now().timestamp();
            // As jsonwebtoken decides it: expired once `exp` is more than
            // the leeway in the past.
            return if known.exp < now - LEEWAY_SECS as i64 { Err(expired()) } else { Ok(known) };
        }
        let data = jsonwebtoken::decode::<AccessClaims>(token, &self.decoding, &self.validation).map_err(
            |e| match e.kind() {
                ErrorKind::ExpiredSignature => expired(),
                _ => ApiError::unauthorized(ErrorCode::InvalidToken, "The access token is not valid."),
            },
        )?;
        if data.claims.typ != ACCESS_TYPE {
            return Err(ApiError::unauthorized(ErrorCode::InvalidToken, "The access token is not valid."));
        }
        let claims = Verified { sub: data.claims.sub, ver: data.claims.ver, exp: data.claims.exp };
        verified::keep(self.id, token, claims);
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;

    fn keys(secret: &str) -> TokenKeys {
        let settings = Settings::load_from(std::path::Path::new("config")).unwrap();
        TokenKeys::new(&secrecy::SecretString::from(secret.to_owned()), &settings.auth)
    }

    #[test]
    fn a_kept_token_is_only_taken_by_the_keys_that_verified_it() {
        let (ours, theirs) = (keys("our secret, long enough to sign"), keys("their secret, long enough too"));
        let user = Uuid::now_v7();
        let token = ours.issue_access(user, 3).unwrap();
        let first = ours.verify_access(&token).unwrap();
        assert_eq!((first.sub, first.ver), (user, 3));
        assert_eq!(ours.verify_access(&token).unwrap(), first);
        // Kept on this thread by `ours`, and still no token of `theirs`.
        let refused = theirs.verify_access(&token).unwrap_err();
        assert_eq!(refused.code, ErrorCode::InvalidToken);
        let their_token = theirs.issue_access(user, 3).unwrap();
        assert!(theirs.verify_access(&their_token).is_ok());
        assert_eq!(ours.verify_access(&their_token).unwrap_err().code, ErrorCode::InvalidToken);
    }

    #[test]
    fn a_kept_token_expires_as_a_fresh_one_does() {
        let ours = keys("our secret, long enough to sign");
        let now = Utc::now().timestamp();
        let sub = Uuid::now_v7();
        let claims = |exp| AccessClaims {
            iss: ours.issuer.clone(),
            aud: ours.audience.clone(),
            sub,
            iat: now - 3600,
            exp,
            typ: ACCESS_TYPE.to_owned(),
            ver: 1,
        };
        // Within the leeway: taken, fresh and kept.
        let late = ours.encode(&claims(now - 2)).unwrap();
        assert!(ours.verify_access(&late).is_ok());
        assert!(ours.verify_access(&late).is_ok());
        // Past it: refused fresh, and refused when kept from before.
        let old = ours.encode(&claims(now - 60)).unwrap();
        assert_eq!(ours.verify_access(&old).unwrap_err().code, ErrorCode::TokenExpired);
        verified::keep(ours.id, &old, Verified { sub, ver: 1, exp: now - 60 });
        assert_eq!(ours.verify_access(&old).unwrap_err().code, ErrorCode::TokenExpired);
    }
}
