//! The HTTP edge: routes, handlers, extractors and the problem+json mapping.
//! Handlers only translate: request → domain values → service call → response.

mod auth;
mod carts;
mod extract;
mod health;
mod input;
mod metrics;
mod openapi;
mod problem;
mod products;

use std::sync::Arc;
use std::time::Duration;

use axum::error_handling::HandleErrorLayer;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::{BoxError, Extension, Json, Router};
use tower::ServiceBuilder;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use utoipa_swagger_ui::SwaggerUi;

use crate::container::AppModule;
use openapi::ApiDoc;
use problem::ApiError;

/// The largest accepted request body: 64 KiB.
pub const BODY_LIMIT_BYTES: usize = 64 * 1024;

/// The routes, each with its OpenAPI operation: a handler routed here is a
/// documented one.
fn documented_routes() -> OpenApiRouter<Arc<AppModule>> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(products::create, products::list))
        .routes(routes!(products::get, products::update, products::delete))
        .routes(routes!(carts::create))
        .routes(routes!(carts::get, carts::delete))
        .routes(routes!(carts::add_item, carts::clear))
        .routes(routes!(carts::set_item, carts::remove_item))
        .routes(routes!(health::live))
        .routes(routes!(health::ready))
        .routes(routes!(metrics::render))
        .routes(routes!(serve_openapi))
}

/// The routes and their complete OpenAPI description.
fn routes_and_description() -> (Router<Arc<AppModule>>, utoipa::openapi::OpenApi) {
    let (routes, mut document) = documented_routes().split_for_parts();
    openapi::Shared.modify(&mut document);
    (routes, document)
}

/// The OpenAPI description of the service, as `GET /openapi.json` serves it.
pub fn openapi() -> utoipa::openapi::OpenApi {
    routes_and_description().1
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
    let (routes, document) = routes_and_description();
    routes
        .merge(SwaggerUi::new("/docs").config(utoipa_swagger_ui::Config::from("/openapi.json")))
        .fallback(|| async { ApiError::NotFound("no such resource") })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(Extension(Arc::new(document)))
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
                .layer(axum::middleware::from_fn(metrics::track))
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
