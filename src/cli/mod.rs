//! The `pilcrow` command: serve, migrate, administer, import, seed a demo,
//! check health. Parsed with clap, so `--help` and `--version` just work.

mod admin;
mod demo;
mod healthcheck;
mod import;

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use diesel_async::AsyncPgConnection;

use crate::config::Settings;
use crate::db::embedded::Cluster;
use crate::startup::{self, Application};

#[derive(Debug, Parser)]
#[command(name = "pilcrow", version, about = "Discussion-forum backend for reading groups")]
#[command(
    after_help = "Configuration: config/{default,$PILCROW_ENV}.toml, PILCROW__SECTION__KEY, DATABASE_URL."
)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Migrate, then serve the API (the default).
    Serve,
    /// Apply pending migrations and exit.
    Migrate,
    /// Manage site administrators.
    Admin {
        #[command(subcommand)]
        action: AdminAction,
    },
    /// Import a text or Markdown file as an essay of a group.
    ImportEssay {
        /// The group's slug.
        #[arg(long)]
        group: String,
        #[arg(long)]
        title: String,
        #[arg(long)]
        author: Option<String>,
        /// Default: markdown for *.md files, text otherwise.
        #[arg(long, value_enum)]
        format: Option<EssayFormat>,
        file: PathBuf,
    },
    /// Seed a demo group, essay, session and threads (again: only refresh the
    /// sign-in), and print how to sign in.
    Demo,
    /// Print the OpenAPI document (needs no server, database or configuration),
    /// so a frontend's CI can generate its client from the binary alone.
    Openapi,
    /// Print a new VAPID key pair for Web Push (needs no server or
    /// configuration): the private key for `push.vapid_private_key`, and the
    /// public key browsers will see.
    VapidKey,
    /// Exit 0 when the server on this machine answers /health (for container health checks).
    Healthcheck {
        /// Default: the configured port on 127.0.0.1.
        #[arg(long)]
        url: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum AdminAction {
    /// Make a user a site administrator.
    GrantAdmin { username: String },
    /// Take site administration away from a user.
    RevokeAdmin { username: String },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum EssayFormat {
    Text,
    Markdown,
}

/// Runs the command line; returns the process exit code.
pub fn main() -> i32 {
    let cli = Cli::parse();
    match run(cli.command.unwrap_or(Command::Serve)) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("pilcrow: {e:#}");
            1
        }
    }
}

fn run(command: Command) -> anyhow::Result<()> {
    if let Command::VapidKey = command {
        let private = crate::notifications::push::keys::VapidKey::generate();
        let key = crate::notifications::push::keys::VapidKey::parse(&private)?;
        println!("PILCROW__PUSH__VAPID_PRIVATE_KEY={private}");
        println!("# public key (GET /api/v1/push/public-key): {}", key.public_key());
        return Ok(());
    }
    if let Command::Openapi = command {
        let document = crate::routes::openapi_document().to_pretty_json().context("writing the document")?;
        println!("{document}");
        return Ok(());
    }
    let settings = Settings::load()?;
    if let Command::Healthcheck { url } = command {
        return healthcheck::check(url.as_deref(), &settings);
    }
    crate::telemetry::init(&settings.log);
    actix_web::rt::System::new().block_on(async move {
        match command {
            Command::Serve => {
                let app = Application::build(settings).await.context("starting the server")?;
                app.run_until_stopped().await
            }
            Command::Migrate => startup::migrate_only(&settings).await,
            Command::Admin { action } => {
                let (mut conn, _cluster) = connect(&settings).await?;
                match action {
                    AdminAction::GrantAdmin { username } => admin::set(&mut conn, &username, true).await,
                    AdminAction::RevokeAdmin { username } => admin::set(&mut conn, &username, false).await,
                }
            }
            Command::ImportEssay { group, title, author, format, file } => {
                let (mut conn, _cluster) = connect(&settings).await?;
                let request = import::Request { group, title, author, format, file };
                import::run(&mut conn, request).await
            }
            Command::Demo => {
                let (mut conn, _cluster) = connect(&settings).await?;
                demo::run(&mut conn, &settings).await
            }
            Command::Healthcheck { .. } | Command::Openapi | Command::VapidKey => Ok(()),
        }
    })
}

/// A migrated database to work on (the private cluster is kept running
/// while the returned handle lives).
async fn connect(settings: &Settings) -> anyhow::Result<(AsyncPgConnection, Option<Cluster>)> {
    let (urls, cluster) = startup::database(settings).await?;
    crate::db::migrate::run(&urls.direct).await.context("migrating the database")?;
    let conn = crate::db::connect(&urls.direct).await?;
    Ok((conn, cluster))
}
