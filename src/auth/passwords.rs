//! argon2id hashing on the blocking pool, at most N at once, so a flood of
//! logins queues here instead of starving every other request of CPU.

use std::sync::Arc;
use std::time::Duration;

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

use crate::error::{ApiError, ApiResult};

#[derive(Clone)]
pub struct Passwords {
    argon: Argon2<'static>,
    slots: Arc<Semaphore>,
    queue_timeout: Duration,
    /// Verified against when the user does not exist, so both cases take as long.
    dummy_hash: Arc<str>,
}

impl Passwords {
    pub fn new(max_concurrent: usize, queue_timeout: Duration) -> anyhow::Result<Self> {
        // OWASP's argon2id baseline: 19 MiB, 2 passes, 1 lane.
        let params = Params::new(19_456, 2, 1, None).map_err(|e| anyhow::anyhow!("argon2 params: {e}"))?;
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let dummy_hash = argon
            .hash_password(b"pilcrow dummy password")
            .map_err(|e| anyhow::anyhow!("argon2: {e}"))?
            .to_string();
        Ok(Self {
            argon,
            slots: Arc::new(Semaphore::new(max_concurrent.max(1))),
            queue_timeout,
            dummy_hash: dummy_hash.into(),
        })
    }

    /// A PHC string for `password`.
    pub async fn hash(&self, password: String) -> ApiResult<String> {
        let argon = self.argon.clone();
        self.on_blocking_pool(move || {
            argon
                .hash_password(password.as_bytes())
                .map(|h| h.to_string())
                .map_err(|e| ApiError::internal(anyhow::anyhow!("argon2: {e}")))
        })
        .await?
    }

    /// Whether `password` matches `hash`; with no hash (unknown user) it does
    /// the same work and answers false.
    pub async fn verify(&self, password: String, hash: Option<String>) -> ApiResult<bool> {
        let argon = self.argon.clone();
        let known = hash.is_some();
        let phc = hash.unwrap_or_else(|| self.dummy_hash.to_string());
        self.on_blocking_pool(move || {
            let ok = argon.verify_password(password.as_bytes(), phc.as_str()).is_ok();
            ok && known
        })
        .await
    }

    async fn on_blocking_pool<R: Send + 'static>(
        &self,
        work: impl FnOnce() -> R + Send + 'static,
    ) -> ApiResult<R> {
        let permit = tokio::time::timeout(self.queue_timeout, self.slots.clone().acquire_owned())
            .await
            .map_err(|_| ApiError::too_many_requests(1))?
            .map_err(ApiError::internal)?;
        tokio::task::spawn_blocking(move || {
            let result = work();
            drop(permit);
            result
        })
        .await
        .map_err(ApiError::internal)
    }
}
