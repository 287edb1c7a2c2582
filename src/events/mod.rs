//! Live session events: a log written by database triggers in each
//! writer's transaction (src/db/replaceable/triggers.sql, "LIVE SESSION
//! EVENTS"), read gap-free by `(xid, id)` below the settled horizon
//! ([`cursor`]), rendered per viewer at delivery ([`render`]), fanned out by
//! one pump per live session per instance ([`hub`]) to per-reader streams
//! ([`stream`]) that their response bodies run ([`body`]), with instances
//! woken by a batched NOTIFY sent off the write path ([`notify`]).

pub mod body;
pub mod hub;
pub mod log;
pub mod notify;
pub mod render;
pub mod routes;
pub mod stream;
pub mod tickets;

pub use hub::EventHub;
pub use routes::routes;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::web;

use crate::state::SharedState;

/// Tells the hub that a write succeeded here, so the notifier reads the
/// log's tail: every handler that writes is covered without calling
/// anything (a write that logged no event costs one cheap read).
pub async fn touch_on_write(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let writes = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let state = writes.then(|| req.app_data::<web::Data<SharedState>>().cloned()).flatten();
    let res = next.call(req).await?;
    if let Some(state) = state {
        if res.status().is_success() {
            state.events.touch();
        }
    }
    Ok(res)
}
