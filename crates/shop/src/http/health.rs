//! `/health/live` and `/health/ready`.

use axum::Json;
use serde::Serialize;
use shaku_axum::Inject;
use shop_application::StorageError;
use shop_infrastructure::seaorm::DatabaseEngine;

use super::problem::ApiError;
use crate::container::AppModule;

/// The body of a healthy answer.
#[derive(Debug, Serialize)]
pub struct Status {
    status: &'static str,
}

/// `GET /health/live`: 200 while the process serves.
pub async fn live() -> Json<Status> {
    Json(Status { status: "ok" })
}

/// `GET /health/ready`: 200 when the database answers, else 503.
pub async fn ready(engine: Inject<AppModule, dyn DatabaseEngine>) -> Result<Json<Status>, ApiError> {
    engine.connection().ping().await.map_err(|err| ApiError::Unavailable(StorageError::Unavailable(Box::new(err))))?;
    Ok(Json(Status { status: "ok" }))
}
