//! The GraphQL edge: the Python original's own interface (queries
//! `products`, `product`, `cart`; mutations `createProduct`,
//! `updateProductInfo`, `createCart`, `addToCart` and five more), a second
//! driving adapter over the same application services as the REST handlers
//! of `http/`. Like them it only translates: arguments → domain values →
//! service call → GraphQL objects, and application errors → the edges'
//! shared `ApiError` → a GraphQL error with its code.
//!
//! The transport (`POST /graphql`, the IDE, the SDL) is in `transport.rs`.
//! What this edge shares with REST is in `crate::edge`, never in `crate::http`.

mod errors;
mod operation;
mod schema;
mod transport;
mod types;

use std::sync::{Arc, OnceLock};

use axum::middleware;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::container::AppModule;
use crate::edge::rate_limit::{self, RateLimits};

use errors::{graphql_error, with_code};
use operation::{MAX_ROOT_FIELDS, Operation};
use schema::ShopSchema;
use schema::{Caller, KeyUse};

/// The schema, built once: building it walks every type.
fn schema() -> &'static ShopSchema {
    static SCHEMA: OnceLock<ShopSchema> = OnceLock::new();
    SCHEMA.get_or_init(schema::build)
}

/// The schema in SDL, as `GET /graphql/schema.graphql` serves it and
/// `docs/schema.graphql` keeps it.
pub fn sdl() -> String {
    schema().sdl()
}

/// The GraphQL routes without their layers: what the OpenAPI document describes.
pub fn documented() -> OpenApiRouter<Arc<AppModule>> {
    OpenApiRouter::new().routes(routes!(transport::execute, transport::ide)).routes(routes!(transport::schema))
}

/// The GraphQL routes; a document's mutations are checked against `limits` (if on).
pub fn routes(limits: Option<&Arc<RateLimits>>) -> OpenApiRouter<Arc<AppModule>> {
    // The IDE's assets are served, not described.
    let routes = documented().route("/graphql/assets/{name}", axum::routing::get(transport::asset));
    match limits {
        Some(limits) => routes.route_layer(middleware::from_fn_with_state(limits.clone(), rate_limit::hand_over)),
        None => routes,
    }
}
