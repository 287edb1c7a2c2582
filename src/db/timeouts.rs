//! Server-side limits set on every pooled connection, so a stuck lock or a
//! forgotten transaction cannot hold a pool slot for ever.

use diesel::result::{DatabaseErrorKind, Error as DieselError};

use crate::config::DatabaseSettings;

/// The `options` startup parameter that sets the three limits (0 = none).
pub fn startup_options(settings: &DatabaseSettings) -> String {
    format!(
        "-c statement_timeout={} -c lock_timeout={} -c idle_in_transaction_session_timeout={}",
        settings.statement_timeout_ms, settings.lock_timeout_ms, settings.idle_in_transaction_timeout_ms
    )
}

/// Whether PostgreSQL cancelled the statement for one of those limits
/// (SQLSTATE 57014 query_canceled, 55P03 lock_not_available, 25P03).
/// diesel-async reports them as `Unknown`, so the message is what tells.
pub fn is_timeout(e: &DieselError) -> bool {
    match e {
        DieselError::DatabaseError(DatabaseErrorKind::Unknown, info) => {
            let m = info.message();
            m.contains("statement timeout")
                || m.contains("lock timeout")
                || m.contains("idle-in-transaction timeout")
                || m.contains("could not obtain lock")
        }
        _ => false,
    }
}
