//! GET /push/public-key, and the caller's push subscriptions:
//! POST, GET and DELETE /me/push-subscriptions.

use actix_web::{delete, get, post, web, HttpResponse};
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bytea, Text, Uuid as SqlUuid};
use diesel::QueryableByName;
use diesel_async::RunQueryDsl;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::addresses::{self, Refusal, MAX_ENDPOINT_BYTES};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorCode, FieldError, Problem};
use crate::http::Json;
use crate::schema::push_subscriptions;
use crate::state::AppState;
use crate::users::models as users;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(public_key)
        .service(create_push_subscription)
        .service(list_push_subscriptions)
        .service(delete_push_subscription);
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PublicKey {
    /// The VAPID application server key: the uncompressed P-256 public
    /// point, base64url without padding (`applicationServerKey` of
    /// `pushManager.subscribe`).
    key: String,
}

/// The key browsers subscribe with. It changes only when the server's
/// VAPID key is replaced, which ends every subscription made with the old one.
#[utoipa::path(tag = "notifications", responses((status = 200, body = PublicKey)))]
#[get("/push/public-key")]
#[tracing::instrument(skip_all)]
pub async fn public_key(state: AppState) -> web::Json<PublicKey> {
    web::Json(PublicKey { key: state.push.key.public_key().to_owned() })
}

/// A browser's `PushSubscription` as its `toJSON()` gives it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSubscription {
    /// The push service's URL for this browser: `https`, on a host that
    /// resolves only to public addresses.
    #[schema(max_length = 2048)]
    pub endpoint: String,
    /// Ignored (browsers send `null`).
    #[serde(rename = "expirationTime", default)]
    #[schema(nullable)]
    pub expiration_time: Option<f64>,
    pub keys: SubscriptionKeys,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionKeys {
    /// The browser's P-256 public key (SEC1 point), base64url.
    #[schema(max_length = 200)]
    pub p256dh: String,
    /// The browser's 16-byte authentication secret, base64url.
    #[schema(max_length = 100)]
    pub auth: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SubscriptionId {
    id: Uuid,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SubscriptionView {
    id: Uuid,
    endpoint: String,
    created_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SubscriptionList {
    /// Oldest first; at most `push.max_subscriptions_per_user`.
    items: Vec<SubscriptionView>,
}

#[derive(QueryableByName)]
struct Inserted {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
}

fn decode(field: &str, value: &str) -> Result<Vec<u8>, FieldError> {
    let trimmed = value.trim_end_matches('=');
    URL_SAFE_NO_PAD
        .decode(trimmed)
        .or_else(|_| URL_SAFE.decode(value))
        .map_err(|_| FieldError::new(field, "must be base64url"))
}

/// The keys as stored: the uncompressed point and the 16-byte secret.
fn keys(keys: &SubscriptionKeys) -> ApiResult<(Vec<u8>, Vec<u8>)> {
    let mut errors = Vec::new();
    let point = decode("keys.p256dh", &keys.p256dh).and_then(|bytes| {
        p256::PublicKey::from_sec1_bytes(&bytes)
            .map(|key| {
                use p256::elliptic_curve::sec1::ToEncodedPoint;
                key.to_encoded_point(false).as_bytes().to_vec()
            })
            .map_err(|_| FieldError::new("keys.p256dh", "must be a P-256 public key"))
    });
    let auth = decode("keys.auth", &keys.auth).and_then(|bytes| {
        if bytes.len() == 16 {
            Ok(bytes)
        } else {
            Err(FieldError::new("keys.auth", "must be 16 bytes"))
        }
    });
    match (point, auth) {
        (Ok(point), Ok(auth)) => return Ok((point, auth)),
        (point, auth) => {
            errors.extend(point.err());
            errors.extend(auth.err());
        }
    }
    Err(ApiError::validation(errors))
}

fn refused(refusal: Refusal) -> ApiError {
    match refusal {
        Refusal::Malformed(why) => ApiError::invalid_field("endpoint", why),
        Refusal::Insecure => {
            ApiError::unprocessable(ErrorCode::PushEndpointInsecure, "the push endpoint must be https")
        }
        Refusal::NotPublic => ApiError::unprocessable(
            ErrorCode::PushEndpointNotPublic,
            "the push endpoint's host is, or resolves to, an address that is not public",
        ),
        Refusal::Unresolvable => ApiError::unprocessable(
            ErrorCode::PushEndpointUnresolvable,
            "the push endpoint's host does not resolve",
        ),
    }
}

/// Subscribe a browser to the caller's notifications. The same endpoint
/// again updates its keys (same id, 201 again); one another account held
/// moves to the caller.
#[utoipa::path(tag = "notifications", security(("bearer" = [])), request_body = NewSubscription,
    responses(
        (status = 201, body = SubscriptionId),
        (status = 401, body = Problem),
        (status = 422, description = "`validation_failed` (keys that do not decode, a malformed endpoint), \
            `push_endpoint_insecure`, `push_endpoint_not_public`, `push_endpoint_unresolvable`, or \
            `too_many_push_subscriptions`", body = Problem),
    ))]
#[post("/me/push-subscriptions")]
#[tracing::instrument(skip_all)]
pub async fn create_push_subscription(
    state: AppState,
    caller: Caller,
    body: Json<NewSubscription>,
) -> ApiResult<HttpResponse> {
    let body = body.0;
    if body.endpoint.len() > MAX_ENDPOINT_BYTES {
        return Err(ApiError::invalid_field("endpoint", format!("at most {MAX_ENDPOINT_BYTES} bytes")));
    }
    let (p256dh, auth) = keys(&body.keys)?;
    // Resolved before a connection is taken: DNS may take seconds.
    let endpoint =
        addresses::check_endpoint(&body.endpoint, state.push.allow_private).await.map_err(refused)?;
    let mut conn = state.conn().await?;
    let user = users::current(&mut conn, &caller).await?;
    let inserted: Option<Inserted> = crate::sql!("routes/subscribe.sql")
        .bind::<SqlUuid, _>(user.id)
        .bind::<Text, _>(endpoint.as_str())
        .bind::<Bytea, _>(&p256dh)
        .bind::<Bytea, _>(&auth)
        .bind::<BigInt, _>(state.push.max_subscriptions)
        .get_result(&mut conn)
        .await
        .optional()?;
    let Some(inserted) = inserted else {
        return Err(ApiError::unprocessable(
            ErrorCode::TooManyPushSubscriptions,
            format!("at most {} push subscriptions per user: remove one first", state.push.max_subscriptions),
        ));
    };
    Ok(HttpResponse::Created().json(SubscriptionId { id: inserted.id }))
}

/// The caller's push subscriptions.
#[utoipa::path(tag = "notifications", security(("bearer" = [])),
    responses((status = 200, body = SubscriptionList), (status = 401, body = Problem)))]
#[get("/me/push-subscriptions")]
#[tracing::instrument(skip_all)]
pub async fn list_push_subscriptions(
    state: AppState,
    caller: Caller,
) -> ApiResult<web::Json<SubscriptionList>> {
    let mut conn = state.conn().await?;
    let user = users::current(&mut conn, &caller).await?;
    let rows: Vec<(Uuid, String, DateTime<Utc>)> = push_subscriptions::table
        .filter(push_subscriptions::user_id.eq(user.id))
        .order((push_subscriptions::created_at, push_subscriptions::id))
        .select((push_subscriptions::id, push_subscriptions::endpoint, push_subscriptions::created_at))
        .load(&mut conn)
        .await?;
    let items = rows
        .into_iter()
        .map(|(id, endpoint, created_at)| SubscriptionView { id, endpoint, created_at })
        .collect();
    Ok(web::Json(SubscriptionList { items }))
}

/// Unsubscribe: nothing more is pushed to that browser.
#[utoipa::path(tag = "notifications", security(("bearer" = [])),
    responses((status = 204, description = "Removed"), (status = 401, body = Problem),
              (status = 404, description = "No such subscription of the caller's", body = Problem)))]
#[delete("/me/push-subscriptions/{subscription_id}")]
#[tracing::instrument(skip_all, fields(id = %*path))]
pub async fn delete_push_subscription(
    state: AppState,
    caller: Caller,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let mut conn = state.conn().await?;
    let user = users::current(&mut conn, &caller).await?;
    let deleted = diesel::delete(
        push_subscriptions::table
            .filter(push_subscriptions::id.eq(*path))
            .filter(push_subscriptions::user_id.eq(user.id)),
    )
    .execute(&mut conn)
    .await?;
    if deleted == 0 {
        return Err(ApiError::not_found());
    }
    Ok(HttpResponse::NoContent().finish())
}
