//! Every connection to PostgreSQL (pool, migrations, command line) is made
//! here, with TLS by rustls. `sslmode` and `sslrootcert` in the URL mean what
//! they mean to libpq; tokio-postgres knows neither `verify-*` nor
//! `sslrootcert`, so both are taken out of the URL and applied here.

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;

use anyhow::{bail, Context};
use diesel::ConnectionError;
use diesel_async::AsyncPgConnection;
use tokio_postgres::config::{Host, SslMode as WireMode};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::url::{self, SslMode};
use super::verify;

/// What it takes to open a connection: parsed once, used for every one.
#[derive(Clone)]
pub struct Connector {
    config: tokio_postgres::Config,
    tls: MakeRustlsConnect,
    mode: SslMode,
    root_cert: Option<PathBuf>,
}

impl Connector {
    /// `options` is the `options` startup parameter added to the URL's own
    /// (`-c name=value ...`), e.g. the pool's timeouts.
    pub fn new(database_url: &str, options: Option<&str>) -> anyhow::Result<Self> {
        let parsed = url::split_ssl(database_url)?;
        let mut config = tokio_postgres::Config::from_str(&parsed.rest).context("invalid database URL")?;
        if let Some(extra) = options {
            let joined = match config.get_options() {
                Some(own) if !own.is_empty() => format!("{own} {extra}"),
                _ => extra.to_owned(),
            };
            config.options(joined);
        }
        let only_sockets = config.get_hosts().iter().all(|h| !matches!(h, Host::Tcp(_)));
        // PostgreSQL never speaks TLS on a unix socket; libpq does not ask.
        let mode = if only_sockets { SslMode::Disable } else { parsed.mode };
        config.ssl_mode(match mode {
            SslMode::Disable => WireMode::Disable,
            SslMode::Prefer => WireMode::Prefer,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => WireMode::Require,
        });
        let client_config = verify::client_config(mode, parsed.root_cert.as_deref())?;
        Ok(Self { config, tls: MakeRustlsConnect::new(client_config), mode, root_cert: parsed.root_cert })
    }

    pub async fn connect(&self) -> diesel::ConnectionResult<AsyncPgConnection> {
        let (client, connection) = self
            .config
            .connect(self.tls.clone())
            .await
            .map_err(|e| ConnectionError::BadConnection(self.explain(&e)))?;
        AsyncPgConnection::try_from_client_and_connection(client, connection).await
    }

    /// A bare tokio-postgres client, with the same TLS and options as every
    /// pooled connection: the one LISTEN connection of an instance
    /// (src/events/notify.rs) and the start-up probe (src/db/pooler.rs). Its
    /// server messages, notifications among them, arrive on the returned
    /// stream, which also drives the connection: poll it, or the client stalls.
    pub async fn bare_client(
        &self,
    ) -> Result<
        (
            tokio_postgres::Client,
            futures_util::stream::BoxStream<
                'static,
                Result<tokio_postgres::AsyncMessage, tokio_postgres::Error>,
            >,
        ),
        String,
    > {
        let (client, mut connection) =
            self.config.connect(self.tls.clone()).await.map_err(|e| self.explain(&e))?;
        let messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
        Ok((client, Box::pin(messages)))
    }

    /// The driver's error, with what a refused certificate means in words.
    fn explain(&self, e: &tokio_postgres::Error) -> String {
        let mut message = e.to_string();
        let mut source = std::error::Error::source(e);
        while let Some(inner) = source {
            message = format!("{message}: {inner}");
            source = inner.source();
        }
        let roots = match &self.root_cert {
            Some(path) => format!("the CA in sslrootcert={}", path.display()),
            None => "the system's trusted CAs".to_owned(),
        };
        if message.contains("UnknownIssuer") || message.contains("BadSignature") {
            format!("sslmode={}: the server's certificate is not signed by {roots} ({message})", self.mode)
        } else if message.contains("NotValidForName") || message.contains("not valid for name") {
            format!(
                "sslmode={}: the server's certificate does not name the host connected to ({message})",
                self.mode
            )
        } else {
            message
        }
    }
}

/// One connection without the pool's limits (migrations, the command line).
pub async fn connect(database_url: &str) -> anyhow::Result<AsyncPgConnection> {
    let connector = Connector::new(database_url, None)?;
    match connector.connect().await {
        Ok(conn) => Ok(conn),
        Err(e) => bail!("connecting to the database: {e}"),
    }
}

/// The connector for pooled connections, carrying `options` to every one.
pub fn shared(database_url: &str, options: &str) -> anyhow::Result<Arc<Connector>> {
    Ok(Arc::new(Connector::new(database_url, Some(options))?))
}
