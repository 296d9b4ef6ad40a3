//! The admin token for catalog writes (`auth.admin_token`).

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use shaku::HasComponent;
use subtle::ConstantTimeEq;

use super::problem::ApiError;
use crate::container::{AppModule, AppSettings};

/// Proof that the request may write to the catalog: it carries
/// `Authorization: Bearer <auth.admin_token>`, or no token is configured.
/// Put it first among a handler's arguments, so 401 comes before anything else.
#[derive(Debug, Clone, Copy)]
pub struct CatalogAdmin;

impl FromRequestParts<Arc<AppModule>> for CatalogAdmin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, module: &Arc<AppModule>) -> Result<Self, ApiError> {
        let settings: &dyn AppSettings = module.resolve_ref();
        let Some(expected) = settings.settings().auth.admin_token() else {
            return Ok(Self);
        };
        let presented = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .map(str::trim)
            .unwrap_or_default();
        // Constant time: the comparison must not tell how much of a guess was right.
        if bool::from(presented.as_bytes().ct_eq(expected.expose().as_bytes())) {
            Ok(Self)
        } else {
            Err(ApiError::Unauthorized)
        }
    }
}
