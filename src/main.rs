use anyhow::Context;
use pilcrow::config::Settings;
use pilcrow::startup::{self, Application};

const USAGE: &str = "usage: pilcrow [serve|migrate]";

fn main() {
    if let Err(e) = run() {
        eprintln!("pilcrow: {e:#}");
        std::process::exit(1);
    }
}

fn run() -> anyhow::Result<()> {
    let command = std::env::args().nth(1).unwrap_or_else(|| "serve".to_owned());
    if !matches!(command.as_str(), "serve" | "migrate") {
        anyhow::bail!("{USAGE}");
    }
    let settings = Settings::load()?;
    pilcrow::telemetry::init(&settings.log);
    actix_web::rt::System::new().block_on(async move {
        match command.as_str() {
            "migrate" => startup::migrate_only(&settings).await,
            _ => {
                let app = Application::build(settings).await.context("starting the server")?;
                app.run_until_stopped().await
            }
        }
    })
}
