//! Access tokens this thread has verified. A signed-in reader sends the same
//! token with every request, and checking it again each time (base64,
//! HMAC-SHA256, the claims' JSON and their strings) cost 8–9 µs of the
//! server's CPU on each of a member's counts, about a seventh of it
//! (benches/RESULTS.md, "A member's reads beside the peer"). Envoy's
//! `jwt_authn` keeps such a cache for the same reason.
//!
//! A token is found only by its whole text and only under the keys that
//! verified it, and its expiry is checked again on every use. Nothing else of
//! a signed token can change: whether it has been revoked since (its version)
//! is the database's to say on every request, cached or not. Only tokens
//! that passed are kept, so forgeries cannot fill it.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use uuid::Uuid;

/// What a request needs of a verified access token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    pub sub: Uuid,
    pub ver: i32,
    pub exp: i64,
}

/// At most this many tokens are kept per thread (a server worker), a few
/// hundred KiB; when it is full the cache is emptied and fills again.
const KEPT: usize = 4096;

thread_local! {
    static KEPT_TOKENS: RefCell<HashMap<Box<str>, (u64, Verified)>> = RefCell::new(HashMap::new());
}

/// A name for one set of keys, so that a token verified under one set is
/// never taken as verified under another.
pub fn keys_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// `token` as `keys` verified it on this thread, if they did.
pub fn find(keys: u64, token: &str) -> Option<Verified> {
    KEPT_TOKENS.with_borrow(|kept| match kept.get(token) {
        Some(&(by, verified)) if by == keys => Some(verified),
        _ => None,
    })
}

/// Remembers that `keys` verified `token`.
pub fn keep(keys: u64, token: &str, verified: Verified) {
    KEPT_TOKENS.with_borrow_mut(|kept| {
        if kept.len() >= KEPT {
            kept.clear();
        }
        kept.insert(token.into(), (keys, verified));
    });
}
