//! `Idempotency-Key` on the REST routes whose use cases take an `Idempotent`
//! write (the key's rules both edges share are in `edge/idempotency.rs`): a route layer
//! ([`once`]) that claims the key, replays a kept answer, refuses a reused or
//! busy key, and releases the claim when the request fails.
//!
//! The answer itself is stored by the write, in the transaction of its
//! change: handlers render their response with [`Rendered`], hand the same
//! rendering to the use case ([`KeyClaim::once`]), and a replay decodes it
//! byte for byte.

use std::sync::Arc;

use axum::body::{Body, to_bytes};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use shaku::HasComponent;
use shop_application::idempotency::{Answer, Claim, Fingerprint, IdempotencyService, Idempotent};

use crate::container::AppModule;
use crate::edge::idempotency::{
    IDEMPOTENCY_KEY, Keyed, Unfinished, claim, fingerprint_of, key, mark_replayed, release,
};
use crate::edge::{ApiError, BODY_LIMIT_BYTES};

/// Route layer: a `POST` with an `Idempotency-Key` runs at most once per key.
/// Other requests pass untouched. Put it inside any layer that checks
/// credentials, which come before the key.
pub async fn once(State(module): State<Arc<AppModule>>, request: Request, next: Next) -> Response {
    if request.method() != Method::POST || !request.headers().contains_key(IDEMPOTENCY_KEY) {
        return next.run(request).await;
    }
    match claimed(module, request, next).await {
        Ok(response) | Err(response) => response,
    }
}

async fn claimed(module: Arc<AppModule>, request: Request, next: Next) -> Result<Response, Response> {
    let key = key(request.headers()).map_err(IntoResponse::into_response)?;
    let (parts, body) = request.into_parts();
    // The body is part of what the key stands for; the limit is the one every body has.
    let bytes = to_bytes(body, BODY_LIMIT_BYTES).await.map_err(|err| {
        let too_large = err.into_inner().downcast_ref::<http_body_util::LengthLimitError>().is_some();
        let problem = if too_large {
            ApiError::PayloadTooLarge
        } else {
            ApiError::Malformed("the request body could not be read".to_owned())
        };
        problem.into_response()
    })?;
    let keys: &dyn IdempotencyService = module.resolve_ref();
    let claim = match claim(keys, key, fingerprint(&parts, &bytes)).await.map_err(IntoResponse::into_response)? {
        Keyed::Run(claim) => claim,
        Keyed::Replay(answer) => return Ok(replay(&answer)),
    };
    let mut request = Request::from_parts(parts, Body::from(bytes));
    request.extensions_mut().insert(KeyClaim(Some(claim.clone())));
    let unfinished = Unfinished::new(module.clone(), claim);
    let response = next.run(request).await;
    let claim = unfinished.finish();
    if !response.status().is_success() {
        release(keys, &claim).await;
    }
    Ok(response)
}

/// What makes two requests "the same request": method, path and body bytes.
fn fingerprint(parts: &Parts, body: &[u8]) -> Fingerprint {
    fingerprint_of(&parts.method, parts.uri.path(), body)
}

/// The claim [`once`] holds for this request, if it came with a key.
#[derive(Debug, Clone, Default)]
pub struct KeyClaim(Option<Claim>);

impl KeyClaim {
    /// The use case's idempotent write under this claim, answered by `answer`.
    pub fn once<'a, T>(&'a self, answer: &'a (dyn Fn(&T) -> Answer + Sync)) -> Option<Idempotent<'a, T>> {
        self.0.as_ref().map(|claim| Idempotent { claim, answer })
    }
}

impl<S: Send + Sync> FromRequestParts<S> for KeyClaim {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(parts.extensions.get::<Self>().cloned().unwrap_or_default())
    }
}

/// A JSON response rendered to bytes: what a handler answers, and, for a
/// write with a key, what is kept and replayed, the same bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rendered {
    status: u16,
    location: Option<String>,
    etag: Option<String>,
    body: String,
}

impl Rendered {
    /// `body` as JSON, with `status` and the given `Location` and `ETag`.
    pub fn json(status: StatusCode, body: &impl Serialize, location: Option<String>, etag: Option<String>) -> Self {
        // Our response types always serialize; a failure would be a bug, shown as a 500.
        let body = serde_json::to_string(body).unwrap_or_default();
        Self { status: status.as_u16(), location, etag, body }
    }

    /// With an `ETag` that is a digest of the body: it changes exactly when
    /// what the client sees changes (products, which have no version).
    pub fn tagged_by_content(mut self) -> Self {
        use base64::Engine;
        let digest = Sha256::digest(self.body.as_bytes());
        let tag = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..12]);
        self.etag = Some(format!("\"{tag}\""));
        self
    }

    /// The `ETag` it carries, if any.
    pub fn etag(&self) -> Option<&str> {
        self.etag.as_deref()
    }

    /// The answer a key keeps.
    pub fn answer(&self) -> Answer {
        Answer(serde_json::to_vec(self).unwrap_or_default())
    }
}

impl IntoResponse for Rendered {
    fn into_response(self) -> Response {
        let Ok(status) = StatusCode::from_u16(self.status) else {
            return ApiError::Internal(format!("a rendered status {} is no status", self.status).into())
                .into_response();
        };
        let mut response = (status, self.body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        for (name, value) in [(header::LOCATION, self.location), (header::ETAG, self.etag)] {
            if let Some(value) = value.and_then(|v| HeaderValue::from_str(&v).ok()) {
                headers.insert(name, value);
            }
        }
        response
    }
}
/// The kept answer, as it was first given, marked as a replay.
fn replay(answer: &Answer) -> Response {
    match serde_json::from_slice::<Rendered>(&answer.0) {
        Ok(rendered) => {
            let mut response = rendered.into_response();
            mark_replayed(&mut response);
            response
        }
        Err(err) => {
            ApiError::Internal(format!("a kept idempotent answer does not decode: {err}").into()).into_response()
        }
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rendered_answer_replays_byte_for_byte() {
        let rendered = Rendered::json(StatusCode::CREATED, &serde_json::json!({"id": 1}), Some("/x/1".into()), None);
        let again: Rendered = serde_json::from_slice(&rendered.answer().0).expect("decodes");
        assert_eq!(again, rendered);
    }
}
