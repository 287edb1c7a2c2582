//! Event tickets: browsers' `EventSource` cannot send `Authorization`, so a
//! signed-in reader trades their token for a ticket that works as
//! `?ticket=` on one session's events route (or, issued without a session,
//! on the caller's notification stream) and nowhere else. Random 256
//! bits, stored only as SHA-256; reusable until it expires (the browser
//! reconnects on its own), and dead as soon as the user's tokens are
//! revoked: it carries the token version, which the access policy checks.

use chrono::{DateTime, Utc};
use diesel::sql_types::{Bytea, Integer, Timestamptz, Uuid as SqlUuid};
use diesel::{OptionalExtension, QueryableByName};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::error::ApiResult;
use crate::secrets;

/// The contract's ceiling on a ticket's life.
pub const MAX_TTL_SECS: i64 = 900;

pub async fn issue(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    token_version: i32,
    session_id: Option<Uuid>,
    ttl_secs: i64,
) -> ApiResult<String> {
    let ticket = secrets::random_token(32);
    crate::sql!("tickets/issue.sql")
        .bind::<Bytea, _>(secrets::sha256(&ticket))
        .bind::<SqlUuid, _>(user_id)
        .bind::<diesel::sql_types::Nullable<SqlUuid>, _>(session_id)
        .bind::<Integer, _>(token_version)
        .bind::<diesel::sql_types::Double, _>(ttl_secs as f64)
        .execute(conn)
        .await?;
    Ok(ticket)
}

#[derive(Debug, QueryableByName)]
pub struct Ticket {
    #[diesel(sql_type = SqlUuid)]
    pub user_id: Uuid,
    /// `None`: a ticket for the caller's notification stream.
    #[diesel(sql_type = diesel::sql_types::Nullable<SqlUuid>)]
    pub session_id: Option<Uuid>,
    #[diesel(sql_type = Integer)]
    pub token_version: i32,
    #[diesel(sql_type = Timestamptz)]
    pub expires_at: DateTime<Utc>,
}

/// The unexpired ticket with this text, whichever session it is for.
pub async fn find(conn: &mut AsyncPgConnection, ticket: &str) -> ApiResult<Option<Ticket>> {
    Ok(crate::sql!("tickets/redeem.sql")
        .bind::<Bytea, _>(secrets::sha256(ticket))
        .get_result(conn)
        .await
        .optional()?)
}
