use diesel::connection::SimpleConnection;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_async::AsyncPgConnection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// Any fixed key will do; it only has to be the same for every instance.
const MIGRATION_LOCK_KEY: i64 = 0x0070_696c_6372_6f77; // "pilcrow"

/// Runs pending migrations, holding a session advisory lock so instances
/// starting together take turns instead of racing.
pub async fn run(url: &str) -> anyhow::Result<Vec<String>> {
    // Over TLS like every other connection; the harness then blocks, so off the async workers.
    let conn = super::connect(url).await?;
    tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<String>> {
        let mut conn = AsyncConnectionWrapper::<AsyncPgConnection>::from(conn);
        conn.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})"))?;
        let applied = conn
            .run_pending_migrations(MIGRATIONS)
            .map(|versions| versions.iter().map(ToString::to_string).collect())
            .map_err(|e| anyhow::anyhow!("running migrations: {e}"));
        conn.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})"))?;
        applied
    })
    .await?
}

/// Reverts every migration (used by the migration round-trip test).
pub async fn revert_all(url: &str) -> anyhow::Result<()> {
    let conn = super::connect(url).await?;
    tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        let mut conn = AsyncConnectionWrapper::<AsyncPgConnection>::from(conn);
        conn.revert_all_migrations(MIGRATIONS).map_err(|e| anyhow::anyhow!("reverting migrations: {e}"))?;
        Ok(())
    })
    .await?
}
