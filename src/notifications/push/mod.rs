//! Web Push: browsers subscribe (`routes`), and each change the notifier
//! makes to an unread notification is pushed to its recipient's browsers
//! (`sender`), encrypted per RFC 8291 and signed per RFC 8292 (`keys`), only
//! to push services on public addresses (`addresses`).

pub mod addresses;
pub mod keys;
pub mod routes;
pub mod sender;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;

use crate::config::{PushSettings, Settings};

/// What the routes and the pusher share.
pub struct Push {
    pub key: keys::VapidKey,
    pub allow_private: bool,
    pub max_subscriptions: i64,
    pub settings: PushSettings,
    client: reqwest::Client,
}

impl Push {
    pub fn new(settings: &Settings) -> anyhow::Result<Self> {
        let push = &settings.push;
        let mut roots = rustls::RootCertStore::empty();
        let (added, _) = roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
        if added == 0 {
            tracing::warn!("no trusted CA certificates found: pushes to https push services will fail");
        }
        let tls =
            rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()?
                .with_root_certificates(roots)
                .with_no_client_auth();
        let client = reqwest::Client::builder()
            .use_preconfigured_tls(tls)
            .dns_resolver(Arc::new(addresses::PublicOnly { allow_private: push.allow_private_endpoints }))
            // A push service answers; it never sends us elsewhere, and no
            // proxy from the environment sees the endpoints.
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .connect_timeout(Duration::from_millis(push.request_timeout_ms.min(5_000)))
            .timeout(Duration::from_millis(push.request_timeout_ms))
            .user_agent(concat!("pilcrow/", env!("CARGO_PKG_VERSION")))
            .build()
            .context("building the push client")?;
        Ok(Self {
            key: settings.vapid_key()?,
            allow_private: push.allow_private_endpoints,
            max_subscriptions: push.max_subscriptions_per_user.max(1),
            settings: push.clone(),
            client,
        })
    }
}
