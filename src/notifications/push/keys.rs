//! The VAPID key (RFC 8292): a P-256 key pair whose public half browsers
//! subscribe with, and whose private half signs, per push service origin,
//! the short-lived JWT every push request carries.

use anyhow::{bail, Context};
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};

/// How long a signature is good for (RFC 8292 allows at most 24 hours).
pub const SIGNATURE_LIFETIME_SECS: i64 = 12 * 3600;

pub struct VapidKey {
    signing: SigningKey,
    /// The uncompressed public point, base64url without padding.
    public: String,
}

impl std::fmt::Debug for VapidKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VapidKey").field("public", &self.public).finish_non_exhaustive()
    }
}

impl VapidKey {
    /// A private scalar, 32 bytes in base64url (padding tolerated: tools differ).
    pub fn parse(encoded: &str) -> anyhow::Result<Self> {
        let trimmed = encoded.trim().trim_end_matches('=');
        let bytes = URL_SAFE_NO_PAD
            .decode(trimmed)
            .or_else(|_| URL_SAFE.decode(encoded.trim()))
            .context("not base64url")?;
        if bytes.len() != 32 {
            bail!("a P-256 private key is 32 bytes, this is {}", bytes.len());
        }
        let signing = SigningKey::from_slice(&bytes).context("not a P-256 private key")?;
        let public = URL_SAFE_NO_PAD.encode(signing.verifying_key().to_encoded_point(false).as_bytes());
        Ok(Self { signing, public })
    }

    /// A new private key, base64url.
    pub fn generate() -> String {
        loop {
            let mut bytes = [0u8; 32];
            rand::fill(&mut bytes[..]);
            // All but a 2^-32 sliver of 32-byte strings are valid scalars.
            if SigningKey::from_slice(&bytes).is_ok() {
                return URL_SAFE_NO_PAD.encode(bytes);
            }
        }
    }

    /// The application server key browsers pass to `pushManager.subscribe`.
    pub fn public_key(&self) -> &str {
        &self.public
    }

    /// The `Authorization` header for a push service at `origin` (scheme,
    /// host and any non-default port): `vapid t=<ES256 JWT>, k=<public key>`.
    pub fn authorization(&self, origin: &str, subject: &str, now_secs: i64) -> String {
        let header = URL_SAFE_NO_PAD.encode(br#"{"typ":"JWT","alg":"ES256"}"#);
        let claims = serde_json::json!({
            "aud": origin,
            "exp": now_secs + SIGNATURE_LIFETIME_SECS,
            "sub": subject,
        });
        let claims = URL_SAFE_NO_PAD.encode(claims.to_string());
        let signing_input = format!("{header}.{claims}");
        let signature: Signature = self.signing.sign(signing_input.as_bytes());
        let signature = URL_SAFE_NO_PAD.encode(signature.to_bytes());
        format!("vapid t={signing_input}.{signature}, k={}", self.public)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::signature::Verifier;
    use p256::ecdsa::VerifyingKey;

    #[test]
    fn a_generated_key_parses_and_signs_what_its_public_key_verifies() {
        let key = VapidKey::parse(&VapidKey::generate()).expect("valid");
        let header = key.authorization("https://push.example", "mailto:a@example.org", 1_000);
        let (t, k) =
            header.strip_prefix("vapid t=").and_then(|rest| rest.split_once(", k=")).expect("vapid t=…, k=…");
        assert_eq!(k, key.public_key());
        let public = URL_SAFE_NO_PAD.decode(k).unwrap();
        assert_eq!(public.len(), 65);
        assert_eq!(public[0], 4, "uncompressed point");
        let verifying = VerifyingKey::from_sec1_bytes(&public).unwrap();
        let (input, sig) = t.rsplit_once('.').unwrap();
        let sig = Signature::from_slice(&URL_SAFE_NO_PAD.decode(sig).unwrap()).unwrap();
        verifying.verify(input.as_bytes(), &sig).expect("verifies");
        let claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(input.split('.').nth(1).unwrap()).unwrap())
                .unwrap();
        assert_eq!(claims["aud"], "https://push.example");
        assert_eq!(claims["exp"], 1_000 + SIGNATURE_LIFETIME_SECS);
    }

    #[test]
    fn bad_keys_are_refused() {
        assert!(VapidKey::parse("not base64!").is_err());
        assert!(VapidKey::parse(&URL_SAFE_NO_PAD.encode([7u8; 31])).is_err());
        assert!(VapidKey::parse(&URL_SAFE_NO_PAD.encode([0u8; 32])).is_err(), "zero is no scalar");
        assert!(VapidKey::parse(&URL_SAFE_NO_PAD.encode([0xffu8; 32])).is_err(), "above the order");
        let padded = format!("{}=", VapidKey::generate());
        assert!(VapidKey::parse(&padded).is_ok());
    }
}
