//! Problem responses for errors the framework produces itself: unknown
//! routes, wrong methods, bad query strings and path parameters.

use actix_web::dev::ResourceDef;
use actix_web::dev::ServiceResponse;
use actix_web::http::{header, StatusCode};
use actix_web::middleware::ErrorHandlerResponse;
use actix_web::{web, HttpRequest, ResponseError};

use crate::error::{ApiError, ErrorCode, PROBLEM_JSON};

/// Every documented route's path with the methods it answers, taken from the
/// OpenAPI document (which the router's registrations also produce), so an
/// unmatched request can tell "wrong method" from "no such route".
#[derive(Debug, Default)]
pub struct RouteTable(Vec<(ResourceDef, Vec<&'static str>)>);

impl RouteTable {
    pub fn from_openapi(api: &utoipa::openapi::OpenApi) -> Self {
        let routes = api
            .paths
            .paths
            .iter()
            .map(|(path, item)| {
                let methods = [
                    ("GET", item.get.is_some()),
                    ("PUT", item.put.is_some()),
                    ("POST", item.post.is_some()),
                    ("DELETE", item.delete.is_some()),
                    ("PATCH", item.patch.is_some()),
                ];
                let allowed = methods.iter().filter(|(_, has)| *has).map(|(m, _)| *m).collect();
                (ResourceDef::new(path.as_str()), allowed)
            })
            .collect();
        Self(routes)
    }

    /// The methods a path answers, in the order `Allow` lists them; empty when
    /// no route has this path.
    fn allowed(&self, path: &str) -> Vec<&'static str> {
        let mut allowed: Vec<&'static str> = Vec::new();
        for (def, methods) in &self.0 {
            if def.is_match(path) {
                allowed.extend(methods.iter().filter(|m| !allowed.contains(m)).collect::<Vec<_>>());
            }
        }
        allowed
    }
}

/// The app's default service: 405 with `Allow` (RFC 9110 §15.5.6) for a known
/// path asked with a method it lacks, else 404.
pub async fn unknown_route(req: HttpRequest, table: web::Data<RouteTable>) -> actix_web::HttpResponse {
    let allowed = table.allowed(req.path());
    if allowed.is_empty() {
        return ApiError::new(StatusCode::NOT_FOUND, ErrorCode::NotFound, "No such route.").error_response();
    }
    let allow = allowed.join(", ");
    let mut response = ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        ErrorCode::MethodNotAllowed,
        format!("This route accepts {allow}."),
    )
    .error_response();
    if let Ok(value) = header::HeaderValue::from_str(&allow) {
        response.headers_mut().insert(header::ALLOW, value);
    }
    response
}

pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err, _req: &HttpRequest| {
        ApiError::bad_request(ErrorCode::InvalidQuery, format!("Invalid query string: {err}")).into()
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
        StatusCode::NOT_FOUND => (ErrorCode::NotFound, "No such resource."),
        StatusCode::METHOD_NOT_ALLOWED => {
            (ErrorCode::MethodNotAllowed, "This route does not accept that method.")
        }
        StatusCode::PAYLOAD_TOO_LARGE => (ErrorCode::PayloadTooLarge, "The request body is too large."),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            (ErrorCode::UnsupportedMediaType, "Send the request body as application/json.")
        }
        StatusCode::BAD_REQUEST => (ErrorCode::BadRequest, "The request could not be read."),
        StatusCode::REQUEST_TIMEOUT => (ErrorCode::RequestTimeout, "The request took too long to arrive."),
        s if s.is_server_error() => (ErrorCode::InternalError, "Something went wrong on our side."),
        _ => (ErrorCode::Error, "The request failed."),
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
pub fn json_charset(headers: &mut header::HeaderMap) {
    if headers.get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes() == b"application/json") {
        headers.insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static("application/json; charset=utf-8"),
        );
    }
}
