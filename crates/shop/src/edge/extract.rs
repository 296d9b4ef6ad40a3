//! Extractors whose rejections are [`ApiError`]s, so that even a malformed
//! request gets a problem+json answer.

use axum::Json;
use axum::extract::{FromRequest, FromRequestParts, OptionalFromRequest, Request};
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

use super::ApiError;

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
