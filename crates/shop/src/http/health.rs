//! `/health/live` and `/health/ready`.

use axum::Json;
use serde::Serialize;
use shaku_axum::Inject;
use shop_application::ports::StorageHealth;

use super::problem::ApiError;
use crate::container::AppModule;

/// The body of a healthy answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(example = json!({"status": "ok"}))]
pub struct Status {
    status: &'static str,
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
    Json(Status { status: "ok" })
}

/// Readiness: 200 when the storage answers, else 503.
#[utoipa::path(
    get,
    path = "/health/ready",
    operation_id = "readiness",
    tag = "operations",
    responses((status = 200, description = "The database answers", body = Status))
)]
pub async fn ready(storage: Inject<AppModule, dyn StorageHealth>) -> Result<Json<Status>, ApiError> {
    storage.ping().await?;
    Ok(Json(Status { status: "ok" }))
}
