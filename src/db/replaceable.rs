//! The replaceable schema: every trigger and SQL function, kept in one file,
//! `src/db/replaceable/triggers.sql` (whose header states the write protocol),
//! and applied after the migrations by [`crate::db::migrate::run`].
//!
//! Re-creating triggers takes strong locks on live tables, so the file is
//! applied only when its SHA-256 differs from the one recorded on schema `r`,
//! or when a migration has just run (it may have changed a table the
//! triggers read). An unchanged restart costs one catalog read.

use diesel::connection::LoadConnection;
use diesel::pg::Pg;
use diesel::sql_types::{Nullable, Text};
use diesel::{QueryableByName, RunQueryDsl};
use sha2::{Digest, Sha256};

/// The file's text, compiled in.
pub const TRIGGERS_SQL: &str = include_str!("replaceable/triggers.sql");

/// What [`apply`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The file was (re)applied.
    Applied,
    /// The recorded hash matched and no migration ran: nothing was touched.
    Unchanged,
}

/// `sha256:<hex>` of the file, as recorded in `COMMENT ON SCHEMA r`.
pub fn fingerprint() -> String {
    let digest = Sha256::digest(TRIGGERS_SQL.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

#[derive(QueryableByName)]
struct Recorded {
    #[diesel(sql_type = Nullable<Text>)]
    fingerprint: Option<String>,
}

/// The fingerprint recorded on schema `r`, if the schema exists and has one.
pub fn recorded<C: LoadConnection<Backend = Pg>>(conn: &mut C) -> diesel::QueryResult<Option<String>> {
    let rows: Vec<Recorded> = diesel::sql_query(
        "SELECT obj_description(oid, 'pg_namespace') AS fingerprint FROM pg_namespace WHERE nspname = 'r'",
    )
    .load(conn)?;
    Ok(rows.into_iter().next().and_then(|r| r.fingerprint))
}

/// Applies the file unless it is already in place. Must run inside the
/// migration transaction, under the migration advisory lock
/// (`src/db/migrate.rs`), so that no writer sees the tables without triggers.
pub fn apply<C: LoadConnection<Backend = Pg>>(
    conn: &mut C,
    migrations_ran: bool,
) -> diesel::QueryResult<Outcome> {
    let wanted = fingerprint();
    if !migrations_ran && recorded(conn)?.as_deref() == Some(wanted.as_str()) {
        return Ok(Outcome::Unchanged);
    }
    conn.batch_execute(TRIGGERS_SQL)?;
    conn.batch_execute(&format!("COMMENT ON SCHEMA r IS '{wanted}'"))?;
    Ok(Outcome::Applied)
}
