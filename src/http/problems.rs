//! Problem responses for errors the framework produces itself: unknown
//! routes, wrong methods, bad query strings and path parameters.

use actix_web::dev::ServiceResponse;
use actix_web::http::{header, StatusCode};
use actix_web::middleware::ErrorHandlerResponse;
use actix_web::{web, HttpRequest, ResponseError};

use crate::error::{ApiError, ErrorCode, PROBLEM_JSON};

pub async fn unknown_route() -> Result<actix_web::HttpResponse, ApiError> {
    Err(ApiError::new(StatusCode::NOT_FOUND, ErrorCode::NotFound, "No such route."))
}

/// A route's resource that answers a method it lacks with 405 and an
/// `Allow` header naming the ones it has (RFC 9110 §15.5.6), instead of the
/// app's 404. Build it with the method functions, then `cfg.service(...)` it.
pub struct Endpoint {
    resource: actix_web::Resource,
    allow: Vec<&'static str>,
}

pub fn endpoint(path: &str) -> Endpoint {
    Endpoint { resource: web::resource(path), allow: Vec::new() }
}

macro_rules! method {
    ($name:ident, $route:ident, $method:literal) => {
        pub fn $name<F, Args>(mut self, handler: F) -> Self
        where
            F: actix_web::Handler<Args>,
            Args: actix_web::FromRequest + 'static,
            F::Output: actix_web::Responder + 'static,
        {
            self.resource = self.resource.route(web::$route().to(handler));
            self.allow.push($method);
            self
        }
    };
}

impl Endpoint {
    method!(get, get, "GET");
    method!(post, post, "POST");
    method!(put, put, "PUT");
    method!(patch, patch, "PATCH");
    method!(delete, delete, "DELETE");

    pub fn app_data<U: 'static>(mut self, data: U) -> Self {
        self.resource = self.resource.app_data(data);
        self
    }
}

impl actix_web::dev::HttpServiceFactory for Endpoint {
    fn register(self, config: &mut actix_web::dev::AppService) {
        let allow = self.allow.join(", ");
        let not_allowed = move || {
            let allow = allow.clone();
            async move {
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
        };
        self.resource.default_service(web::to(not_allowed)).register(config)
    }
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
