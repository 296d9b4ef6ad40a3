//! The HTTP edge: routes, handlers, extractors and the problem+json mapping.
//! Handlers only translate: request → domain values → service call → response.

mod carts;
mod extract;
mod health;
mod input;
mod problem;
mod products;

use std::sync::Arc;
use std::time::Duration;

use axum::error_handling::HandleErrorLayer;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::routing::{get, post, put};
use axum::{BoxError, Router};
use tower::ServiceBuilder;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

pub use problem::{ApiError, FieldError, PROBLEM_BASE, Problem};

use crate::container::AppModule;

/// The largest accepted request body: 64 KiB.
pub const BODY_LIMIT_BYTES: usize = 64 * 1024;

/// The service's router over a built container.
pub fn router(module: Arc<AppModule>, request_timeout: Duration) -> Router {
    let api = Router::new()
        .route("/products", post(products::create).get(products::list))
        .route("/products/{product_id}", get(products::get).patch(products::update).delete(products::delete))
        .route("/carts", post(carts::create))
        .route("/carts/{cart_id}", get(carts::get).delete(carts::delete))
        .route("/carts/{cart_id}/items", post(carts::add_item).delete(carts::clear))
        .route("/carts/{cart_id}/items/{product_id}", put(carts::set_item).delete(carts::remove_item));

    Router::new()
        .nest("/api/v1", api)
        .route("/health/live", get(health::live))
        .route("/health/ready", get(health::ready))
        .fallback(|| async { ApiError::NotFound("no such resource") })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(BODY_LIMIT_BYTES))
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
                .layer(PropagateRequestIdLayer::x_request_id())
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(request_span)
                        .on_request(())
                        .on_response(DefaultOnResponse::new().level(Level::INFO)),
                )
                .layer(HandleErrorLayer::new(|_: BoxError| async { ApiError::Timeout }))
                .timeout(request_timeout),
        )
        .with_state(module)
}

/// One span per request; every log line inside carries its fields.
fn request_span(request: &Request) -> tracing::Span {
    let route = request.extensions().get::<MatchedPath>().map_or("unmatched", MatchedPath::as_str);
    let request_id =
        request.extensions().get::<RequestId>().and_then(|id| id.header_value().to_str().ok()).unwrap_or("-");
    tracing::info_span!("request", method = %request.method(), route, uri = %request.uri(), request_id)
}
