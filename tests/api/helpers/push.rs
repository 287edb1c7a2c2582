//! A push service in the test: a plain-HTTP/1.1 listener on loopback (the
//! app reaches it only with `push.allow_private_endpoints`, which also
//! takes `http`), and a browser's side of RFC 8291: its key pair and auth
//! secret, and decryption of what arrives, written here from the RFCs
//! (p256, hkdf, aes-gcm) rather than with the crate the server encrypts with.
//! Each push's VAPID header is verified against the server's public key.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes128Gcm, Nonce};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{Signature, VerifyingKey};
use p256::elliptic_curve::sec1::ToEncodedPoint;
use serde_json::{json, Value};
use sha2::Sha256;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use super::{TestApp, TestUser};

/// How long a push may take to arrive before a test gives up.
pub const PUSH_WAIT: Duration = Duration::from_secs(20);

/// An app whose notifier and pusher run every 50 ms, allowed to push to
/// the loopback receiver.
pub async fn spawn_pushing_app() -> TestApp {
    super::spawn_app_with(pushing).await
}

/// Another instance on the same database, pushing too.
pub async fn pushing_instance_on(app: &TestApp) -> TestApp {
    let secret = app.settings.auth.jwt_secret.clone();
    let key = app.settings.push.vapid_private_key.clone();
    super::spawn_app_on(&app.db_url, move |s| {
        s.auth.jwt_secret = secret;
        s.push.vapid_private_key = key;
        pushing(s);
    })
    .await
}

fn pushing(s: &mut pilcrow::config::Settings) {
    s.notifications.derive_interval_ms = 50;
    s.push.interval_ms = 50;
    s.push.allow_private_endpoints = true;
}

/// One request the receiver took.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    /// Lower-case names.
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
}

#[derive(Default)]
struct Shared {
    received: Vec<Received>,
    /// Status answered per path (201 when unset).
    status: HashMap<String, u16>,
}

#[derive(Clone)]
pub struct PushReceiver {
    pub origin: String,
    shared: Arc<Mutex<Shared>>,
}

impl PushReceiver {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("binding the receiver");
        let origin = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let shared = Arc::new(Mutex::new(Shared::default()));
        let state = shared.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let state = state.clone();
                tokio::spawn(async move {
                    let (read, mut write) = socket.into_split();
                    let mut read = BufReader::new(read);
                    // Requests one after another on a kept-alive connection.
                    loop {
                        let mut line = String::new();
                        if read.read_line(&mut line).await.unwrap_or(0) == 0 {
                            return;
                        }
                        let path = line.split_whitespace().nth(1).unwrap_or_default().to_owned();
                        let mut headers = HashMap::new();
                        loop {
                            let mut header = String::new();
                            if read.read_line(&mut header).await.unwrap_or(0) == 0 {
                                return;
                            }
                            let header = header.trim_end();
                            if header.is_empty() {
                                break;
                            }
                            if let Some((name, value)) = header.split_once(':') {
                                headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
                            }
                        }
                        let length: usize =
                            headers.get("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
                        let mut body = vec![0u8; length];
                        if read.read_exact(&mut body).await.is_err() {
                            return;
                        }
                        let status = {
                            let mut shared = state.lock().unwrap();
                            let status = shared.status.get(&path).copied().unwrap_or(201);
                            shared.received.push(Received { path, headers, body });
                            status
                        };
                        let answer = format!("HTTP/1.1 {status} Push\r\ncontent-length: 0\r\n\r\n");
                        if write.write_all(answer.as_bytes()).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        Self { origin, shared }
    }

    /// Answer `status` to pushes to `path`.
    pub fn answer(&self, path: &str, status: u16) {
        self.shared.lock().unwrap().status.insert(path.to_owned(), status);
    }

    /// Everything received so far for `path`.
    pub fn received(&self, path: &str) -> Vec<Received> {
        self.shared.lock().unwrap().received.iter().filter(|r| r.path == path).cloned().collect()
    }

    /// Waits until `count` pushes to `path` have arrived; returns them.
    pub async fn wait_for(&self, path: &str, count: usize) -> Vec<Received> {
        let started = Instant::now();
        loop {
            let got = self.received(path);
            if got.len() >= count {
                return got;
            }
            assert!(started.elapsed() < PUSH_WAIT, "{count} pushes to {path} never arrived ({})", got.len());
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

/// A browser's subscription: its key pair and auth secret, and where its
/// push service receives.
pub struct Browser {
    secret: p256::SecretKey,
    auth: [u8; 16],
    pub path: String,
    pub endpoint: String,
}

impl Browser {
    pub fn new(receiver: &PushReceiver) -> Self {
        let mut scalar = [0u8; 32];
        let secret = loop {
            rand::fill(&mut scalar[..]);
            if let Ok(secret) = p256::SecretKey::from_slice(&scalar) {
                break secret;
            }
        };
        let mut auth = [0u8; 16];
        rand::fill(&mut auth[..]);
        let path = format!("/push/{}", uuid::Uuid::new_v4().simple());
        Self { secret, auth, endpoint: format!("{}{path}", receiver.origin), path }
    }

    fn public_point(&self) -> Vec<u8> {
        self.secret.public_key().to_encoded_point(false).as_bytes().to_vec()
    }

    /// The body of POST /me/push-subscriptions, as a browser's `toJSON()` gives it.
    pub fn subscription(&self) -> Value {
        json!({
            "endpoint": self.endpoint,
            "expirationTime": null,
            "keys": {
                "p256dh": URL_SAFE_NO_PAD.encode(self.public_point()),
                "auth": URL_SAFE_NO_PAD.encode(self.auth),
            }
        })
    }

    /// Decrypts an `aes128gcm` body (RFC 8188, with RFC 8291's key derivation).
    pub fn decrypt(&self, body: &[u8]) -> Vec<u8> {
        assert!(body.len() > 21, "a header at least");
        let salt = &body[..16];
        let record_size = u32::from_be_bytes(body[16..20].try_into().unwrap()) as usize;
        let id_len = body[20] as usize;
        let sender_public = &body[21..21 + id_len];
        let ciphertext = &body[21 + id_len..];
        assert!(ciphertext.len() <= record_size, "one record");
        let sender = p256::PublicKey::from_sec1_bytes(sender_public).expect("the keyid is the sender's key");
        let shared = p256::ecdh::diffie_hellman(self.secret.to_nonzero_scalar(), sender.as_affine());

        let mut key_info = b"WebPush: info\0".to_vec();
        key_info.extend_from_slice(&self.public_point());
        key_info.extend_from_slice(sender_public);
        let mut ikm = [0u8; 32];
        hkdf::Hkdf::<Sha256>::new(Some(&self.auth), &shared.raw_secret_bytes()[..])
            .expand(&key_info, &mut ikm)
            .unwrap();
        let prk = hkdf::Hkdf::<Sha256>::new(Some(salt), &ikm);
        let mut cek = [0u8; 16];
        prk.expand(b"Content-Encoding: aes128gcm\0", &mut cek).unwrap();
        let mut nonce = [0u8; 12];
        prk.expand(b"Content-Encoding: nonce\0", &mut nonce).unwrap();
        let mut plain = Aes128Gcm::new_from_slice(&cek)
            .unwrap()
            .decrypt(&Nonce::from(nonce), ciphertext)
            .expect("the body decrypts with the subscription's keys");
        // Padding: zeros after a 0x02 delimiter (the last record's).
        while plain.last() == Some(&0) {
            plain.pop();
        }
        assert_eq!(plain.pop(), Some(2), "the last record's delimiter");
        plain
    }

    /// Checks the push's VAPID header against the server's public key and
    /// this endpoint's origin, and returns the decrypted JSON.
    pub fn open(&self, push: &Received, server_key: &str, origin: &str) -> Value {
        let authorization = push.headers.get("authorization").expect("an Authorization header");
        let (token, key) = authorization
            .strip_prefix("vapid t=")
            .and_then(|rest| rest.split_once(", k="))
            .unwrap_or_else(|| panic!("vapid t=…, k=…: {authorization}"));
        assert_eq!(key, server_key, "k is the key of GET /push/public-key");
        let verifying = VerifyingKey::from_sec1_bytes(&URL_SAFE_NO_PAD.decode(key).unwrap()).unwrap();
        let (signed, signature) = token.rsplit_once('.').expect("a JWT");
        let signature = Signature::from_slice(&URL_SAFE_NO_PAD.decode(signature).unwrap()).expect("ES256");
        verifying.verify(signed.as_bytes(), &signature).expect("the JWT's ES256 signature verifies");
        let mut parts = signed.split('.');
        let header: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts.next().unwrap()).unwrap()).unwrap();
        assert_eq!(header["alg"], "ES256");
        let claims: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts.next().unwrap()).unwrap()).unwrap();
        assert_eq!(claims["aud"], origin, "aud is the endpoint's origin");
        let exp = claims["exp"].as_i64().expect("exp");
        let now = chrono::Utc::now().timestamp();
        assert!(exp > now && exp <= now + 24 * 3600, "exp within 24 hours: {exp} (now {now})");
        assert!(claims["sub"].as_str().is_some_and(|s| s.starts_with("mailto:") || s.starts_with("https:")));
        assert_eq!(push.headers.get("content-encoding").map(String::as_str), Some("aes128gcm"));
        serde_json::from_slice(&self.decrypt(&push.body)).expect("the payload is JSON")
    }
}

impl TestApp {
    /// The server's VAPID public key.
    pub async fn push_key(&self) -> String {
        let body = self.get("/push/public-key", None).await.expect(200);
        body["key"].as_str().expect("key").to_owned()
    }

    /// Subscribes `browser` for `user`; returns the subscription's id.
    pub async fn subscribe_push(&self, user: &TestUser, browser: &Browser) -> String {
        let body =
            self.post("/me/push-subscriptions", Some(&user.token), browser.subscription()).await.expect(201);
        body["id"].as_str().expect("id").to_owned()
    }
}
