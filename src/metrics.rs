//! Prometheus metrics: requests by route pattern, method and status, their
//! latency, the pool, and database errors. Text at `GET /metrics`, on the main
//! port or on `metrics.bind`.

use std::cell::RefCell;
use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::http::Method;
use actix_web::{web, App, HttpResponse, HttpServer};
use anyhow::Context;
use diesel::result::Error as DieselError;
use diesel_async::pooled_connection::deadpool::PoolError;
use metrics::{Counter, Histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::config::MetricsSettings;
use crate::db::Pools;

pub const REQUESTS: &str = "pilcrow_http_requests_total";
pub const LATENCY: &str = "pilcrow_http_request_duration_seconds";
pub const DB_ERRORS: &str = "pilcrow_database_errors_total";
pub const POOL_TIMEOUTS: &str = "pilcrow_pool_timeouts_total";

/// Buckets from 1 ms to 10 s: the fast reads sit in the first few, a
/// statement timeout in the last.
const LATENCY_BUCKETS: [f64; 12] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

static HANDLE: OnceLock<Result<PrometheusHandle, String>> = OnceLock::new();

/// The process-wide recorder (installed once; later apps in the same process share it).
pub fn install() -> anyhow::Result<PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let handle = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Full(LATENCY.to_owned()), &LATENCY_BUCKETS)
                .and_then(|b| b.install_recorder())
                .map_err(|e| e.to_string())?;
            // Histogram samples pile up until drained: drain them even if nobody scrapes.
            let upkeep = handle.clone();
            std::thread::Builder::new()
                .name("metrics-upkeep".into())
                .spawn(move || loop {
                    std::thread::sleep(UPKEEP_EVERY);
                    upkeep.run_upkeep();
                })
                .map_err(|e| e.to_string())?;
            Ok(handle)
        })
        .clone()
        .map_err(|e| anyhow::anyhow!("installing the metrics recorder: {e}"))
}

const UPKEEP_EVERY: Duration = Duration::from_secs(5);

type SeriesKey = (&'static str, &'static str, u16);

thread_local! {
    /// Each worker keeps the handles of the series it has written, so a
    /// request costs two atomic updates instead of building and hashing labels.
    static SERIES: RefCell<HashMap<SeriesKey, (Counter, Histogram)>> = RefCell::new(HashMap::new());
}

/// Methods outside the standard ones are one label value, so a client
/// cannot mint new series by inventing methods.
fn method_label(method: &Method) -> &'static str {
    match method.as_str() {
        "GET" => "GET",
        "HEAD" => "HEAD",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "OPTIONS" => "OPTIONS",
        _ => "OTHER",
    }
}

/// Counts and times a request under its route pattern, never its path
/// (src/http/frame.rs).
pub fn observe(route: &'static str, method: &Method, status: u16, elapsed: Duration) {
    let method = method_label(method);
    SERIES.with(|series| {
        let mut series = series.borrow_mut();
        let (counter, histogram) =
            series.entry((route, method, status)).or_insert_with_key(|(route, method, status)| {
                let labels = [
                    ("route", (*route).to_owned()),
                    ("method", (*method).to_owned()),
                    ("status", status.to_string()),
                ];
                (metrics::counter!(REQUESTS, &labels), metrics::histogram!(LATENCY, &labels[..2]))
            });
        counter.increment(1);
        histogram.record(elapsed.as_secs_f64());
    });
}

pub struct Exporter {
    pub handle: PrometheusHandle,
    pub pools: Arc<Pools>,
}

/// `GET /metrics`: samples the pools (summed), then renders everything.
pub async fn render(exporter: web::Data<Exporter>) -> HttpResponse {
    let status = exporter.pools.totals();
    metrics::gauge!("pilcrow_pool_max_size").set(status.max_size as f64);
    metrics::gauge!("pilcrow_pool_size").set(status.size as f64);
    metrics::gauge!("pilcrow_pool_in_use").set(status.size.saturating_sub(status.available) as f64);
    metrics::gauge!("pilcrow_pool_waiting").set(status.waiting as f64);
    HttpResponse::Ok().content_type("text/plain; version=0.0.4; charset=utf-8").body(exporter.handle.render())
}

pub fn database_error(e: &DieselError) {
    let kind = match e {
        e if crate::db::is_timeout(e) => "timeout",
        DieselError::DatabaseError(kind, _) => match kind {
            diesel::result::DatabaseErrorKind::UniqueViolation => "unique_violation",
            diesel::result::DatabaseErrorKind::ForeignKeyViolation => "foreign_key_violation",
            diesel::result::DatabaseErrorKind::SerializationFailure => "serialization_failure",
            diesel::result::DatabaseErrorKind::ClosedConnection => "closed_connection",
            _ => "other",
        },
        _ => "client",
    };
    metrics::counter!(DB_ERRORS, "kind" => kind).increment(1);
}

pub fn pool_error(e: &PoolError) {
    if matches!(e, PoolError::Timeout(_)) {
        metrics::counter!(POOL_TIMEOUTS).increment(1);
    } else {
        metrics::counter!(DB_ERRORS, "kind" => "connect").increment(1);
    }
}

/// Metrics are on when enabled or given an address of their own.
pub fn exporter(
    settings: &MetricsSettings,
    pools: &Arc<Pools>,
) -> anyhow::Result<Option<web::Data<Exporter>>> {
    if !settings.enabled && settings.bind.is_empty() {
        return Ok(None);
    }
    Ok(Some(web::Data::new(Exporter { handle: install()?, pools: pools.clone() })))
}

/// `/metrics` alone on `metrics.bind`, so it need not be reachable where the API is.
pub fn serve_separately(bind: &str, exporter: web::Data<Exporter>) -> anyhow::Result<(Server, u16)> {
    let listener = TcpListener::bind(bind).with_context(|| format!("binding metrics.bind {bind}"))?;
    let port = listener.local_addr()?.port();
    let server = HttpServer::new(move || {
        App::new().app_data(exporter.clone()).route("/metrics", web::get().to(render))
    })
    .workers(1)
    .disable_signals()
    .listen(listener)?
    .run();
    Ok((server, port))
}
