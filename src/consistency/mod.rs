//! Read-your-writes across replicas, without a shared store.
//!
//! The protocol, stated once:
//! - Every response carries `Pilcrow-Consistency`, a position in the
//!   primary's log ([`token`]). A write's is read from the primary after
//!   the write committed; a read's is a position the server that answered
//!   had reached once the answer was read, and never older than the token
//!   the request sent.
//! - A read that sends a token is answered by a replica that has replayed
//!   that position (waiting up to `database.replica_wait_ms` for one), or by
//!   the primary. A read without one may go to any replica no further behind
//!   than `database.replica_max_lag_ms`. A client that echoes the latest
//!   token it got therefore never sees the past: not its own writes undone,
//!   not an `ETag` or list older than one it saw.
//! - A replica that fails during a read is set aside and the read runs again
//!   on the primary; a replica down or behind costs speed, never an error.
//! - Only handlers that read through `AppState::read` may be sent to a
//!   replica; everything else, live event pumps and `LISTEN` included, uses
//!   the primary.

pub mod position;
pub mod replication;
pub mod token;

use std::cell::RefCell;
use std::sync::{Arc, Mutex};

use actix_web::dev::ServiceRequest;
use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use actix_web::HttpMessage;

pub use replication::{Replication, Served, Target};
pub use token::Token;

pub const HEADER: HeaderName = HeaderName::from_static("pilcrow-consistency");

/// A request's side of the protocol: the token it sent, and what its
/// database work ran on.
#[derive(Debug, Default)]
pub struct Requested {
    pub token: Option<Token>,
    served: Mutex<Served>,
}

impl Requested {
    /// Notes where the request's work ran; a write stays a write.
    pub fn served(&self, target: Target) {
        if let Ok(mut served) = self.served.lock() {
            *served = match (*served, target) {
                (Served::Write, _) => Served::Write,
                (_, Target::Primary) => Served::Primary,
                // A request that read from the primary too has seen the
                // primary's state, which the replica's position may not cover.
                (Served::Primary, Target::Replica(_)) => Served::Primary,
                (_, Target::Replica(index)) => Served::Replica(index),
            }
        }
    }

    fn what_served(&self) -> Served {
        self.served.lock().map(|s| *s).unwrap_or(Served::Primary)
    }
}

/// Reads the request's token and notes it in the request for the work
/// (`AppState::read`); `writes` for any method but GET, HEAD and OPTIONS.
pub fn requested(req: &ServiceRequest, writes: bool) -> Arc<Requested> {
    // A token that cannot be read is treated as one of another cluster:
    // the primary answers, which is never wrong, and the response carries a
    // good token. Refusing it would put its 400 before every other answer
    // (401, 404, 405) of a request that is otherwise fine.
    let token = req
        .headers()
        .get(&HEADER)
        .map(|value| value.to_str().ok().and_then(Token::parse).unwrap_or(Token::UNREADABLE));
    let requested = Arc::new(Requested {
        token,
        served: Mutex::new(if writes { Served::Write } else { Served::Nothing }),
    });
    req.extensions_mut().insert(requested.clone());
    requested
}

/// Gives the response its token, once the request's work is done.
pub async fn stamp(replication: &Replication, requested: &Requested, headers: &mut HeaderMap) {
    if let Some(value) =
        replication.token_after(requested.what_served(), requested.token).await.and_then(header)
    {
        headers.insert(HEADER, value);
    }
}

/// The header of `token`. Responses in a row mostly carry the same token
/// (reads answered by the primary carry its last known position), so each
/// worker keeps the last one it wrote.
fn header(token: Token) -> Option<HeaderValue> {
    thread_local! {
        static LAST: RefCell<Option<(Token, HeaderValue)>> = const { RefCell::new(None) };
    }
    LAST.with_borrow_mut(|last| match last {
        Some((kept, value)) if *kept == token => Some(value.clone()),
        _ => {
            let value = HeaderValue::from_str(&token.to_string()).ok()?;
            *last = Some((token, value.clone()));
            Some(value)
        }
    })
}
