//! Logging, set up once per process. The level comes from `RUST_LOG`
//! (default `info`, with the SQL drivers quieter); the format from `log.format`.
//! Every line of a request carries its span: method, route and request id.
//!
//! Traces, when `telemetry.otlp_endpoint` is set: the same spans go to an
//! OpenTelemetry collector over OTLP/HTTP (in batches, from a thread of the
//! exporter's own), a request's span continues the W3C `traceparent` it
//! came with, and each SQL statement gets a span of its own under it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use axum::http::HeaderMap;
use opentelemetry::trace::{Span as _, SpanKind, Status, Tracer as _, TracerProvider as _};
use opentelemetry::{KeyValue, global};
use opentelemetry_otlp::WithExportConfig as _;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_opentelemetry::{OpenTelemetryLayer, OpenTelemetrySpanExt as _};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

use crate::settings::LogFormat;

/// The name traces carry (`service.name`) and spans are made under.
const SERVICE: &str = "shop";

/// Whether traces are exported: requests look for a `traceparent` only then.
static EXPORTING: AtomicBool = AtomicBool::new(false);

/// The trace exporter, flushed and stopped by [`Telemetry::shutdown`].
#[must_use = "call shutdown() at exit, or the last spans are lost"]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
    /// A warning to log once logging is up (`RUST_LOG` not used as given).
    pub warning: Option<String>,
}

impl Telemetry {
    /// Sends what is still buffered and stops the exporter.
    pub fn shutdown(self) {
        if let Some(provider) = self.provider
            && let Err(err) = provider.shutdown()
        {
            eprintln!("shop: exporting the last traces failed: {err}");
        }
    }
}

/// What is logged without `RUST_LOG`.
const DEFAULT_FILTER: &str = "info,sqlx=warn,sea_orm=warn,sea_orm_migration=warn";

/// Installs the global subscriber and, given an OTLP endpoint, the trace
/// exporter. Later calls install nothing (tests call it freely).
pub fn init(format: LogFormat, otlp_endpoint: Option<&str>) -> Result<Telemetry, String> {
    let (filter, warning) = filter(std::env::var("RUST_LOG").ok().as_deref());
    // Logs go to stderr: stdout is for what commands print (`shop openapi`, `shop seed`).
    let stderr = std::io::stderr();
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&stderr))
        .with_writer(std::io::stderr);
    let provider = otlp_endpoint.map(exporter).transpose()?;
    // One concrete type per format, no boxed layer: every span enter and exit
    // (dozens per request inside sqlx) passes through this stack.
    let installed = match format {
        LogFormat::Pretty => logs.finish().with(traces(provider.as_ref())).try_init(),
        LogFormat::Json => {
            let logs = logs.json().flatten_event(true).with_current_span(true).with_span_list(false);
            logs.finish().with(traces(provider.as_ref())).try_init()
        }
    }
    .is_ok();
    if installed && let Some(provider) = &provider {
        global::set_tracer_provider(provider.clone());
        global::set_text_map_propagator(TraceContextPropagator::new());
        EXPORTING.store(true, Ordering::Relaxed);
    }
    Ok(Telemetry { provider, warning })
}

/// The layer that hands spans to `provider`'s tracer, if there is one.
fn traces<S>(provider: Option<&SdkTracerProvider>) -> Option<OpenTelemetryLayer<S, opentelemetry_sdk::trace::Tracer>>
where
    S: tracing::Subscriber + for<'span> tracing_subscriber::registry::LookupSpan<'span>,
{
    provider.map(|provider| tracing_opentelemetry::layer().with_tracer(provider.tracer(SERVICE)))
}

/// Spans to `{endpoint}/v1/traces`, as OTLP protobuf over HTTP, in batches.
fn exporter(endpoint: &str) -> Result<SdkTracerProvider, String> {
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(format!("{endpoint}/v1/traces"))
        .with_timeout(Duration::from_secs(5))
        .build()
        .map_err(|err| format!("cannot export traces to {endpoint}: {err}"))?;
    let resource = opentelemetry_sdk::Resource::builder().with_service_name(SERVICE).build();
    Ok(SdkTracerProvider::builder().with_batch_exporter(exporter).with_resource(resource).build())
}

/// Makes `span` (a request's) continue the trace of the W3C `traceparent`
/// in `headers`, when traces are exported.
pub fn continue_trace(span: &tracing::Span, headers: &HeaderMap) {
    if EXPORTING.load(Ordering::Relaxed) {
        let parent = global::get_text_map_propagator(|propagator| {
            propagator.extract(&opentelemetry_http::HeaderExtractor(headers))
        });
        let _ = span.set_parent(parent);
    }
}

/// A span for each SQL statement a pool sends, when traces are exported.
pub fn trace_statements(pool: &mut sea_orm::DatabaseConnection) {
    if EXPORTING.load(Ordering::Relaxed) {
        pool.set_metric_callback(statement_span);
    }
}

/// SeaORM reports a statement once it is done: the span is made then, with
/// its real start and end, under the span current at the time (the request's).
fn statement_span(statement: &sea_orm::metric::Info<'_>) {
    let end = SystemTime::now();
    let sql = &statement.statement.sql;
    let system = match statement.statement.db_backend {
        sea_orm::DbBackend::Postgres => "postgresql",
        sea_orm::DbBackend::Sqlite => "sqlite",
        _ => "other_sql",
    };
    let tracer = global::tracer(SERVICE);
    let parent = tracing::Span::current().context();
    let mut span = tracer
        .span_builder(sql.split_whitespace().next().unwrap_or("SQL").to_ascii_uppercase())
        .with_kind(SpanKind::Client)
        .with_start_time(end.checked_sub(statement.elapsed).unwrap_or(end))
        .with_attributes([KeyValue::new("db.system.name", system), KeyValue::new("db.query.text", sql.clone())])
        .start_with_context(&tracer, &parent);
    if statement.failed {
        span.set_status(Status::error("the statement failed"));
    }
    span.end_with_timestamp(end);
}

/// The filter `RUST_LOG` asks for. One that does not parse, or that enables
/// nothing of the service's own logs (`RUST_LOG=debu` is a target named
/// `debu`), would leave it silent: the default comes first then, with a warning.
fn filter(rust_log: Option<&str>) -> (EnvFilter, Option<String>) {
    let Some(asked) = rust_log.map(str::trim).filter(|text| !text.is_empty()) else {
        return (EnvFilter::new(DEFAULT_FILTER), None);
    };
    match EnvFilter::try_new(asked) {
        Err(err) => {
            let warning = format!("RUST_LOG={asked:?} is not a log filter ({err}); logging at info");
            (EnvFilter::new(DEFAULT_FILTER), Some(warning))
        }
        Ok(filter) if asked.split(',').any(reaches_the_service) => (filter, None),
        Ok(_) => {
            let warning = format!(
                "RUST_LOG={asked:?} enables none of the service's logs (neither a level such as `debug` nor a \
                 target starting with `shop`); logging at info as well"
            );
            (EnvFilter::new(format!("{DEFAULT_FILTER},{asked}")), Some(warning))
        }
    }
}

/// Whether one directive of a filter can enable a log line of the service:
/// a level for everything, a `shop…` target, or a span filter.
fn reaches_the_service(directive: &str) -> bool {
    let directive = directive.trim();
    let target = directive.split(['=', '[']).next().unwrap_or_default();
    let level = ["trace", "debug", "info", "warn", "error", "off"].iter().any(|l| target.eq_ignore_ascii_case(l));
    level || target.starts_with("shop") || directive.starts_with('[')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_filter_that_silences_the_service_by_mistake_falls_back_to_info() {
        for fine in [None, Some(""), Some("debug"), Some("warn,shop::http=debug"), Some("shop=trace"), Some("off")] {
            assert_eq!(filter(fine).1, None, "{fine:?}");
        }
        for mistaken in ["debu", "sqlx=debug", "=info=x"] {
            let (filter, warning) = filter(Some(mistaken));
            assert!(warning.is_some_and(|w| w.contains(mistaken)), "{mistaken}");
            assert!(filter.to_string().contains("info"), "{mistaken}: {filter}");
        }
    }
}
