//! The router: the REST and GraphQL edges' routes merged, the OpenAPI
//! document of both, and the layers every request passes (request ids, the
//! access log, metrics, compression, CORS, the body limit, the timeout).
//! This is the only module that knows both edges.

use std::sync::Arc;
use std::time::Duration;

use axum::error_handling::HandleErrorLayer;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue, Method, header};
use axum::response::IntoResponse;
use axum::response::Response;
use axum::{BoxError, Extension, Json, Router};
use shaku::HasComponent;
use shop_domain::MaxLineQuantity;
use tower::ServiceBuilder;
use tower_http::CompressionLevel;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::compression::predicate::{NotForContentType, Predicate, SizeAbove};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use utoipa_swagger_ui::SwaggerUi;

use crate::container::{AppModule, AppSettings};
use crate::edge::openapi::{self, ApiDoc};
use crate::edge::rate_limit::RateLimits;
use crate::edge::{ApiError, BODY_LIMIT_BYTES, idempotency};
use crate::{graphql, http};

/// The header that carries a request's id.
const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Both edges' documented routes and this description's own.
fn documented(
    rest: OpenApiRouter<Arc<AppModule>>,
    graphql: OpenApiRouter<Arc<AppModule>>,
) -> OpenApiRouter<Arc<AppModule>> {
    OpenApiRouter::with_openapi(ApiDoc::openapi()).merge(rest).merge(graphql).routes(routes!(serve_openapi))
}

/// The routes and their OpenAPI description, completed for a line cap of `max`.
fn split(
    routes: OpenApiRouter<Arc<AppModule>>,
    max: MaxLineQuantity,
) -> (Router<Arc<AppModule>>, utoipa::openapi::OpenApi) {
    let (routes, mut document) = routes.split_for_parts();
    openapi::Shared.modify(&mut document);
    openapi::LineQuantityCap(max).modify(&mut document);
    (routes, document)
}

/// The OpenAPI description of the service, as `GET /openapi.json` serves it
/// with `cart.max_line_quantity` = `max`.
pub fn openapi(max: MaxLineQuantity) -> utoipa::openapi::OpenApi {
    split(documented(http::documented(), graphql::documented()), max).1
}

/// The OpenAPI 3.1 description of every endpoint.
#[utoipa::path(
    get,
    path = "/openapi.json",
    operation_id = "openapi",
    tag = "operations",
    responses((status = 200, description = "This description", content_type = "application/json", body = Object))
)]
async fn serve_openapi(
    Extension(document): Extension<Arc<utoipa::openapi::OpenApi>>,
) -> Json<Arc<utoipa::openapi::OpenApi>> {
    Json(document)
}

/// The service's router over a built container.
pub fn router(module: Arc<AppModule>, request_timeout: Duration) -> Router {
    let settings: &dyn AppSettings = module.resolve_ref();
    let settings = settings.settings();
    let limits = settings
        .rate_limit
        .enabled
        .then(|| Arc::new(RateLimits::new(&settings.rate_limit, settings.server.trusted_proxies.clone())));
    let routes = documented(http::routes(&module, limits.as_ref()), graphql::routes(limits.as_ref()));
    let (routes, document) = split(routes, settings.cart.max_line_quantity);
    let mut routes = routes
        .merge(SwaggerUi::new("/docs").config(utoipa_swagger_ui::Config::from("/openapi.json")))
        .fallback(|| async { ApiError::NotFound("no such resource") })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(Extension(Arc::new(document)))
        .layer(DefaultBodyLimit::max(BODY_LIMIT_BYTES));
    if !settings.server.cors_allowed_origins.is_empty() {
        routes = routes.layer(cors(&settings.server.cors_allowed_origins));
    }
    routes
        .layer(
            ServiceBuilder::new()
                .map_request(usable_request_id)
                .map_request(disregard_excluded_codings)
                .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
                .layer(PropagateRequestIdLayer::x_request_id())
                .layer(SetResponseHeaderLayer::overriding(
                    header::X_CONTENT_TYPE_OPTIONS,
                    HeaderValue::from_static("nosniff"),
                ))
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(request_span)
                        .on_request(())
                        .on_response(log_response)
                        // Server errors are logged by `log_response`, with their status.
                        .on_failure(()),
                )
                .layer(axum::middleware::from_fn(http::metrics::track))
                .layer(compression())
                .layer(CatchPanicLayer::custom(panicked))
                .layer(HandleErrorLayer::new(|_: BoxError| async { ApiError::Timeout }))
                .timeout(request_timeout),
        )
        .with_state(module)
}

/// tower-http's compression answers 406 to a request that excludes every
/// coding it can send (`Accept-Encoding: identity;q=0`), but only once the
/// handler has run: a write would be applied and reported as refused. The
/// exclusions (`q=0`) are disregarded instead, as RFC 9110 (12.1) allows:
/// such a request gets an answer in a coding it did not exclude, or none.
fn disregard_excluded_codings(mut request: Request) -> Request {
    if !request.headers().contains_key(header::ACCEPT_ENCODING) {
        return request;
    }
    let fields = request.headers().get_all(header::ACCEPT_ENCODING);
    let Ok(value) = fields.iter().map(HeaderValue::to_str).collect::<Result<Vec<_>, _>>().map(|v| v.join(",")) else {
        return request;
    };
    if !value.contains("q=0") && !value.contains("Q=0") {
        return request;
    }
    let excluded = |coding: &&str| {
        coding.split(';').skip(1).any(|parameter| {
            let (name, q) = parameter.split_once('=').unwrap_or_default();
            name.trim().eq_ignore_ascii_case("q") && q.trim().parse::<f32>() == Ok(0.0)
        })
    };
    let kept: Vec<&str> = value.split(',').map(str::trim).filter(|coding| !excluded(coding)).collect();
    let kept = HeaderValue::from_str(&kept.join(", ")).ok();
    let headers = request.headers_mut();
    headers.remove(header::ACCEPT_ENCODING);
    if let Some(kept) = kept.filter(|kept| !kept.is_empty()) {
        headers.insert(header::ACCEPT_ENCODING, kept);
    }
    request
}

/// gzip or brotli when the client asks (`Accept-Encoding`), for bodies over
/// 1 KiB (smaller ones gain nothing). Level 4 for both: brotli's own default,
/// 11, takes hundreds of milliseconds on a large body; 4 is the usual choice
/// for dynamic content, and gzip's 4 is as fast.
fn compression() -> CompressionLayer<impl Predicate> {
    CompressionLayer::new()
        .quality(CompressionLevel::Precise(4))
        .compress_when(SizeAbove::new(1024).and(NotForContentType::IMAGES))
}

/// CORS for browser pages on the configured origins: they may send the
/// headers our writes take and read the headers our answers carry.
fn cors(origins: &[String]) -> CorsLayer {
    let allowed = if origins.iter().any(|origin| origin == "*") {
        AllowOrigin::any()
    } else {
        // Validated as origins when the settings were loaded.
        AllowOrigin::list(origins.iter().filter_map(|origin| HeaderValue::from_str(origin).ok()))
    };
    CorsLayer::new()
        .allow_origin(allowed)
        .allow_methods([Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE])
        .allow_headers([
            header::CONTENT_TYPE,
            header::AUTHORIZATION,
            header::IF_MATCH,
            header::IF_NONE_MATCH,
            idempotency::IDEMPOTENCY_KEY,
            X_REQUEST_ID,
        ])
        .expose_headers([
            header::ETAG,
            header::LOCATION,
            header::LINK,
            header::RETRY_AFTER,
            idempotency::IDEMPOTENT_REPLAYED,
            X_REQUEST_ID,
        ])
        .max_age(Duration::from_secs(3600))
}

/// The access log's target, which operators filter by (`RUST_LOG=info,shop::http=debug`).
const ACCESS_LOG: &str = "shop::http";

/// A request slower than this is logged as a warning, whatever its status.
const SLOW_REQUEST: Duration = Duration::from_secs(1);

/// The access log: what an operator needs by default, without a line per
/// healthy request (that line cost ≈ 7 % of throughput, BENCHMARKS.md).
/// Server errors at `error`, slow requests at `warn`, refused ones (4xx) at
/// `info`, the rest at `debug` (`RUST_LOG=info,shop::http=debug` shows them).
fn log_response(response: &Response, latency: Duration, _span: &tracing::Span) {
    let status = response.status();
    // Milliseconds to two decimals: 12.35, not 12.345678901.
    let (code, latency_ms) = (status.as_u16(), (latency.as_secs_f64() * 100_000.0).round() / 100.0);
    if status.is_server_error() {
        tracing::error!(target: ACCESS_LOG, status = code, latency_ms, "request failed");
    } else if latency >= SLOW_REQUEST {
        tracing::warn!(target: ACCESS_LOG, status = code, latency_ms, "slow request");
    } else if status.is_client_error() {
        tracing::info!(target: ACCESS_LOG, status = code, latency_ms, "request refused");
    } else {
        tracing::debug!(target: ACCESS_LOG, status = code, latency_ms, "request served");
    }
}

/// One span per request; every log line inside carries its fields.
/// What the client sent is bounded in every log line: a method of at most 16
/// bytes, a URI of at most 768, a request id of at most 128 (see
/// [`usable_request_id`]), so at most 1 KiB of client text.
fn request_span(request: &Request) -> tracing::Span {
    let route = request.extensions().get::<MatchedPath>().map_or("unmatched", MatchedPath::as_str);
    let request_id =
        request.extensions().get::<RequestId>().and_then(|id| id.header_value().to_str().ok()).unwrap_or("-");
    let method = bounded(request.method().as_str(), 16);
    let uri = request.uri().path_and_query().map_or("/", |uri| uri.as_str());
    let span = tracing::info_span!("request", %method, route, uri = %bounded(uri, 768), request_id);
    crate::telemetry::continue_trace(&span, request.headers());
    span
}

/// `text` cut to at most `max` bytes (at a character boundary), marked with `…` when cut.
fn bounded(text: &str, max: usize) -> std::borrow::Cow<'_, str> {
    if text.len() <= max {
        return text.into();
    }
    let cut = (0..=max).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
    format!("{}…", &text[..cut]).into()
}

/// The longest request id kept from a client.
const MAX_REQUEST_ID: usize = 128;

/// A client's `x-request-id` is used only if it is one field of 1 to 128
/// visible ASCII characters; otherwise it is dropped, and the service makes
/// its own, which the response and the log then carry.
fn usable_request_id(mut request: Request) -> Request {
    let mut ids = request.headers().get_all(X_REQUEST_ID).iter();
    let usable = match (ids.next(), ids.next()) {
        (None, _) => true,
        (Some(id), None) => (1..=MAX_REQUEST_ID).contains(&id.len()) && id.as_bytes().iter().all(u8::is_ascii_graphic),
        (Some(_), Some(_)) => false,
    };
    if !usable {
        request.headers_mut().remove(X_REQUEST_ID);
    }
    request
}

/// A handler that panicked: a 500 problem, counted, and logged with the request id.
fn panicked(panic: Box<dyn std::any::Any + Send>) -> Response {
    let message = panic.downcast_ref::<&str>().copied().or_else(|| panic.downcast_ref::<String>().map(String::as_str));
    tracing::error!(panic = message.unwrap_or("(not text)"), "a handler panicked");
    ::metrics::counter!("http_panics_total").increment(1);
    ApiError::Internal("a handler panicked".into()).into_response()
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use axum::http::StatusCode;

    use super::*;

    /// Collects what the subscriber writes.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().map_err(|_| std::io::ErrorKind::Other)?.extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// What `log_response` writes at the default level, `info`.
    fn logged_at_info(status: StatusCode, latency: Duration) -> String {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::INFO)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        let response = Response::builder().status(status).body(axum::body::Body::empty()).expect("response");
        tracing::subscriber::with_default(subscriber, || log_response(&response, latency, &tracing::Span::none()));
        let bytes = captured.0.lock().expect("lock").clone();
        String::from_utf8(bytes).expect("utf-8")
    }

    #[test]
    fn the_access_log_keeps_failures_slow_and_refused_requests_and_skips_healthy_ones() {
        let fast = Duration::from_millis(3);
        let failed = logged_at_info(StatusCode::SERVICE_UNAVAILABLE, fast);
        assert!(failed.contains("ERROR") && failed.contains("status=503"), "{failed}");
        let slow = logged_at_info(StatusCode::OK, SLOW_REQUEST);
        assert!(slow.contains("WARN") && slow.contains("status=200"), "{slow}");
        let refused = logged_at_info(StatusCode::NOT_FOUND, fast);
        assert!(refused.contains("INFO") && refused.contains("status=404"), "{refused}");
        assert_eq!(logged_at_info(StatusCode::OK, fast), "", "a healthy request is logged at debug only");
    }
}

#[cfg(test)]
mod structure {
    use std::path::Path;

    /// The source files of `module` (a directory under `src/`), with their text.
    fn sources(module: &str) -> Vec<(String, String)> {
        let directory = Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join(module);
        let entries = std::fs::read_dir(&directory).expect("the module's directory");
        entries
            .map(|entry| entry.expect("an entry").path())
            .filter(|path| path.extension().is_some_and(|extension| extension == "rs"))
            .map(|path| (path.display().to_string(), std::fs::read_to_string(&path).expect("a source file")))
            .collect()
    }

    /// The modules the code of `text` (comments aside) names in the crate:
    /// `crate::x` and each name of `crate::{x, y}`.
    fn crate_modules(text: &str) -> Vec<&str> {
        let mut modules = Vec::new();
        let code = text.lines().filter(|line| !line.trim_start().starts_with("//"));
        for line in code {
            modules.extend(named_modules(line));
        }
        modules
    }

    fn named_modules(text: &str) -> Vec<&str> {
        let mut modules = Vec::new();
        for (_, rest) in text.match_indices("crate::").map(|(at, _)| text.split_at(at + "crate::".len())) {
            match rest.strip_prefix('{') {
                Some(group) => modules.extend(
                    group
                        .split('}')
                        .next()
                        .unwrap_or_default()
                        .split(',')
                        .map(|name| name.trim().split("::").next().unwrap_or_default()),
                ),
                None => modules.push(rest.split(|c: char| !c.is_alphanumeric() && c != '_').next().unwrap_or_default()),
            }
        }
        modules
    }

    #[test]
    fn the_two_edges_never_import_each_other() {
        assert_eq!(
            crate_modules("use crate::edge::ApiError;\nuse crate::{graphql, http::x};"),
            ["edge", "graphql", "http"]
        );
        for (edge, other) in [("http", "graphql"), ("graphql", "http")] {
            let files = sources(edge);
            assert!(!files.is_empty(), "no sources under src/{edge}");
            for (file, text) in files {
                assert!(
                    !crate_modules(&text).contains(&other),
                    "{file} imports crate::{other}: shared parts go in crate::edge"
                );
                assert!(!text.contains("super::super"), "{file} reaches out of its module by super::super");
            }
        }
    }
}
