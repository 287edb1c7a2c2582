//! `HEAD` wherever `GET` is answered (RFC 9110 §9.3.2), whatever the router
//! registers: the request is routed as a `GET`, and HTTP/1's encoder, which
//! remembers that the request was a `HEAD`, sends the headers (with the
//! length the body would have) and no body.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;

pub async fn as_get(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if req.method() == Method::HEAD {
        req.head_mut().method = Method::GET;
    }
    next.call(req).await
}
