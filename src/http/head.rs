//! `HEAD` wherever `GET` is answered (RFC 9110 §9.3.2), whatever the router
//! registers: the request is routed as a `GET`, and HTTP/1's encoder, which
//! remembers that the request was a `HEAD`, sends the headers (with the
//! length the body would have) and no body.

use actix_web::dev::ServiceRequest;
use actix_web::http::Method;

pub fn as_get(req: &mut ServiceRequest) {
    if req.method() == Method::HEAD {
        req.head_mut().method = Method::GET;
    }
}
