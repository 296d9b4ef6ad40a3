//! The admin token for catalog writes (`auth.admin_token`).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use shaku::HasComponent;
use subtle::ConstantTimeEq;

use super::ApiError;
use crate::container::{AppModule, AppSettings};
use crate::settings::Settings;

/// Route layer over the catalog: a write (any method but `GET`, `HEAD` and
/// `OPTIONS`) needs `Authorization: Bearer <auth.admin_token>` when a token
/// is configured. It runs before anything else looks at the request, so 401
/// comes before a malformed body or an idempotency key.
pub async fn catalog_writes(State(module): State<Arc<AppModule>>, request: Request, next: Next) -> Response {
    if matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(request).await;
    }
    let settings: &dyn AppSettings = module.resolve_ref();
    if is_admin(settings.settings(), request.headers()) {
        next.run(request).await
    } else {
        ApiError::Unauthorized.into_response()
    }
}

/// Whether a request with `headers` may write to the catalog: it carries the
/// admin token, or no token is configured.
pub fn is_admin(settings: &Settings, headers: &HeaderMap) -> bool {
    settings.auth.admin_token().is_none_or(|token| presents(headers, token.expose()))
}

/// Whether `headers` carry `Authorization: Bearer <token>`.
fn presents(headers: &HeaderMap, token: &str) -> bool {
    // The scheme is case-insensitive (RFC 9110): `Bearer`, `bearer`, `BEARER`.
    let presented = headers
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .unwrap_or_default();
    // Constant time: the comparison must not tell how much of a guess was right.
    bool::from(presented.as_bytes().ct_eq(token.as_bytes()))
}
