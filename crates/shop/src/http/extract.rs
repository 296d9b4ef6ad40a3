//! Extractors whose rejections are [`ApiError`]s, so that even a malformed
//! request gets a problem+json answer.

use axum::extract::{FromRequest, FromRequestParts};
use axum::http::header::IF_MATCH;
use axum::http::request::Parts;
use shop_domain::Version;

use super::problem::ApiError;

/// `axum::Json` with problem+json rejections (400, 413, 415, 422).
#[derive(Debug, FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

/// `axum::extract::Path` with a 400 problem for a malformed id.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

/// `axum::extract::Query` with a 400 problem for a malformed parameter.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

/// The version named by `If-Match: "<version>"`; `None` when absent or `*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IfMatch(pub Option<Version>);

/// Documents the `If-Match` header of cart writes.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)] // documentation only; `IfMatch` parses the header
pub struct IfMatchHeader {
    /// Change the cart only if it is at this version: `"3"` (the `ETag` of a cart response). `*` matches any.
    #[param(rename = "If-Match", nullable = false, pattern = r#"^(\*|(W/)?"[^"]*")$"#, example = "\"3\"")]
    if_match: Option<String>,
}

/// A version no cart ever reaches: what an entity tag that cannot be one of
/// ours (a weak tag, a non-number) stands for, so that it fails to match (412).
const NEVER_MATCHES: Version = Version(u64::MAX);

impl<S: Send + Sync> FromRequestParts<S> for IfMatch {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let Some(value) = parts.headers.get(IF_MATCH) else {
            return Ok(Self(None));
        };
        let malformed = || ApiError::Malformed("If-Match must be \"*\" or one entity tag such as \"3\"".to_owned());
        let text = value.to_str().map_err(|_| malformed())?.trim();
        if text == "*" {
            return Ok(Self(None));
        }
        let (weak, tag) = match text.strip_prefix("W/") {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let opaque = tag.strip_prefix('"').and_then(|t| t.strip_suffix('"')).ok_or_else(malformed)?;
        if opaque.contains('"') {
            return Err(malformed()); // a list of tags: not supported
        }
        // If-Match compares strongly: a weak tag never matches.
        let version = match (weak, opaque.parse::<u64>()) {
            (false, Ok(number)) => Version(number),
            _ => NEVER_MATCHES,
        };
        Ok(Self(Some(version)))
    }
}
