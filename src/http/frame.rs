//! What happens to every request before it is routed and to its response
//! after, in one layer: the deadline, the consistency token, `HEAD` routed
//! as `GET`, the access line and its span, the metrics, the browser-facing
//! headers, the JSON charset, and telling live streams that a write
//! succeeded here.
//!
//! One layer, not one middleware each: every layer boxes the future of the
//! layer inside it and moves the request through one more call, and ten of
//! them cost a counts read about a fifth of its server time
//! (benches/RESULTS.md, "One layer around every request, one bell per
//! stream"). Each concern keeps its rule in its own module; this file only
//! says when it runs.
//!
//! Order, outermost first: the deadline bounds everything below; the token
//! and whether the request writes are read from the request as it came;
//! `HEAD` becomes `GET`; then the access line and metrics see the routed
//! method. On the way out, the metrics and the line, then the headers, then
//! the write's touch of the live streams, then the token (which may read
//! the primary after a write).

use std::future::{ready, Ready};
use std::time::{Duration, Instant};

use actix_web::body::MessageBody;
use actix_web::dev::{forward_ready, Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::http::Method;
use actix_web::{web, Error};
use futures_util::future::LocalBoxFuture;
use tracing::Instrument;

use super::{deadline, head, problems, security};
use crate::state::SharedState;
use crate::telemetry::{self, AccessLog};

pub struct Frame {
    state: web::Data<SharedState>,
    /// Zero: no deadline.
    deadline: Duration,
    metrics: bool,
}

impl Frame {
    pub fn new(state: web::Data<SharedState>, deadline: Duration, metrics: bool) -> Self {
        Frame { state, deadline, metrics }
    }
}

impl<S, B> Transform<S, ServiceRequest> for Frame
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    S::Future: 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<B>;
    type Error = Error;
    type Transform = FrameService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(FrameService {
            service,
            state: self.state.clone(),
            deadline: self.deadline,
            metrics: self.metrics,
        }))
    }
}

pub struct FrameService<S> {
    service: S,
    state: web::Data<SharedState>,
    deadline: Duration,
    metrics: bool,
}

impl<S, B> Service<ServiceRequest> for FrameService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    S::Future: 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<B>;
    type Error = Error;
    type Future = LocalBoxFuture<'static, Result<ServiceResponse<B>, Error>>;

    forward_ready!(service);

    fn call(&self, mut req: ServiceRequest) -> Self::Future {
        let writes = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
        let requested = crate::consistency::requested(&req, writes);
        head::as_get(&mut req);
        let route = telemetry::route_pattern(&req);
        let method = req.method().clone();
        let method_at_deadline = method.clone();
        let docs = security::is_docs(req.path());
        let limit = (!self.deadline.is_zero() && !deadline::is_live(req.path())).then_some(self.deadline);
        let log = AccessLog::begin(&req, route);
        let state = self.state.clone();
        let metrics = self.metrics;
        let work = self.service.call(req).instrument(log.span().clone());
        let framed = async move {
            let started = Instant::now();
            let outcome = work.await;
            if metrics {
                let status = match &outcome {
                    Ok(res) => res.status(),
                    Err(e) => e.as_response_error().status_code(),
                };
                crate::metrics::observe(route, &method, status.as_u16(), started.elapsed());
            }
            let mut res = outcome?;
            log.finish(&mut res);
            security::response_headers(docs, res.headers_mut());
            problems::json_charset(res.headers_mut());
            if writes && res.status().is_success() {
                // Every handler that writes is covered without calling
                // anything: the notifier reads the log's tail (a write that
                // logged no event costs one cheap read).
                state.events.touch();
            }
            crate::consistency::stamp(&state.replication, &requested, res.headers_mut()).await;
            Ok(res)
        };
        Box::pin(async move {
            match limit {
                Some(limit) => deadline::limit(limit, route, &method_at_deadline, framed).await,
                None => framed.await,
            }
        })
    }
}
