//! `Idempotency-Key` (draft-ietf-httpapi-idempotency-key-header) on the
//! routes whose use cases take an `Idempotent` write: a route layer
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
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use shaku::HasComponent;
use shop_application::idempotency::{
    Answer, Claim, Claimed, Fingerprint, IdempotencyKey, IdempotencyService, Idempotent,
};

use super::BODY_LIMIT_BYTES;
use super::problem::ApiError;
use crate::container::AppModule;

/// The request header that carries the key.
pub const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");
/// The response header of a replayed answer.
pub const IDEMPOTENT_REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");

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

/// What the claim of a key decided for its request.
pub enum Keyed {
    /// The key is this request's: run it under the claim.
    Run(Claim),
    /// It ran before: answer with what it answered.
    Replay(Answer),
}

/// Claims `key` for the request of `fingerprint`; a key used for another
/// request, or whose first request still runs, is an error.
pub async fn claim(
    keys: &dyn IdempotencyService,
    key: IdempotencyKey,
    fingerprint: Fingerprint,
) -> Result<Keyed, ApiError> {
    match keys.claim(key, fingerprint).await? {
        Claimed::Mine(claim) => Ok(Keyed::Run(claim)),
        Claimed::Answered(answer) => Ok(Keyed::Replay(answer)),
        Claimed::OtherRequest => Err(ApiError::IdempotencyKeyReused),
        Claimed::Running { until } => {
            let seconds = (until - chrono::Utc::now()).num_seconds().max(1);
            Err(ApiError::IdempotencyKeyInFlight { retry_after: seconds.unsigned_abs() })
        }
    }
}

/// A failed request changed nothing: a retry with its key runs again. If the
/// release fails, the claim frees itself when its lease runs out.
pub async fn release(keys: &dyn IdempotencyService, claim: &Claim) {
    if let Err(err) = keys.release(claim).await {
        tracing::warn!(error = %err, "releasing an idempotency key failed; it frees itself when its lease runs out");
    }
}

/// Releases the claim of a request dropped before it finished (it timed out,
/// or its client went away): its transaction, if any, rolled back, and if it
/// did commit, its answer is stored and the release leaves it alone. A
/// panic, like a crash, leaves the claim to its lease.
pub struct Unfinished {
    module: Arc<AppModule>,
    claim: Claim,
    finished: bool,
}

impl Unfinished {
    /// Watches `claim` until [`Unfinished::finish`].
    pub fn new(module: Arc<AppModule>, claim: Claim) -> Self {
        Self { module, claim, finished: false }
    }

    /// The request finished: its claim, now the caller's to release or keep.
    pub fn finish(mut self) -> Claim {
        self.finished = true;
        self.claim.clone()
    }
}

impl Drop for Unfinished {
    fn drop(&mut self) {
        if self.finished || std::thread::panicking() {
            return;
        }
        let (module, claim) = (self.module.clone(), self.claim.clone());
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move { release(module.resolve_ref(), &claim).await });
        }
    }
}

/// The key of `headers`: one field, 16 to 255 visible ASCII characters, bare
/// or as a quoted string.
pub fn key(headers: &HeaderMap) -> Result<IdempotencyKey, ApiError> {
    let malformed = || {
        ApiError::Malformed(
            "Idempotency-Key must be one field of 16 to 255 visible ASCII characters, bare or in quotes".to_owned(),
        )
    };
    let mut fields = headers.get_all(IDEMPOTENCY_KEY).iter();
    let (Some(value), None) = (fields.next(), fields.next()) else {
        return Err(malformed());
    };
    let text = value.to_str().map_err(|_| malformed())?;
    let text = text.strip_prefix('"').and_then(|t| t.strip_suffix('"')).unwrap_or(text);
    if text.contains('"') {
        return Err(malformed()); // a quote belongs around the key, not in it
    }
    IdempotencyKey::new(text).map_err(|_| malformed())
}

/// What makes two requests "the same request": method, path and body bytes.
fn fingerprint(parts: &Parts, body: &[u8]) -> Fingerprint {
    fingerprint_of(&parts.method, parts.uri.path(), body)
}

/// The fingerprint of a request to `path` with `method` and `body`.
pub fn fingerprint_of(method: &Method, path: &str, body: &[u8]) -> Fingerprint {
    let mut digest = Sha256::new();
    digest.update(method.as_str());
    digest.update(b" ");
    digest.update(path);
    digest.update(b"\n");
    digest.update(body);
    Fingerprint(digest.finalize().into())
}

/// Documents the `Idempotency-Key` header of the writes that take one.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)] // documentation only; `once` reads the header
pub struct IdempotencyKeyHeader {
    /// Makes retrying this request safe: the first request with a key runs; the same request sent
    /// again with it within `idempotency.ttl` (24 h) changes nothing and gets the first answer again,
    /// with `Idempotent-Replayed: true`. 16 to 255 visible ASCII characters other than `"` (a new
    /// random UUID per request is the usual choice), bare or in double quotes. The same key with another request is a 422
    /// (`idempotency-key-reused`); while its first request runs, a 409 with `Retry-After`. A request
    /// that fails keeps nothing.
    #[param(rename = "Idempotency-Key", nullable = false, pattern = r#"^("[!#-~]{16,255}"|[!#-~]{16,255})$"#)]
    idempotency_key: Option<String>,
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

/// Marks `response` as a replay of a kept answer.
pub fn mark_replayed(response: &mut Response) {
    response.headers_mut().insert(IDEMPOTENT_REPLAYED, HeaderValue::from_static("true"));
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

    fn headers(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(IDEMPOTENCY_KEY, HeaderValue::from_str(value).expect("a header value"));
        }
        headers
    }

    #[test]
    fn keys_are_one_field_of_16_to_255_visible_ascii_characters() {
        let sixteen = "0123456789abcdef";
        assert_eq!(key(&headers(&[sixteen])).map(|k| k.as_str().to_owned()).ok().as_deref(), Some(sixteen));
        let quoted = format!("\"{sixteen}\"");
        assert_eq!(key(&headers(&[&quoted])).map(|k| k.as_str().to_owned()).ok().as_deref(), Some(sixteen));
        assert!(key(&headers(&[&"k".repeat(255)])).is_ok());
        for bad in
            ["0123456789abcde", &"k".repeat(256), "0123456789 abcdef", "\"0123456789abcde\"", "", "0123456789\"abcdef"]
        {
            assert!(key(&headers(&[bad])).is_err(), "{bad:?}");
        }
        assert!(key(&headers(&[sixteen, sixteen])).is_err(), "two fields");
    }

    #[test]
    fn a_rendered_answer_replays_byte_for_byte() {
        let rendered = Rendered::json(StatusCode::CREATED, &serde_json::json!({"id": 1}), Some("/x/1".into()), None);
        let again: Rendered = serde_json::from_slice(&rendered.answer().0).expect("decodes");
        assert_eq!(again, rendered);
    }
}
