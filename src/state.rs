use crate::auth::passwords::Passwords;
use crate::auth::tokens::TokenKeys;
use crate::db::{pool, Conn, Pool};
use crate::error::ApiResult;
use crate::ratelimit::RateLimits;

/// What every handler can reach, shared by all workers.
#[derive(Clone)]
pub struct AppState {
    pub pool: Pool,
    pub tokens: TokenKeys,
    pub passwords: Passwords,
    pub limits: std::sync::Arc<RateLimits>,
    /// zxcvbn score a new password needs (`auth.min_password_score`).
    pub min_password_score: u8,
    pub mailer: crate::mail::Mailer,
    /// Where a reset mail's link points (`mail.reset_link`).
    pub reset_link: String,
    /// The body limit of essay imports, read after the caller is authorised.
    pub essay_body_limit: usize,
    /// `server.public_base_url` without a trailing slash: permanent IRIs
    /// (W3C annotation export) are built from it, never from `Host`.
    pub public_base_url: String,
    /// Live session events: feeds, streams and their limits (src/events/).
    pub events: std::sync::Arc<crate::events::EventHub>,
    /// Session counts and paragraphs kept by version (src/sessions/answers.rs).
    pub answers: std::sync::Arc<crate::sessions::answers::Answers>,
    /// Comment posts of this worker, batched (src/threads/post_queue.rs).
    pub posts: crate::threads::post_queue::PostQueue,
    /// CPU-heavy request work, bounded and rationed per client (src/cpu.rs).
    pub cpu: crate::cpu::CpuQueue,
    /// Matches one search reads at most (`search.max_matches`).
    pub search_max_matches: i64,
}

impl AppState {
    /// A pooled connection, or 503 once the checkout timeout passes.
    pub async fn conn(&self) -> ApiResult<Conn> {
        pool::conn(&self.pool).await
    }
}
