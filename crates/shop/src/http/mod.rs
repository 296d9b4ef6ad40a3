//! The REST edge: the resources under `/api/v1` and the operational
//! endpoints, their handlers, extractors and route layers. Handlers only
//! translate: request → domain values → service call → response. What the
//! GraphQL edge shares with this one is in `crate::edge`.

mod carts;
mod extract;
mod health;
mod idempotency;
mod input;
pub(crate) mod metrics;
mod products;
mod timestamp;

use std::sync::Arc;

use axum::middleware;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::container::AppModule;
use crate::edge::auth;
use crate::edge::rate_limit::{self, RateLimits, Writes};

/// The routes, each with its OpenAPI operation (a handler routed here is a
/// documented one), grouped by the route layers [`routes`] gives them.
struct Groups {
    /// The catalog: its writes need the admin token; creating takes an idempotency key.
    catalog: OpenApiRouter<Arc<AppModule>>,
    /// Creating a cart: takes an idempotency key, and counts against the limit on new carts.
    new_carts: OpenApiRouter<Arc<AppModule>>,
    /// Adding to a cart and emptying one: they take an idempotency key.
    keyed_lines: OpenApiRouter<Arc<AppModule>>,
    /// The other cart operations.
    carts: OpenApiRouter<Arc<AppModule>>,
    /// Health and metrics: never limited.
    operations: OpenApiRouter<Arc<AppModule>>,
}

fn groups() -> Groups {
    Groups {
        catalog: OpenApiRouter::new().routes(routes!(products::create, products::list)).routes(routes!(
            products::get,
            products::update,
            products::delete
        )),
        new_carts: OpenApiRouter::new().routes(routes!(carts::create)),
        keyed_lines: OpenApiRouter::new().routes(routes!(carts::add_item, carts::clear)),
        carts: OpenApiRouter::new()
            .routes(routes!(carts::get, carts::delete))
            .routes(routes!(carts::set_item, carts::remove_item)),
        operations: OpenApiRouter::new()
            .routes(routes!(health::live))
            .routes(routes!(health::ready))
            .routes(routes!(metrics::render)),
    }
}

/// The REST routes without their layers: what the OpenAPI document describes.
pub fn documented() -> OpenApiRouter<Arc<AppModule>> {
    let Groups { catalog, new_carts, keyed_lines, carts, operations } = groups();
    catalog.merge(new_carts).merge(keyed_lines).merge(carts).merge(operations)
}

/// The REST routes with their route layers, writes limited by `limits` (if on).
pub fn routes(module: &Arc<AppModule>, limits: Option<&Arc<RateLimits>>) -> OpenApiRouter<Arc<AppModule>> {
    let once = || middleware::from_fn_with_state(module.clone(), idempotency::once);
    // Route layers added later run first: the rate limit, then the token, then the idempotency key.
    let limited = |routes: OpenApiRouter<Arc<AppModule>>, writes| match limits {
        Some(limits) => routes.route_layer(middleware::from_fn_with_state((limits.clone(), writes), rate_limit::limit)),
        None => routes,
    };
    let Groups { catalog, new_carts, keyed_lines, carts, operations } = groups();
    let catalog =
        catalog.route_layer(once()).route_layer(middleware::from_fn_with_state(module.clone(), auth::catalog_writes));
    limited(catalog, Writes::Any)
        .merge(limited(new_carts.route_layer(once()), Writes::NewCart))
        .merge(limited(keyed_lines.route_layer(once()), Writes::Any))
        .merge(limited(carts, Writes::Any))
        .merge(operations)
}
