//! Builds the application: database (configured, or a private cluster),
//! migrations, pool, and the HTTP server with every module's routes.

use std::net::TcpListener;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::get;
use actix_web::http::header;
use actix_web::middleware::{from_fn, Condition, ErrorHandlers};
use actix_web::{web, App, HttpServer};
use anyhow::Context;
use secrecy::ExposeSecret;
use utoipa_actix_web::AppExt;
use utoipa_swagger_ui::SwaggerUi;

use crate::auth::passwords::Passwords;
use crate::auth::tokens::TokenKeys;
use crate::config::Settings;
use crate::db::embedded::{Cluster, ClusterOptions};
use crate::db::{migrate, timeouts, Pools};
use crate::http::frame::Frame;
use crate::http::{problems, security, JsonLimit};
use crate::metrics;
use crate::ratelimit::RateLimits;
use crate::state::{SharedState, WorkerState};

const LOCAL_DATABASE: &str = "pilcrow";

pub struct Application {
    port: u16,
    server: Server,
    /// `/metrics` on `metrics.bind`, when set.
    metrics: Option<(Server, u16)>,
    cluster: Option<Cluster>,
    events: std::sync::Arc<crate::events::EventHub>,
    kept_responses: std::sync::Arc<crate::versions::kept::KeptResponses>,
    mailing: std::sync::Arc<crate::mailing::Mailing>,
}

/// Where requests' connections go, and where migrations, LISTEN and
/// session-level locks go (the same unless `database.direct_url` is set).
#[derive(Debug, Clone)]
pub struct DatabaseUrls {
    pub pooled: String,
    pub direct: String,
}

impl DatabaseUrls {
    fn one(url: String) -> Self {
        Self { direct: url.clone(), pooled: url }
    }

    /// Whether a separate direct URL was configured.
    pub fn split(&self) -> bool {
        self.direct != self.pooled
    }
}

/// The configured database URLs, or one on a private cluster started now.
pub async fn database(settings: &Settings) -> anyhow::Result<(DatabaseUrls, Option<Cluster>)> {
    if let Some(url) = &settings.database.url {
        let pooled = url.expose_secret().to_owned();
        let direct =
            settings.database.direct_url.as_ref().map_or(pooled.clone(), |d| d.expose_secret().to_owned());
        return Ok((DatabaseUrls { pooled, direct }, None));
    }
    if !settings.private_cluster_allowed() {
        anyhow::bail!("no database URL is set and a private cluster is only started in development");
    }
    let options = ClusterOptions { root: settings.database.data_dir.clone(), ephemeral: false };
    let cluster = tokio::task::spawn_blocking(move || Cluster::start(options)).await??;
    cluster.ensure_database(LOCAL_DATABASE).await?;
    tracing::info!(data_dir = %cluster.data_dir().display(), "started the private PostgreSQL cluster");
    Ok((DatabaseUrls::one(cluster.url(LOCAL_DATABASE)), Some(cluster)))
}

/// `pilcrow migrate`: apply pending migrations and exit.
pub async fn migrate_only(settings: &Settings) -> anyhow::Result<()> {
    let (urls, _cluster) = database(settings).await?;
    let applied = migrate::run(&urls.direct).await?;
    tracing::info!(count = applied.len(), ?applied, "migrations applied");
    Ok(())
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let (urls, cluster) = database(&settings).await?;
        let connector =
            crate::db::connect::shared(&urls.pooled, &timeouts::startup_options(&settings.database))?;
        let direct =
            crate::db::connect::shared(&urls.direct, &timeouts::startup_options(&settings.database))?;
        if cluster.is_none() {
            crate::db::pooler::check(&connector, &direct, !urls.split(), &settings.database).await?;
        }
        migrate::run(&urls.direct).await.context("migrating the database")?;
        let workers = settings.workers(cluster.is_some());
        let replicas = settings
            .database
            .replica_urls
            .iter()
            .map(|url| {
                crate::db::connect::shared(
                    url.expose_secret(),
                    &timeouts::startup_options(&settings.database),
                )
            })
            .collect::<anyhow::Result<Vec<_>>>()
            .context("database.replica_urls")?;
        let replication = std::sync::Arc::new(crate::consistency::Replication::new(
            direct.clone(),
            replicas.clone(),
            Duration::from_millis(settings.database.replica_wait_ms),
            Duration::from_millis(settings.database.replica_max_lag_ms),
        ));
        replication.start().await?;
        let pools = std::sync::Arc::new(Pools::new(
            connector.clone(),
            replicas,
            settings.pool_size(),
            workers,
            Duration::from_millis(settings.database.pool_timeout_ms),
        )?);
        let pool = pools.shared().clone();
        let secret = settings.jwt_secret()?;
        let events = crate::events::EventHub::new(pool.clone(), settings.events.clone());
        // Mail has connections of its own: each mail holds one while the SMTP
        // server takes it (the mail is recorded in that transaction), which
        // must not take the live events' turns.
        let mail_pool = crate::db::build_pool(
            connector.clone(),
            settings.notifications.digest_concurrency.max(1) + 1,
            Duration::from_millis(settings.database.pool_timeout_ms),
        )?;
        let mailing = std::sync::Arc::new(crate::mailing::Mailing::new(&settings, mail_pool, &secret)?);
        let cpu = crate::cpu::CpuQueue::background(
            settings.max_concurrent_cpu(),
            Duration::from_millis(settings.cpu.queue_timeout_ms),
            settings.cpu.max_per_client,
            settings.cpu.nice,
        )?;
        let exports = std::sync::Arc::new(crate::users::exports::Exports::new(
            &settings,
            pool.clone(),
            cpu.clone(),
            mailing.clone(),
            &secret,
        ));
        let state = SharedState {
            pool: pool.clone(),
            tokens: TokenKeys::new(&secret, &settings.auth),
            passwords: Passwords::new(
                settings.max_concurrent_hashes(),
                Duration::from_millis(settings.auth.hash_queue_timeout_ms),
                settings.auth.max_hashes_per_client,
            )?,
            min_password_score: settings.auth.min_password_score,
            mailer: crate::mail::Mailer::new(&settings)?,
            reset_link: settings.reset_link(),
            limits: RateLimits::new(
                &settings.rate_limit,
                &settings.server.trusted_proxies,
                settings.server.client_ip_header,
            )?,
            essay_body_limit: settings.server.essay_body_limit_bytes,
            public_base_url: settings.server.public_base_url.trim_end_matches('/').to_owned(),
            events: events.clone(),
            inbox: crate::notifications::live::Inbox::new(events.clone()),
            kept_responses: std::sync::Arc::new(crate::versions::kept::KeptResponses::new(
                settings.cache.kept_responses_max_bytes(),
            )),
            cpu,
            search_max_matches: settings.search.max_matches.max(1),
            notification_poll_secs: settings.notifications.client_poll_interval_secs,
            push: std::sync::Arc::new(crate::notifications::push::Push::new(&settings)?),
            mailing: mailing.clone(),
            deletions: std::sync::Arc::new(tokio::sync::Notify::new()),
            exports: exports.clone(),
            replication,
        };
        tokio::spawn(crate::consistency::Replication::monitor(
            std::sync::Arc::downgrade(&state.replication),
            state.events.closing(),
        ));
        start_events(&state.events, direct);
        tokio::spawn(crate::notifications::live::pump(state.inbox.clone()));
        tokio::spawn(crate::notifications::notifier::run(
            state.events.clone(),
            Duration::from_millis(settings.notifications.derive_interval_ms.max(10)),
            settings.notifications.busy_share,
        ));
        tokio::spawn(crate::notifications::push::sender::run(state.events.clone(), state.push.clone()));
        crate::mailing::start(mailing.clone(), &state.events);
        tokio::spawn(crate::users::deletion::job::run(
            pool.clone(),
            state.deletions.clone(),
            Duration::from_millis(settings.accounts.deletion_interval_ms.max(10)),
            settings.accounts.deletion_batch,
            state.events.closing(),
        ));
        tokio::spawn(crate::users::exports::build::run(exports, state.events.closing()));
        let listener = TcpListener::bind((settings.server.host.as_str(), settings.server.port))
            .with_context(|| format!("binding {}:{}", settings.server.host, settings.server.port))?;
        let port = listener.local_addr()?.port();
        let metrics = match metrics::exporter(&settings.metrics, &pools)? {
            Some(exporter) if !settings.metrics.bind.is_empty() => {
                Some(metrics::serve_separately(&settings.metrics.bind, exporter)?)
            }
            _ => None,
        };
        let events = state.events.clone();
        let kept_responses = state.kept_responses.clone();
        let server = run(listener, state, pools, &settings, workers)?;
        tracing::info!(host = %settings.server.host, port, "listening");
        Ok(Self { port, server, metrics, cluster, events, kept_responses, mailing })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The live events hub: `shut_down` ends every stream as SIGTERM does.
    pub fn events(&self) -> std::sync::Arc<crate::events::EventHub> {
        self.events.clone()
    }

    /// Responses kept by version (how often they were reused).
    pub fn kept_responses(&self) -> std::sync::Arc<crate::versions::kept::KeptResponses> {
        self.kept_responses.clone()
    }

    /// Notification mail of this instance (to run a digest round as of a given time).
    pub fn mailing(&self) -> std::sync::Arc<crate::mailing::Mailing> {
        self.mailing.clone()
    }

    /// The port `/metrics` listens on when `metrics.bind` gives it one of its own.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics.as_ref().map(|(_, port)| *port)
    }

    /// Serves until SIGINT/SIGTERM, drains, then stops the private cluster.
    pub async fn run_until_stopped(mut self) -> anyhow::Result<()> {
        let metrics = self.metrics.take().map(|(server, _)| {
            let handle = server.handle();
            tokio::spawn(server);
            handle
        });
        self.server.await?;
        if let Some(handle) = metrics {
            handle.stop(true).await;
        }
        if let Some(mut cluster) = self.cluster.take() {
            tokio::task::spawn_blocking(move || cluster.stop()).await?;
            tracing::info!("stopped the private PostgreSQL cluster");
        }
        Ok(())
    }
}

/// The background work of live events: the notifier, the LISTEN
/// connection, retention, and closing streams on SIGINT/SIGTERM (before the
/// server's own graceful stop waits for them) so clients reconnect elsewhere.
fn start_events(
    hub: &std::sync::Arc<crate::events::EventHub>,
    connector: std::sync::Arc<crate::db::Connector>,
) {
    use crate::events::notify;
    tokio::spawn(notify::notifier(hub.clone()));
    tokio::spawn(notify::listener(connector, hub.clone()));
    tokio::spawn(notify::retention(hub.clone()));
    let hub = std::sync::Arc::downgrade(hub);
    tokio::spawn(async move {
        let Ok(mut term) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) else {
            return;
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
        if let Some(hub) = hub.upgrade() {
            tracing::info!(streams = hub.open_streams(), "closing event streams");
            hub.shut_down();
        }
    });
}

#[get("/docs")]
#[tracing::instrument(skip_all)]
async fn docs_redirect() -> actix_web::HttpResponse {
    actix_web::HttpResponse::PermanentRedirect().insert_header((header::LOCATION, "/docs/")).finish()
}

pub fn run(
    listener: TcpListener,
    state: SharedState,
    pools: std::sync::Arc<Pools>,
    settings: &Settings,
    workers: usize,
) -> anyhow::Result<Server> {
    let tokens = web::Data::new(state.tokens.clone());
    let limits = web::Data::new(state.limits.clone());
    // Idempotency keys are kept 24 hours.
    let pool = state.pool.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(3600));
        loop {
            every.tick().await;
            let Ok(mut conn) = crate::db::pool::conn(&pool).await else { continue };
            match crate::idempotency::sweep(&mut conn).await {
                Ok(n) if n > 0 => tracing::info!(deleted = n, "expired idempotency keys"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "sweeping idempotency keys"),
            }
        }
    });
    // Forget fully replenished keys, so memory follows recent clients only.
    let sweep = std::sync::Arc::downgrade(&state.limits);
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(60));
        loop {
            every.tick().await;
            let Some(limits) = sweep.upgrade() else { break };
            limits.retain_recent();
        }
    });
    let shared_state = web::Data::new(state);
    let json_limit = JsonLimit(settings.server.body_limit_bytes);
    let origins = settings.server.cors_allowed_origins.clone();
    let openapi = crate::routes::openapi_document();
    crate::telemetry::load_route_patterns(&openapi);
    let route_table = web::Data::new(problems::RouteTable::from_openapi(&openapi));
    let exporter = metrics::exporter(&settings.metrics, &pools)?;
    let metrics_here = exporter.is_some() && settings.metrics.bind.is_empty();
    let deadline = Duration::from_millis(settings.server.request_timeout_ms);
    let server = HttpServer::new(move || {
        // Runs on each worker's thread: its requests use connections it opens.
        let pool = pools.for_this_worker().unwrap_or_else(|e| {
            tracing::warn!(error = %e, "a worker without a pool of its own uses the shared one");
            pools.shared().clone()
        });
        let replicas = pools.replicas_for_this_worker().unwrap_or_else(|e| {
            tracing::warn!(error = %e, "a worker without pools of the replicas reads from the primary");
            Vec::new()
        });
        let worker = web::Data::new(WorkerState::new(shared_state.clone(), pool, replicas));
        App::new()
            .wrap(ErrorHandlers::new().default_handler(problems::bare_error_to_problem))
            .wrap(Condition::new(!origins.is_empty(), security::cors(&origins)))
            .wrap(Condition::new(!origins.is_empty(), from_fn(security::cors_problems)))
            .wrap(Frame::new(shared_state.clone(), deadline, exporter.is_some()))
            .configure(|cfg| {
                if let (true, Some(exporter)) = (metrics_here, &exporter) {
                    cfg.app_data(exporter.clone())
                        .service(web::resource("/metrics").route(web::get().to(metrics::render)));
                }
            })
            .app_data(shared_state.clone())
            .app_data(worker)
            .app_data(tokens.clone())
            .app_data(limits.clone())
            .app_data(json_limit)
            .app_data(problems::query_config())
            .app_data(problems::path_config())
            .app_data(route_table.clone())
            .service(docs_redirect)
            // Before the /api/v1 scope, which would otherwise claim /api/v1/openapi.json.
            .service(SwaggerUi::new("/docs/{_:.*}").url("/api/v1/openapi.json", openapi.clone()))
            .into_utoipa_app()
            .configure(crate::routes::routes)
            .into_app()
            .default_service(web::to(problems::unknown_route))
    })
    .workers(workers)
    .shutdown_timeout(10)
    // A client closing its connection ends the response there: an event
    // stream's body is dropped (freeing its slot) when the client goes, not
    // when a later write to the dead socket fails 15–30 s on.
    .h1_allow_half_closed(false)
    .listen(listener)?
    .run();
    Ok(server)
}
