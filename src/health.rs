use actix_web::get;
use actix_web::HttpResponse;
use diesel_async::RunQueryDsl;
use serde_json::json;

use crate::error::{ApiError, ApiResult, Problem};
use crate::state::AppState;

/// The process is up.
#[utoipa::path(tag = "operations", responses((status = 200, description = "Up")))]
#[get("/health")]
#[tracing::instrument(skip_all)]
pub async fn health() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// The database answers.
#[utoipa::path(tag = "operations",
    responses((status = 200, description = "Ready"), (status = 503, description = "Database unavailable", body = Problem)))]
#[get("/ready")]
#[tracing::instrument(skip_all)]
pub async fn ready(state: AppState) -> ApiResult<HttpResponse> {
    let mut conn = state.conn().await?;
    crate::sql!("health/ready.sql").execute(&mut conn).await.map_err(ApiError::unavailable)?;
    Ok(HttpResponse::Ok().json(json!({"status": "ready"})))
}
