use actix_web::get;
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa::IntoParams;
use uuid::Uuid;

use super::models::{self as export, Iris, CONTENT_TYPE, CONTEXT, PAGE_SIZE};
use crate::access::{self, Scope};
use crate::auth::MaybeCaller;
use crate::error::{ApiError, ApiResult, ErrorCode, Problem};
use crate::sessions::models as sessions_db;
use crate::state::AppState;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(session_annotations).service(get_annotation);
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AnnotationPageParams {
    /// A page IRI's cursor, as given in `next`; `first` for the first page.
    /// Without it, the collection (with its first page embedded).
    pub page: Option<String>,
}

fn ld_json(body: Value) -> HttpResponse {
    HttpResponse::Ok().content_type(CONTENT_TYPE).body(body.to_string())
}

/// The session's annotations as an AnnotationCollection with its first
/// AnnotationPage embedded; `?page=` gives one AnnotationPage. One
/// Annotation per comment the caller can see (members: no hidden or deleted
/// content), in the order the comments were written.
#[utoipa::path(security((), ("bearer" = [])), tag = "export", params(AnnotationPageParams),
    responses(
        (status = 200, description = "AnnotationCollection, or AnnotationPage with `?page=`",
         content_type = "application/ld+json; profile=\"http://www.w3.org/ns/anno.jsonld\"", body = Object),
        (status = 400, description = "`invalid_cursor`", body = Problem),
        (status = 404, body = Problem),
    ))]
#[get("/sessions/{session_id}/annotations")]
#[tracing::instrument(skip_all, fields(id = %*path))]
pub async fn session_annotations(
    state: AppState,
    caller: MaybeCaller,
    path: web::Path<Uuid>,
    query: web::Query<AnnotationPageParams>,
) -> ApiResult<HttpResponse> {
    let session_id = *path;
    let after = match query.page.as_deref() {
        None | Some("first") => None,
        Some(raw) => Some(raw.parse::<Uuid>().map_err(|_| {
            ApiError::bad_request(ErrorCode::InvalidCursor, "The page is not one this collection gave out.")
        })?),
    };
    let mut conn = state.conn().await?;
    let access = access::resolve(&mut conn, caller.0.as_ref(), Scope::Session(session_id)).await?;
    access.require_read()?;
    let everything = access.is_moderator();
    let session = sessions_db::find(&mut conn, session_id).await?;
    let iris = Iris(&state.public_base_url);
    let (total, start_index) = export::counts(&mut conn, session_id, everything, after).await?;
    let mut rows = export::page(&mut conn, session_id, everything, after).await?;
    let more = rows.len() as i64 > PAGE_SIZE;
    rows.truncate(PAGE_SIZE as usize);
    let collection_id = iris.collection(session_id);
    let mut page = json!({
        "id": iris.page(session_id, after),
        "type": "AnnotationPage",
        "partOf": {"id": collection_id, "label": session.title, "total": total},
        "startIndex": start_index,
        "items": rows.iter().map(|r| export::annotation(&iris, r)).collect::<Vec<_>>(),
    });
    if let Some(obj) = page.as_object_mut() {
        if more {
            if let Some(last) = rows.last() {
                obj.insert("next".to_owned(), json!(iris.page(session_id, Some(last.id))));
            }
        }
    }
    if query.page.is_some() {
        if let Some(obj) = page.as_object_mut() {
            obj.insert("@context".to_owned(), json!(CONTEXT));
        }
        return Ok(ld_json(page));
    }
    Ok(ld_json(json!({
        "@context": CONTEXT,
        "id": collection_id,
        "type": "AnnotationCollection",
        "label": session.title,
        "total": total,
        "first": page,
    })))
}

/// One comment as a W3C Annotation.
#[utoipa::path(security((), ("bearer" = [])), tag = "export",
    responses(
        (status = 200, description = "Annotation",
         content_type = "application/ld+json; profile=\"http://www.w3.org/ns/anno.jsonld\"", body = Object),
        (status = 404, body = Problem),
    ))]
#[get("/annotations/{comment_id}")]
#[tracing::instrument(skip_all, fields(id = %*path))]
pub async fn get_annotation(
    state: AppState,
    caller: MaybeCaller,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let mut conn = state.conn().await?;
    let access = access::resolve(&mut conn, caller.0.as_ref(), Scope::Comment(*path)).await?;
    access.require_read()?;
    let row = export::one(&mut conn, *path, access.is_moderator()).await?.ok_or_else(ApiError::not_found)?;
    Ok(ld_json(export::annotation(&Iris(&state.public_base_url), &row)))
}
