//! `Idempotency-Key` (draft-ietf-httpapi-idempotency-key-header), what both
//! edges share: the header, the key's syntax, what makes two requests the
//! same one, claiming and releasing a key, and marking a replay. REST's
//! route layer is `http/idempotency.rs`; GraphQL's check is in its transport.

use std::sync::Arc;

use axum::http::{HeaderMap, HeaderName, HeaderValue, Method};
use axum::response::Response;
use sha2::{Digest, Sha256};
use shaku::HasComponent;
use shop_application::idempotency::{Answer, Claim, Claimed, Fingerprint, IdempotencyKey, IdempotencyService};

use super::ApiError;
use crate::container::AppModule;

/// The request header that carries the key.
pub const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");
/// The response header of a replayed answer.
pub const IDEMPOTENT_REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");

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
/// Marks `response` as a replay of a kept answer.
pub fn mark_replayed(response: &mut Response) {
    response.headers_mut().insert(IDEMPOTENT_REPLAYED, HeaderValue::from_static("true"));
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
}
