//! `/health/live` and `/health/ready`.

use axum::Json;
use serde::Serialize;
use shaku_axum::Inject;
use shop_application::ports::StorageHealth;

use crate::container::AppModule;
use crate::edge::ApiError;

/// The body of a healthy answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(example = json!({"status": "ok"}))]
pub struct Status {
    status: &'static str,
    /// Readiness only: which database pools answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pools: Option<Pools>,
}

/// Which pools answer a readiness probe: `up` or `down`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(example = json!({"primary": "up", "replica": "down"}))]
pub struct Pools {
    /// Every write and cart read; the service is not ready without it.
    primary: &'static str,
    /// Catalog reads (`database.replica_url`); absent without one. Down, its
    /// reads go to the primary.
    #[serde(skip_serializing_if = "Option::is_none")]
    replica: Option<&'static str>,
}

/// Liveness: 200 while the process serves.
#[utoipa::path(
    get,
    path = "/health/live",
    operation_id = "liveness",
    tag = "operations",
    responses((status = 200, description = "Alive", body = Status))
)]
pub async fn live() -> Json<Status> {
    Json(Status { status: "ok", pools: None })
}

/// Readiness: 200 when the storage answers (saying whether a read replica
/// does too), else 503.
#[utoipa::path(
    get,
    path = "/health/ready",
    operation_id = "readiness",
    tag = "operations",
    responses((status = 200, description = "The database answers", body = Status))
)]
pub async fn ready(storage: Inject<AppModule, dyn StorageHealth>) -> Result<Json<Status>, ApiError> {
    let readiness = storage.ping().await?;
    let state = |up: bool| if up { "up" } else { "down" };
    let pools = Pools { primary: "up", replica: readiness.replica.map(state) };
    Ok(Json(Status { status: "ok", pools: Some(pools) }))
}
