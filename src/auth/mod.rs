//! Accounts' credentials: password hashing, access and refresh tokens, the
//! extractors that tell who is calling, and the /auth routes.

pub mod device;
pub mod extract;
pub mod passwords;
pub mod reset;
pub mod routes;
pub mod store;
pub mod strength;
pub mod tokens;
pub mod verified;

pub use extract::{Caller, MaybeCaller};
