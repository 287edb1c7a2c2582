//! Schema changes at start-up: pending migrations (tables only, under
//! `migrations/`), then the replaceable schema of triggers and functions
//! (`src/db/replaceable/triggers.sql`, see `super::replaceable`).

use diesel::connection::SimpleConnection;
use diesel::Connection;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_async::AsyncPgConnection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use super::replaceable;

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// Any fixed key will do; it only has to be the same for every instance.
const MIGRATION_LOCK_KEY: i64 = 0x0070_696c_6372_6f77; // "pilcrow"

/// Runs pending migrations, then applies the replaceable schema
/// (`src/db/replaceable/triggers.sql`) if it changed, all in one transaction
/// and holding a session advisory lock, so instances starting together take
/// turns instead of racing and no writer ever sees tables without triggers.
pub async fn run(url: &str) -> anyhow::Result<Vec<String>> {
    // Over TLS like every other connection; the harness then blocks, so off the async workers.
    let conn = super::connect(url).await?;
    tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<String>> {
        let mut conn = AsyncConnectionWrapper::<AsyncPgConnection>::from(conn);
        conn.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})"))?;
        // One transaction for all of it (each migration becomes a savepoint).
        // A future migration that cannot run inside a transaction (CREATE
        // INDEX CONCURRENTLY) would have to be run before this one.
        let result = conn.transaction(|conn| -> anyhow::Result<Vec<String>> {
            let applied: Vec<String> = conn
                .run_pending_migrations(MIGRATIONS)
                .map(|versions| versions.iter().map(ToString::to_string).collect())
                .map_err(|e| anyhow::anyhow!("running migrations: {e}"))?;
            let outcome = replaceable::apply(conn, !applied.is_empty())
                .map_err(|e| anyhow::anyhow!("applying src/db/replaceable/triggers.sql: {e}"))?;
            match outcome {
                replaceable::Outcome::Applied => tracing::info!("applied src/db/replaceable/triggers.sql"),
                replaceable::Outcome::Unchanged => tracing::debug!("triggers unchanged, not re-applied"),
            }
            Ok(applied)
        });
        conn.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})"))?;
        result
    })
    .await?
}

/// Reverts every migration (the migration round-trip test uses it). The last
/// migration's down.sql drops schema `r` before restoring the old triggers.
#[cfg(feature = "test-support")]
pub async fn revert_all(url: &str) -> anyhow::Result<()> {
    let conn = super::connect(url).await?;
    tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        let mut conn = AsyncConnectionWrapper::<AsyncPgConnection>::from(conn);
        conn.revert_all_migrations(MIGRATIONS).map_err(|e| anyhow::anyhow!("reverting migrations: {e}"))?;
        Ok(())
    })
    .await?
}
