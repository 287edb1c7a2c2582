//! Problem responses for errors the framework produces itself: unknown
//! routes, wrong methods, bad query strings and path parameters.

use actix_web::dev::ServiceResponse;
use actix_web::http::{header, StatusCode};
use actix_web::middleware::ErrorHandlerResponse;
use actix_web::{web, HttpRequest, ResponseError};

use crate::error::{ApiError, PROBLEM_JSON};

pub async fn unknown_route() -> Result<actix_web::HttpResponse, ApiError> {
    Err(ApiError::new(StatusCode::NOT_FOUND, "not_found", "No such route."))
}

async fn method_not_allowed() -> Result<actix_web::HttpResponse, ApiError> {
    Err(ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "This route does not accept that method.",
    ))
}

/// A resource that answers 405 (not the app's 404) to methods it lacks.
pub fn resource(path: &str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(method_not_allowed))
}

pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err, _req: &HttpRequest| {
        ApiError::bad_request("invalid_query", format!("Invalid query string: {err}")).into()
    })
}

/// A path parameter that does not parse (say, a malformed id) names nothing.
pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|_err, _req: &HttpRequest| ApiError::not_found().into())
}

/// Middleware hook: any error response that is not yet problem+json becomes one.
pub fn bare_error_to_problem<B>(res: ServiceResponse<B>) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let already =
        res.headers().get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes() == PROBLEM_JSON.as_bytes());
    if already {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let (code, detail) = match status {
        StatusCode::NOT_FOUND => ("not_found", "No such resource."),
        StatusCode::METHOD_NOT_ALLOWED => ("method_not_allowed", "This route does not accept that method."),
        StatusCode::PAYLOAD_TOO_LARGE => ("payload_too_large", "The request body is too large."),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            ("unsupported_media_type", "Send the request body as application/json.")
        }
        StatusCode::BAD_REQUEST => ("bad_request", "The request could not be read."),
        StatusCode::REQUEST_TIMEOUT => ("request_timeout", "The request took too long to arrive."),
        s if s.is_server_error() => ("internal_error", "Something went wrong on our side."),
        _ => ("error", "The request failed."),
    };
    let allow = res.headers().get(header::ALLOW).cloned();
    let (req, _) = res.into_parts();
    let mut response = ApiError::new(status, code, detail).error_response();
    if let Some(allow) = allow {
        response.headers_mut().insert(header::ALLOW, allow);
    }
    Ok(ErrorHandlerResponse::Response(ServiceResponse::new(req, response).map_into_right_body()))
}

/// Says the charset on JSON responses, as the contract spells the type:
/// `application/json; charset=utf-8`.
pub async fn json_charset(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody>,
) -> Result<ServiceResponse<impl actix_web::body::MessageBody>, actix_web::Error> {
    let mut res = next.call(req).await?;
    let is_bare_json =
        res.headers().get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes() == b"application/json");
    if is_bare_json {
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static("application/json; charset=utf-8"),
        );
    }
    Ok(res)
}
