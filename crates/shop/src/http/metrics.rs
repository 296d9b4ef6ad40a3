//! Prometheus metrics: request counts and latency histograms by matched route
//! and status, the database pool's gauges, and build info.

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use shaku_axum::Inject;
use shop_application::ports::StorageHealth;

use crate::container::AppModule;

const REQUEST_DURATION: &str = "http_request_duration_seconds";
const LATENCY_BUCKETS: [f64; 14] =
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// The process-wide recorder (metrics are global by nature), installed once.
fn recorder() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full(REQUEST_DURATION.to_owned()), &LATENCY_BUCKETS)
            .unwrap_or_else(|_| PrometheusBuilder::new());
        // Installs the global recorder and a thread that keeps histograms tidy.
        let handle = builder.install_recorder().unwrap_or_else(|err| {
            tracing::warn!(error = %err, "metrics recorder not installed; /metrics will be empty");
            PrometheusBuilder::new().build_recorder().handle()
        });
        metrics::gauge!("shop_build_info", "version" => env!("CARGO_PKG_VERSION")).set(1.0);
        handle
    })
}

/// Middleware: counts and times every request by method, matched route and
/// status; and counts the requests whose client went away before the answer
/// (`http_requests_abandoned_total`), whose handler is then dropped.
pub async fn track(request: Request, next: Next) -> Response {
    recorder();
    let started = Instant::now();
    let method = method_label(request.method()).to_owned();
    let route = request.extensions().get::<MatchedPath>().map_or("unmatched", MatchedPath::as_str).to_owned();
    let mut abandoned = Abandoned(Some((method, route)));
    let response = next.run(request).await;
    let Some((method, route)) = abandoned.0.take() else {
        return response;
    };
    let labels = [("method", method), ("route", route), ("status", response.status().as_u16().to_string())];
    metrics::counter!("http_requests_total", &labels).increment(1);
    metrics::histogram!(REQUEST_DURATION, &labels).record(started.elapsed().as_secs_f64());
    response
}

/// The method as a label: the standard ones by name, any other as `OTHER`,
/// so that invented methods cannot grow the metrics (nor does an unknown path:
/// it is counted under the route `unmatched`).
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "OTHER",
    }
}

/// Counts a request as abandoned if dropped before its answer (method, route).
struct Abandoned(Option<(String, String)>);

impl Drop for Abandoned {
    fn drop(&mut self) {
        if let Some((method, route)) = self.0.take() {
            tracing::debug!("the client went away before the answer; the request was dropped");
            metrics::counter!("http_requests_abandoned_total", "method" => method, "route" => route).increment(1);
        }
    }
}

/// Prometheus metrics (text exposition format).
#[utoipa::path(
    get,
    path = "/metrics",
    operation_id = "metrics",
    tag = "operations",
    responses((status = 200, description = "Prometheus text exposition format", content_type = "text/plain; version=0.0.4", body = String))
)]
pub async fn render(storage: Inject<AppModule, dyn StorageHealth>) -> impl IntoResponse {
    if let Some(pool) = storage.pool() {
        metrics::gauge!("db_pool_connections").set(f64::from(pool.size));
        metrics::gauge!("db_pool_idle_connections").set(f64::from(pool.idle));
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], recorder().render())
}
