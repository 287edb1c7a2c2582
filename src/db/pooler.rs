//! What the configured URLs lead to, checked at start so that a pooler the
//! server cannot work through is refused in words instead of answering
//! "ready" and then failing every request.
//!
//! Behind a transaction pooler (PgBouncer's `pool_mode = transaction`) one
//! client connection's transactions run on whichever server connection is
//! free. The pool's statements are prepared once per connection and named,
//! so they must survive that move (PgBouncer 1.21+ with
//! `max_prepared_statements` does this; older ones do not), and nothing
//! session-level works there at all: the migration lock and `LISTEN` use
//! `database.direct_url`, which must therefore reach PostgreSQL directly or
//! through a session pooler.
//!
//! The probe: client A reads its backend's pid, client B opens a transaction
//! and reads its own, and A reads its pid again. Directly or through a
//! session pooler A keeps its backend and B never shares it; through a
//! transaction pooler B is handed the server connection A just released, or
//! A moves to another. Where that happens, a statement A prepared before is
//! executed to see whether the pooler carries it.

use std::time::Duration;

use anyhow::{bail, Context};
use tokio_postgres::Client;

use super::Connector;
use crate::config::DatabaseSettings;

/// How long one step of the probe may take: a pooler with a single server
/// connection would make A wait for B's transaction for ever.
const STEP: Duration = Duration::from_secs(5);
const ROUNDS: usize = 4;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pooling {
    /// PostgreSQL itself, or a pooler that keeps a client on one server connection.
    Session,
    /// Consecutive transactions may run on different server connections;
    /// `prepared` says whether named statements follow the client.
    Transaction { prepared: bool },
}

async fn step<T, F>(what: &str, f: F) -> anyhow::Result<T>
where
    F: std::future::Future<Output = Result<T, tokio_postgres::Error>>,
{
    match tokio::time::timeout(STEP, f).await {
        Ok(result) => result.with_context(|| what.to_owned()),
        Err(_) => bail!("{what}: no answer within {} s", STEP.as_secs()),
    }
}

type Messages =
    futures_util::stream::BoxStream<'static, Result<tokio_postgres::AsyncMessage, tokio_postgres::Error>>;

/// Polls a bare client's connection until it closes.
fn drive(mut messages: Messages) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move { while futures_util::StreamExt::next(&mut messages).await.is_some() {} })
}

/// A refused connection, in words where the cause is a pooler's.
fn refused(message: &str) -> anyhow::Error {
    if message.contains("unsupported startup parameter") {
        anyhow::anyhow!(
            "the pooler refuses the startup parameter `options`, which carries the server-side timeouts: \
             add `ignore_startup_parameters = options` to its configuration and set the timeouts on the \
             database role instead (ALTER ROLE … SET statement_timeout = …) ({message})"
        )
    } else {
        anyhow::anyhow!("connecting to the database: {message}")
    }
}

/// The backend's pid in one round trip (the simple protocol: a pooler
/// without prepared statements would lose an extended-protocol statement
/// between its parse and its execution).
async fn backend_pid(client: &Client) -> anyhow::Result<i32> {
    let messages = step("reading the backend pid", client.simple_query("SELECT pg_backend_pid()")).await?;
    messages
        .iter()
        .find_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(row) => row.get(0).and_then(|pid| pid.parse().ok()),
            _ => None,
        })
        .context("reading the backend pid: no row")
}

/// How the server behind `connector` pools connections (see the module comment).
pub async fn probe(connector: &Connector) -> anyhow::Result<Pooling> {
    let (a, a_messages) = connector.bare_client().await.map_err(|e| refused(&e))?;
    let (b, b_messages) = connector.bare_client().await.map_err(|e| refused(&e))?;
    let drivers = [drive(a_messages), drive(b_messages)];
    let result = probe_with(&a, &b).await;
    drop((a, b));
    for driver in drivers {
        driver.abort();
    }
    result
}

async fn probe_with(a: &Client, b: &Client) -> anyhow::Result<Pooling> {
    // A few rounds: a pooler that happens to hand A its old server connection
    // back once will not do so every time while B holds another.
    for _ in 0..ROUNDS {
        let first = backend_pid(a).await?;
        step("opening a transaction", b.batch_execute("BEGIN")).await?;
        let held = backend_pid(b).await?;
        let second = backend_pid(a).await?;
        step("closing the transaction", b.batch_execute("ROLLBACK")).await?;
        tracing::debug!(first, held, second, "pooler probe");
        if first != second || held == first {
            return Ok(Pooling::Transaction { prepared: carries_prepared_statements(a, b).await? });
        }
    }
    Ok(Pooling::Session)
}

/// Whether a statement A prepared can still be run after B took the server
/// connection A prepared it on (and A so had to move).
async fn carries_prepared_statements(a: &Client, b: &Client) -> anyhow::Result<bool> {
    for _ in 0..ROUNDS {
        let statement = step("preparing a statement", a.prepare("SELECT 1::int4")).await?;
        step("opening a transaction", b.batch_execute("BEGIN")).await?;
        let ran = tokio::time::timeout(STEP, a.query_one(&statement, &[])).await;
        step("closing the transaction", b.batch_execute("ROLLBACK")).await?;
        match ran {
            Ok(Ok(_)) => {}
            Ok(Err(e)) if e.code() == Some(&tokio_postgres::error::SqlState::INVALID_SQL_STATEMENT_NAME) => {
                return Ok(false)
            }
            Ok(Err(e)) => return Err(e).context("running a prepared statement"),
            Err(_) => bail!("running a prepared statement: no answer within {} s", STEP.as_secs()),
        }
    }
    Ok(true)
}

/// Refuses, in one sentence, URLs the server cannot work through: a
/// `direct_url` that is a transaction pooler, and a `url` whose pooler does
/// not carry prepared statements from one transaction to the next.
/// Where the server-side timeouts did not arrive (a pooler that ignores the
/// `options` startup parameter drops them), says so.
pub async fn check(
    pooled: &Connector,
    direct: &Connector,
    same: bool,
    settings: &DatabaseSettings,
) -> anyhow::Result<()> {
    if let Pooling::Transaction { .. } = probe(direct).await.context("probing database.direct_url")? {
        let which =
            if same { "database.url (used as database.direct_url too)" } else { "database.direct_url" };
        bail!(
            "{which} leads to a transaction pooler, where migrations' lock and LISTEN cannot work: \
             set database.direct_url to PostgreSQL itself (or a session-mode pooler) and keep the pooler in database.url"
        );
    }
    if !same {
        if let Pooling::Transaction { prepared: false } =
            probe(pooled).await.context("probing database.url")?
        {
            bail!(
                "database.url leads to a transaction pooler that does not keep prepared statements across \
                 transactions: use pool_mode = session, or PgBouncer 1.21 or later with max_prepared_statements \
                 set (e.g. 200)"
            );
        }
    }
    let arrived = statement_timeout_ms(pooled).await?;
    if arrived != settings.statement_timeout_ms {
        tracing::warn!(
            configured_ms = settings.statement_timeout_ms,
            arrived_ms = arrived,
            "the server-side timeouts did not reach the pooled connections (a pooler ignores their startup \
             parameter); set them on the database role: ALTER ROLE … SET statement_timeout = …, lock_timeout, \
             idle_in_transaction_session_timeout"
        );
    }
    Ok(())
}

async fn statement_timeout_ms(connector: &Connector) -> anyhow::Result<u64> {
    let (client, messages) = connector.bare_client().await.map_err(|e| refused(&e))?;
    let driver = drive(messages);
    let row = step(
        "reading statement_timeout",
        client.query_one("SELECT setting::int8 FROM pg_settings WHERE name = 'statement_timeout'", &[]),
    )
    .await;
    driver.abort();
    Ok(u64::try_from(row?.get::<_, i64>(0)).unwrap_or(0))
}
