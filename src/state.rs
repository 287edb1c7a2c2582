//! What handlers reach, in two lifetimes: [`SharedState`] is built once at
//! start-up and shared by every worker; [`WorkerState`] is built on each
//! worker's thread (its own pool and post queue: see `crate::db::Pools`).
//! They are registered as app data separately. [`AppState`], the handlers'
//! extractor, takes the worker's, which points at the shared one: a request
//! then touches only its worker's reference count, never one that every
//! worker's thread bumps (a cache line bouncing between cores per request).

use std::future::{ready, Ready};
use std::ops::Deref;

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use diesel_async::AsyncPgConnection;

use crate::auth::passwords::Passwords;
use crate::auth::tokens::TokenKeys;
use crate::consistency::replication::{self, Fallback, Target};
use crate::consistency::Requested;
use crate::db::{pool, Conn, Pool};
use crate::error::{ApiError, ApiResult};
use crate::ratelimit::RateLimits;

/// Built once, shared by all workers.
pub struct SharedState {
    /// For work that belongs to no request (sweeps, live events).
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
    /// The inbox's live streams on this instance (src/notifications/live.rs).
    pub inbox: std::sync::Arc<crate::notifications::live::Inbox>,
    /// Responses kept by version: session counts and paragraphs, comment
    /// pages (src/versions/kept.rs).
    pub kept_responses: std::sync::Arc<crate::versions::kept::KeptResponses>,
    /// CPU-heavy request work, bounded and rationed per client (src/cpu.rs).
    pub cpu: crate::cpu::CpuQueue,
    /// Matches one search reads at most (`search.max_matches`).
    pub search_max_matches: i64,
    /// Sent as `X-Poll-Interval` with the inbox (`notifications.client_poll_interval_secs`).
    pub notification_poll_secs: u64,
    /// Web Push: the VAPID key, subscription rules and the pusher's client.
    pub push: std::sync::Arc<crate::notifications::push::Push>,
    /// Notification mail, address verification and unsubscribe (src/mailing/).
    pub mailing: std::sync::Arc<crate::mailing::Mailing>,
    /// Wakes this instance's account deletion job (src/users/deletion/job.rs).
    pub deletions: std::sync::Arc<tokio::sync::Notify>,
    /// Personal data exports: their builder and download links (src/users/exports/).
    pub exports: std::sync::Arc<crate::users::exports::Exports>,
    /// Where reads go, and the consistency tokens (src/consistency/).
    pub replication: std::sync::Arc<crate::consistency::Replication>,
}

/// One per worker, built on its thread.
pub struct WorkerState {
    shared: web::Data<SharedState>,
    /// Connections opened by this worker's runtime.
    pub pool: Pool,
    /// Its connections to each replica, in the order of `replica_urls`.
    pub replicas: Vec<Pool>,
    /// Comment posts of this worker, batched (src/comments/post_queue.rs).
    pub posts: crate::comments::post_queue::PostQueue,
}

impl WorkerState {
    pub fn new(shared: web::Data<SharedState>, pool: Pool, replicas: Vec<Pool>) -> Self {
        WorkerState {
            shared,
            posts: crate::comments::post_queue::PostQueue::new(pool.clone()),
            pool,
            replicas,
        }
    }
}

/// A handler's state: the shared part (through `Deref`) and its worker's.
#[derive(Clone)]
pub struct AppState {
    worker: web::Data<WorkerState>,
    /// The request's consistency token and where its reads ran.
    requested: Option<Arc<Requested>>,
}

impl AppState {
    /// A pooled connection of this worker to the primary, or 503 once the
    /// checkout timeout passes.
    pub async fn conn(&self) -> ApiResult<Conn> {
        if let Some(requested) = &self.requested {
            requested.served(Target::Primary);
        }
        pool::conn(&self.worker.pool).await
    }

    /// Runs a read on a replica when the request's token allows one (see
    /// src/consistency/), else on the primary. A read the replica fails
    /// with 503 (gone mid-read, or a query cancelled by recovery) is run
    /// again on the primary: `work` must only read.
    pub async fn read<T>(&self, work: impl AsyncFn(&mut AsyncPgConnection) -> ApiResult<T>) -> ApiResult<T> {
        let token = self.requested.as_ref().and_then(|r| r.token);
        match self.replication.route(token).await {
            Ok(Target::Replica(index)) => {
                if let Some(result) = self.read_on_replica(index, &work).await {
                    return result;
                }
                replication::count_fallback(Fallback::Failed);
            }
            Ok(Target::Primary) => {}
            Err(why) => replication::count_fallback(why),
        }
        replication::count_read(Target::Primary);
        let generation = pool::schema_generation();
        let mut conn = self.conn().await?;
        match work(&mut conn).await {
            // A migration changed a table under one of this connection's
            // statements: once more, on a connection opened after it.
            Err(_) if pool::schema_generation() != generation => {
                drop(conn);
                work(&mut *self.conn().await?).await
            }
            result => result,
        }
    }

    /// `None` when the replica failed and the primary should run it.
    async fn read_on_replica<T>(
        &self,
        index: usize,
        work: &impl AsyncFn(&mut AsyncPgConnection) -> ApiResult<T>,
    ) -> Option<ApiResult<T>> {
        let pool = self.worker.replicas.get(index)?;
        let outcome = match pool::conn(pool).await {
            Ok(mut conn) => match work(&mut conn).await {
                Err(e) if e.status == StatusCode::SERVICE_UNAVAILABLE => Err(e.detail),
                result => Ok(result),
            },
            Err(e) => Err(e.to_string()),
        };
        match outcome {
            Ok(result) => {
                if let Some(requested) = &self.requested {
                    requested.served(Target::Replica(index));
                }
                replication::count_read(Target::Replica(index));
                Some(result)
            }
            Err(error) => {
                tracing::warn!(replica = index, %error, "a replica failed a read; the primary answers it");
                self.replication.set_aside(index);
                None
            }
        }
    }

    pub fn posts(&self) -> &crate::comments::post_queue::PostQueue {
        &self.worker.posts
    }
}

impl Deref for AppState {
    type Target = SharedState;

    fn deref(&self) -> &SharedState {
        &self.worker.shared
    }
}

impl FromRequest for AppState {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let worker = req.app_data::<web::Data<WorkerState>>().cloned();
        let requested = req.extensions().get::<Arc<Requested>>().cloned();
        ready(match worker {
            Some(worker) => Ok(AppState { worker, requested }),
            None => Err(ApiError::internal(anyhow::anyhow!("the app's state is not registered"))),
        })
    }
}
