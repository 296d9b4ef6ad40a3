//! Extractors whose rejections are [`ApiError`]s, so that even a malformed
//! request gets a problem+json answer.

use axum::Json;
use axum::extract::{FromRequest, FromRequestParts, OptionalFromRequest, Request};
use axum::http::header::IF_MATCH;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use shop_domain::Version;

use super::problem::ApiError;

/// A JSON object body. A body that is not JSON at all is refused here, with
/// `axum::Json`'s checks (content type, syntax, the body limit) as problems
/// (415, 400, 413). Its content is the handler's to judge, after what takes
/// precedence (an unknown cart): JSON that is not an object is the 422 inside.
/// `Option<ApiJson<T>>`: no body without a content type.
#[derive(Debug)]
pub struct ApiJson<T>(pub Result<T, ApiError>);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let Json(body) = <Json<Box<RawValue>> as FromRequest<S>>::from_request(request, state).await?;
        Ok(Self(object(&body)))
    }
}

impl<S: Send + Sync, T: DeserializeOwned> OptionalFromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Option<Self>, ApiError> {
        let body = <Json<Box<RawValue>> as OptionalFromRequest<S>>::from_request(request, state).await?;
        Ok(body.map(|Json(body)| Self(object(&body))))
    }
}

/// The body as `T`; bodies are objects (or `null`, where `T` is an `Option`).
fn object<T: DeserializeOwned>(body: &RawValue) -> Result<T, ApiError> {
    let not_an_object = || ApiError::invalid_field("body", "the body must be a JSON object");
    let text = body.get();
    if !(text.starts_with('{') || text == "null") {
        return Err(not_an_object());
    }
    serde_json::from_str(text).map_err(|_| not_an_object())
}

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
