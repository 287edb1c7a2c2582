//! `Idempotency-Key` on creating POSTs (API.md, "Abuse resistance and safe
//! retries"). With a key, the handler's work runs inside one transaction that
//! first takes a transaction-scoped advisory lock on (user, key) and looks the
//! key up, and last stores the response in `idempotency_keys`: the created
//! rows and the key row commit together or not at all. The handler's own
//! `transaction` calls become savepoints inside it.
//! - same key, same body, within 24 h → the stored status and body again,
//!   with `Idempotency-Replayed: true`, once the request has passed the
//!   route's own token and access checks: the handler's work runs as for a
//!   new request and is rolled back, and if it was refused for who is asking
//!   (401, 403, 404) that refusal is the answer, so a revoked token, a ban or
//!   leaving a private group ends replays as it ends new requests;
//! - same key, another body (or route) → 422 `idempotency_key_reused`;
//! - the lock held by a request still running → 409 `idempotency_key_in_flight`.
//!
//! A failed request stores nothing, so it can be retried with the same key.
//! Without the header nothing of this runs. Rows older than 24 h are ignored
//! and deleted by [`sweep`], which the server runs hourly.

use actix_web::http::StatusCode;
use actix_web::{HttpMessage, HttpRequest, HttpResponse};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Text};
use diesel_async::{AnsiTransactionManager, AsyncPgConnection, RunQueryDsl, TransactionManager};
use serde::Serialize;
use uuid::Uuid;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::http::BodyDigest;
use crate::schema::idempotency_keys as ik;

pub const HEADER: &str = "idempotency-key";
pub const REPLAYED: &str = "idempotency-replayed";
const KEEP_HOURS: i64 = 24;

fn cutoff() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now() - chrono::Duration::hours(KEEP_HOURS)
}

/// What a creating handler answers, in a form that can be stored and replayed.
pub struct Reply {
    status: StatusCode,
    location: Option<String>,
    body: serde_json::Value,
}

impl Reply {
    pub fn created(location: impl Into<String>, body: &impl Serialize) -> ApiResult<Self> {
        Ok(Self {
            status: StatusCode::CREATED,
            location: Some(location.into()),
            body: serde_json::to_value(body).map_err(ApiError::internal)?,
        })
    }

    /// 202: accepted, to be done in the background; `location` tells how it goes.
    pub fn accepted(location: impl Into<String>, body: &impl Serialize) -> ApiResult<Self> {
        Ok(Self { status: StatusCode::ACCEPTED, ..Self::created(location, body)? })
    }

    /// The answer of a request that carried no key.
    pub fn into_response(self) -> HttpResponse {
        self.response(false)
    }

    fn response(&self, replayed: bool) -> HttpResponse {
        let mut r = HttpResponse::build(self.status);
        if let Some(location) = &self.location {
            r.insert_header(("Location", location.as_str()));
        }
        if replayed {
            r.insert_header((REPLAYED, "true"));
        }
        r.json(&self.body)
    }
}

/// Runs a creating handler's `work` under the request's `Idempotency-Key`:
/// a replay or a conflict answers without running it; otherwise its reply is
/// stored with the key and both commit together. Without a key it just runs.
pub async fn once(
    conn: &mut AsyncPgConnection,
    req: &HttpRequest,
    caller: &Caller,
    work: impl AsyncFnOnce(&mut AsyncPgConnection) -> ApiResult<Reply>,
) -> ApiResult<HttpResponse> {
    let started = match start(conn, req, caller).await? {
        Start::Replay(replay) => return rehearse(conn, replay, work).await,
        Start::Go(started) => started,
    };
    let result = work(conn).await;
    started.finish(conn, result).await
}

/// Runs `work` inside the key's transaction (still open, its lock held) and
/// rolls it back: the caller gets the stored `replay` only if the request
/// would still be let in. The work's other refusals (a conflict with what it
/// created the first time, a closed session since) do not matter to a retry.
async fn rehearse(
    conn: &mut AsyncPgConnection,
    replay: HttpResponse,
    work: impl AsyncFnOnce(&mut AsyncPgConnection) -> ApiResult<Reply>,
) -> ApiResult<HttpResponse> {
    let result = work(conn).await;
    AnsiTransactionManager::rollback_transaction(conn).await?;
    match result {
        Err(e) if matches!(e.status.as_u16(), 401 | 403 | 404 | 410) => Err(e),
        _ => Ok(replay),
    }
}

/// A request's key, once its transaction has begun.
struct Started {
    key: Option<(Uuid, String, Vec<u8>)>,
}

enum Start {
    /// The stored answer of an earlier identical request; the transaction
    /// stays open for [`rehearse`].
    Replay(HttpResponse),
    /// Run the handler, then [`Started::finish`].
    Go(Started),
}

/// Whether the request carries an `Idempotency-Key` (422 for a malformed one).
pub fn requested(req: &HttpRequest) -> ApiResult<bool> {
    Ok(key_of(req)?.is_some())
}

fn key_of(req: &HttpRequest) -> ApiResult<Option<String>> {
    let Some(value) = req.headers().get(HEADER) else { return Ok(None) };
    let key = value
        .to_str()
        .ok()
        .filter(|k| (1..=255).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic()));
    match key {
        Some(k) => Ok(Some(k.to_owned())),
        None => Err(ApiError::invalid_field("Idempotency-Key", "must be 1–255 visible ASCII characters")),
    }
}

#[derive(QueryableByName)]
struct Locked {
    #[diesel(sql_type = Bool)]
    locked: bool,
}

/// Begins the request's transaction when it carries a key, and answers a
/// replay or a conflict when the key was seen.
#[tracing::instrument(skip_all)]
async fn start(conn: &mut AsyncPgConnection, req: &HttpRequest, caller: &Caller) -> ApiResult<Start> {
    let Some(key) = key_of(req)? else { return Ok(Start::Go(Started { key: None })) };
    let user_id = caller.unverified_key().0;
    // The route is part of the request: a key reused on another route is a reuse.
    let mut digest = req.path().as_bytes().to_vec();
    digest.extend(req.extensions().get::<BodyDigest>().map(|d| d.0.clone()).unwrap_or_default());
    let digest = crate::secrets::sha256_bytes(&digest);

    AnsiTransactionManager::begin_transaction(conn).await?;
    match lookup(conn, user_id, &key, &digest).await {
        Ok(None) => Ok(Start::Go(Started { key: Some((user_id, key, digest)) })),
        Ok(Some(replay)) => Ok(Start::Replay(replay)),
        Err(e) => {
            AnsiTransactionManager::rollback_transaction(conn).await?;
            Err(e)
        }
    }
}

async fn lookup(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    key: &str,
    digest: &[u8],
) -> ApiResult<Option<HttpResponse>> {
    let locked = crate::sql!("idempotency/lock_key.sql")
        .bind::<Text, _>(format!("{user_id}/{key}"))
        .bind::<BigInt, _>(0x1de3_u64 as i64)
        .get_result::<Locked>(conn)
        .await?;
    if !locked.locked {
        return Err(ApiError::conflict(
            ErrorCode::IdempotencyKeyInFlight,
            "A request with this Idempotency-Key is still being processed; retry shortly.",
        ));
    }
    let stored = ik::table
        .find((user_id, key))
        .filter(ik::created_at.gt(cutoff()))
        .select((ik::request_hash, ik::status, ik::location, ik::body))
        .first::<(Vec<u8>, i16, Option<String>, serde_json::Value)>(conn)
        .await
        .optional()?;
    let Some((hash, status, location, body)) = stored else { return Ok(None) };
    if hash != digest {
        return Err(ApiError::unprocessable(
            ErrorCode::IdempotencyKeyReused,
            "This Idempotency-Key was used with a different request; use a new key.",
        ));
    }
    let status = u16::try_from(status)
        .ok()
        .and_then(|s| StatusCode::from_u16(s).ok())
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("stored status {status}")))?;
    Ok(Some(Reply { status, location, body }.response(true)))
}

impl Started {
    /// Stores a success with its key and commits; rolls back a failure.
    #[tracing::instrument(skip_all)]
    async fn finish(self, conn: &mut AsyncPgConnection, result: ApiResult<Reply>) -> ApiResult<HttpResponse> {
        let Some((user_id, key, digest)) = self.key else { return result.map(|r| r.response(false)) };
        let reply = match result {
            Ok(reply) => reply,
            Err(e) => {
                AnsiTransactionManager::rollback_transaction(conn).await?;
                return Err(e);
            }
        };
        let stored = async {
            // An expired row of the same key gives way.
            diesel::delete(ik::table.find((user_id, &key))).execute(conn).await?;
            diesel::insert_into(ik::table)
                .values((
                    ik::user_id.eq(user_id),
                    ik::key.eq(&key),
                    ik::request_hash.eq(&digest),
                    ik::status.eq(reply.status.as_u16() as i16),
                    ik::location.eq(&reply.location),
                    ik::body.eq(&reply.body),
                ))
                .execute(conn)
                .await
        }
        .await;
        if let Err(e) = stored {
            AnsiTransactionManager::rollback_transaction(conn).await?;
            return Err(e.into());
        }
        AnsiTransactionManager::commit_transaction(conn).await?;
        Ok(reply.response(false))
    }
}

/// Deletes keys older than 24 hours.
#[tracing::instrument(skip_all)]
pub async fn sweep(conn: &mut AsyncPgConnection) -> ApiResult<usize> {
    Ok(diesel::delete(ik::table.filter(ik::created_at.lt(cutoff()))).execute(conn).await?)
}

/// The `Idempotency-Key` header, as the operations that take it declare it.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)] // documents a header; the handler reads it from the request
pub struct IdempotencyKey {
    /// Makes a retry safe: the same key with the same body within 24 hours
    /// answers the first response again (with `Idempotency-Replayed: true`)
    /// and creates nothing; with another body 422 `idempotency_key_reused`;
    /// while the first is still running 409 `idempotency_key_in_flight`.
    #[param(rename = "Idempotency-Key", min_length = 1, max_length = 255, pattern = r"^[\x21-\x7E]+$")]
    idempotency_key: Option<String>,
}
