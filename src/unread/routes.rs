//! PUT /sessions/{session_id}/reads: raise the caller's read marks.

use std::collections::BTreeMap;

use actix_web::{put, web, HttpResponse};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::access::{self, Scope};
use crate::auth::Caller;
use crate::domain::limits::READ_MARKS;
use crate::error::{ApiError, ApiResult, FieldError, Problem};
use crate::http::Json;
use crate::schema::{comments, threads};
use crate::state::AppState;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(mark_read);
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadMarks {
    /// Thread id → the newest comment (latest `created_at`) the reader has
    /// seen in it. At most 500 threads per request.
    #[schema(schema_with = marks_schema)]
    pub threads: BTreeMap<Uuid, Uuid>,
}

/// An object of thread ids to comment ids, with the server's size limit.
fn marks_schema() -> utoipa::openapi::schema::Object {
    use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
    let uuid = || {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid)))
    };
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .property_names(Some(uuid()))
        .additional_properties(Some(uuid()))
        .max_properties(Some(READ_MARKS))
        .build()
}

/// Mark threads read up to a comment each. Marks only move forward: an older
/// comment than the current mark changes nothing, so requests may arrive in
/// any order.
#[utoipa::path(tag = "unread", security(("bearer" = [])), request_body = ReadMarks,
    responses(
        (status = 204, description = "Marked"),
        (status = 404, body = Problem),
        (status = 422, description = "More than 500 threads, or a comment that is not in the named thread of this session (`errors[].field` is `threads.<thread_id>`)", body = Problem),
    ))]
#[put("/sessions/{session_id}/reads")]
#[tracing::instrument(skip_all, fields(id = %*path, threads = body.threads.len()))]
pub async fn mark_read(
    state: AppState,
    caller: Caller,
    path: web::Path<Uuid>,
    body: Json<ReadMarks>,
) -> ApiResult<HttpResponse> {
    let session_id = *path;
    let marks = body.0.threads;
    if marks.len() > READ_MARKS {
        return Err(ApiError::invalid_field("threads", format!("at most {READ_MARKS} threads per request")));
    }
    let mut conn = state.conn().await?;
    let access = access::resolve(&mut conn, Some(&caller), Scope::Session(session_id)).await?;
    access.require_read()?;
    let user_id = access.user_id.ok_or_else(ApiError::not_found)?;
    if marks.is_empty() {
        return Ok(HttpResponse::NoContent().finish());
    }
    // Each comment with its thread, where the caller can see that thread.
    let comment_ids: Vec<Uuid> = marks.values().copied().collect();
    let mut query = comments::table
        .inner_join(threads::table)
        .filter(comments::id.eq_any(&comment_ids))
        .filter(threads::session_id.eq(session_id))
        .select((comments::id, comments::thread_id, comments::seq))
        .into_boxed();
    if !access.is_moderator() {
        query = query.filter(threads::hidden.eq(false));
    }
    let found: BTreeMap<Uuid, (Uuid, i64)> =
        query.load::<(Uuid, Uuid, i64)>(&mut conn).await?.into_iter().map(|(c, t, s)| (c, (t, s))).collect();
    let mut errors = Vec::new();
    let mut thread_ids = Vec::with_capacity(marks.len());
    let mut seqs = Vec::with_capacity(marks.len());
    // BTreeMap order: concurrent requests of one reader lock marks in the same order.
    for (thread_id, comment_id) in &marks {
        match found.get(comment_id) {
            Some((t, seq)) if t == thread_id => {
                thread_ids.push(*thread_id);
                seqs.push(*seq);
            }
            _ => errors.push(FieldError::new(
                format!("threads.{thread_id}"),
                "is not a comment of that thread in this session",
            )),
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    crate::sql!("routes/raise_marks.sql")
        .bind::<SqlUuid, _>(user_id)
        .bind::<SqlUuid, _>(session_id)
        .bind::<Array<SqlUuid>, _>(&thread_ids)
        .bind::<Array<BigInt>, _>(&seqs)
        .execute(&mut conn)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
