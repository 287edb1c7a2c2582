//! argon2id hashing on the blocking pool, at most N at once, so a flood of
//! logins queues here instead of starving every other request of CPU. The
//! queue is shared, so it is also rationed: each client address and each
//! account may have only a few hashes waiting or running at once (the rest
//! get 429 at once), and one client's flood cannot fill it for everyone.
//! Password strength (zxcvbn, up to half a second of CPU for a long
//! password) goes through the same queue.

use std::sync::Arc;
use std::time::Duration;

use crate::cpu::CpuQueue;
pub use crate::cpu::Ticket;
use crate::error::{ApiError, ApiResult};
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};

#[derive(Clone)]
pub struct Passwords {
    argon: Argon2<'static>,
    params: Params,
    /// Hashes (and strength checks) waiting or running, rationed per client.
    queue: CpuQueue,
    /// Verified against when the user does not exist, so both cases take as long.
    dummy_hash: Arc<str>,
}

/// OWASP's argon2id baseline: 19 MiB, 2 passes, 1 lane.
pub fn configured_params() -> anyhow::Result<Params> {
    Params::new(19_456, 2, 1, None).map_err(|e| anyhow::anyhow!("argon2 params: {e}"))
}

impl Passwords {
    pub fn new(max_concurrent: usize, queue_timeout: Duration, per_client: usize) -> anyhow::Result<Self> {
        Self::with_params(max_concurrent, queue_timeout, per_client, configured_params()?)
    }

    pub fn with_params(
        max_concurrent: usize,
        queue_timeout: Duration,
        per_client: usize,
        params: Params,
    ) -> anyhow::Result<Self> {
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
        let dummy_hash = argon
            .hash_password(b"pilcrow dummy password")
            .map_err(|e| anyhow::anyhow!("argon2: {e}"))?
            .to_string();
        Ok(Self {
            argon,
            params,
            queue: CpuQueue::new(max_concurrent, queue_timeout, per_client),
            dummy_hash: dummy_hash.into(),
        })
    }

    /// Takes a place in the queue for each key (e.g. `addr:…`, `account:…`),
    /// or 429 when any of them already has its share waiting.
    pub fn admit(&self, keys: Vec<String>) -> ApiResult<Ticket> {
        self.queue.admit(keys)
    }

    /// A PHC string for `password`.
    pub async fn hash(&self, ticket: Ticket, password: String) -> ApiResult<String> {
        let argon = self.argon.clone();
        self.on_blocking_pool(ticket, move || {
            argon
                .hash_password(password.as_bytes())
                .map(|h| h.to_string())
                .map_err(|e| ApiError::internal(anyhow::anyhow!("argon2: {e}")))
        })
        .await?
    }

    /// Whether `password` matches `hash`; with no hash (unknown user) it does
    /// the same work and answers false.
    pub async fn verify(&self, ticket: Ticket, password: String, hash: Option<String>) -> ApiResult<bool> {
        let argon = self.argon.clone();
        let known = hash.is_some();
        let phc = hash.unwrap_or_else(|| self.dummy_hash.to_string());
        self.on_blocking_pool(ticket, move || {
            let ok = argon.verify_password(password.as_bytes(), phc.as_str()).is_ok();
            ok && known
        })
        .await
    }

    /// Whether `phc` was made with other parameters (or algorithm) than the
    /// configured ones, so it should be rehashed at the next successful login.
    pub fn needs_rehash(&self, phc: &str) -> bool {
        let Ok(parsed) = PasswordHash::new(phc) else { return true };
        if parsed.algorithm.as_str() != "argon2id" {
            return true;
        }
        match Params::try_from(&parsed) {
            Ok(p) => {
                p.m_cost() != self.params.m_cost()
                    || p.t_cost() != self.params.t_cost()
                    || p.p_cost() != self.params.p_cost()
            }
            Err(_) => true,
        }
    }

    /// Other CPU-heavy password work (zxcvbn) through the same queue, so it
    /// shares its bound and its per-client rationing.
    pub async fn run<R: Send + 'static>(
        &self,
        ticket: Ticket,
        work: impl FnOnce() -> R + Send + 'static,
    ) -> ApiResult<R> {
        self.on_blocking_pool(ticket, work).await
    }

    async fn on_blocking_pool<R: Send + 'static>(
        &self,
        ticket: Ticket,
        work: impl FnOnce() -> R + Send + 'static,
    ) -> ApiResult<R> {
        let result = self.queue.run(&ticket, work).await;
        drop(ticket);
        result
    }
}
