//! The one error type of the HTTP edge. Every error of every layer becomes an
//! [`ApiError`] here, once, and leaves as `application/problem+json` (RFC 9457).

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use shop_application::{
    AddItemError, CartWriteError, GetCartError, ProductError, RemoveItemError, SetItemError, StorageError,
};

/// One offending field of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    /// The field's name in the request (`price`, `quantity`, …).
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

impl FieldError {
    /// An error of `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into() }
    }
}

/// An error response.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the request is not well-formed (bad JSON, id, query parameter, header).
    #[error("{0}")]
    Malformed(String),
    /// 422: well-formed, but breaks a rule; names each offending field.
    #[error("{detail}")]
    Validation {
        /// A summary.
        detail: String,
        /// The offending fields.
        errors: Vec<FieldError>,
    },
    /// 404
    #[error("{0}")]
    NotFound(&'static str),
    /// 401: catalog writes need the admin token.
    #[error("this operation needs `Authorization: Bearer <admin token>`")]
    Unauthorized,
    /// 412: `If-Match` names another version than the cart's.
    #[error("the cart is at version {current}; the request expected another (If-Match)")]
    PreconditionFailed {
        /// The cart's version.
        current: u64,
    },
    /// 405
    #[error("this method is not allowed here")]
    MethodNotAllowed,
    /// 413
    #[error("the request body is larger than {} bytes", crate::http::BODY_LIMIT_BYTES)]
    PayloadTooLarge,
    /// 415
    #[error("the request body must be JSON (Content-Type: application/json)")]
    UnsupportedMediaType,
    /// 422: an `Idempotency-Key` sent before with another request.
    #[error("this Idempotency-Key was used for another request; use a new key for a new request")]
    IdempotencyKeyReused,
    /// 409: the first request with this `Idempotency-Key` is still running.
    #[error("a request with this Idempotency-Key is still running; retry after it finished")]
    IdempotencyKeyInFlight {
        /// Seconds until its claim runs out at the latest.
        retry_after: u64,
    },
    /// 429: the client is over a rate limit.
    #[error("too many writes from this client; retry after {retry_after} s")]
    RateLimited {
        /// Seconds until the client may write again.
        retry_after: u64,
    },
    /// 503: the database cannot be reached now.
    #[error("the service cannot reach its database; try again shortly")]
    Unavailable(#[source] StorageError),
    /// 503: the request took longer than `server.request_timeout_secs`.
    #[error("the request took too long")]
    Timeout,
    /// 500: a bug or a broken dependency; details go to the log only.
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl ApiError {
    /// A 422 for one field.
    pub fn invalid_field(field: &str, message: impl Into<String>) -> Self {
        Self::invalid(vec![FieldError::new(field, message)])
    }

    /// A 422 for several fields.
    pub fn invalid(errors: Vec<FieldError>) -> Self {
        let detail = errors.iter().map(|e| e.message.as_str()).collect::<Vec<_>>().join("; ");
        Self::Validation { detail, errors }
    }

    pub(crate) fn status(&self) -> StatusCode {
        match self {
            Self::Malformed(_) => StatusCode::BAD_REQUEST,
            Self::Validation { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::PreconditionFailed { .. } => StatusCode::PRECONDITION_FAILED,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::IdempotencyKeyReused => StatusCode::UNPROCESSABLE_ENTITY,
            Self::IdempotencyKeyInFlight { .. } => StatusCode::CONFLICT,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable(_) | Self::Timeout => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The problem type: what a client tells apart, and its title.
    pub(crate) fn kind(&self) -> (&'static str, &'static str) {
        match self {
            Self::Malformed(_) => ("malformed-request", "Malformed request"),
            Self::Validation { .. } => ("validation", "Validation failed"),
            Self::NotFound(_) => ("not-found", "Not found"),
            Self::Unauthorized => ("unauthorized", "Unauthorized"),
            Self::PreconditionFailed { .. } => ("precondition-failed", "Precondition failed"),
            Self::MethodNotAllowed => ("method-not-allowed", "Method not allowed"),
            Self::PayloadTooLarge => ("payload-too-large", "Payload too large"),
            Self::UnsupportedMediaType => ("unsupported-media-type", "Unsupported media type"),
            Self::IdempotencyKeyReused => ("idempotency-key-reused", "Idempotency key reused"),
            Self::IdempotencyKeyInFlight { .. } => ("idempotency-key-in-flight", "Idempotency key in flight"),
            Self::RateLimited { .. } => ("rate-limited", "Too many requests"),
            Self::Unavailable(_) | Self::Timeout => ("service-unavailable", "Service unavailable"),
            Self::Internal(_) => ("internal", "Internal server error"),
        }
    }
}

/// The problem document (RFC 9457).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(example = json!({
    "type": "https://shop.example/problems/validation", "title": "Validation failed", "status": 422,
    "detail": "price must be an integer between 0 and 1000000000",
    "errors": [{"field": "price", "message": "price must be an integer between 0 and 1000000000"}]
}))]
pub struct Problem {
    /// URI of the problem type: `…/problems/{malformed-request, validation, not-found, unauthorized,
    /// precondition-failed, payload-too-large, unsupported-media-type, method-not-allowed,
    /// idempotency-key-reused, idempotency-key-in-flight, rate-limited, service-unavailable, internal}`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Short, fixed summary of the type.
    pub title: &'static str,
    /// The HTTP status.
    pub status: u16,
    /// What went wrong this time.
    pub detail: String,
    /// For 422: each offending field.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub errors: Option<Vec<FieldError>>,
}

/// Where problem types are documented.
pub const PROBLEM_BASE: &str = "https://shop.example/problems/";

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        match &self {
            // Runs inside the request's span, so the log line carries its request id.
            Self::Internal(cause) => {
                tracing::error!(error = %cause, source = ?cause.source(), "request failed")
            }
            Self::Unavailable(cause) => {
                tracing::warn!(error = %cause, source = ?std::error::Error::source(cause), "database unavailable")
            }
            _ => {}
        }
        let (slug, title) = self.kind();
        let errors = match &self {
            Self::Validation { errors, .. } => Some(errors.clone()),
            _ => None,
        };
        let problem = Problem {
            kind: format!("{PROBLEM_BASE}{slug}"),
            title,
            status: status.as_u16(),
            detail: self.to_string(),
            errors,
        };
        let mut response = (status, axum::Json(problem)).into_response();
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        match self {
            Self::Unavailable(_) | Self::Timeout => {
                response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            Self::IdempotencyKeyInFlight { retry_after } | Self::RateLimited { retry_after } => {
                response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
            }
            Self::Unauthorized => {
                response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            _ => {}
        }
        response
    }
}

impl From<StorageError> for ApiError {
    fn from(err: StorageError) -> Self {
        match err {
            StorageError::Unavailable(_) => Self::Unavailable(err),
            StorageError::Internal(_) => Self::Internal(Box::new(err)),
        }
    }
}

impl From<ProductError> for ApiError {
    fn from(err: ProductError) -> Self {
        match err {
            ProductError::NotFound => Self::NotFound("no product has this id"),
            ProductError::Storage(err) => err.into(),
        }
    }
}

impl From<GetCartError> for ApiError {
    fn from(err: GetCartError) -> Self {
        match err {
            GetCartError::NotFound => Self::NotFound("no cart has this id"),
            GetCartError::Storage(err) => err.into(),
        }
    }
}

impl From<CartWriteError> for ApiError {
    fn from(err: CartWriteError) -> Self {
        match err {
            CartWriteError::CartNotFound => Self::NotFound("no cart has this id"),
            CartWriteError::VersionMismatch { current } => Self::PreconditionFailed { current: current.0 },
            CartWriteError::Storage(err) => err.into(),
        }
    }
}

impl From<AddItemError> for ApiError {
    fn from(err: AddItemError) -> Self {
        match err {
            AddItemError::Cart(err) => err.into(),
            // The product is named in the body, not the path: a 422, as the contract says.
            AddItemError::ProductNotFound => Self::invalid_field("product_id", "no product has this id"),
            AddItemError::LineQuantityExceeded(rule) => Self::invalid_field("quantity", rule.to_string()),
            AddItemError::TooManyLines(rule) => Self::invalid_field("product_id", rule.to_string()),
        }
    }
}

impl From<SetItemError> for ApiError {
    fn from(err: SetItemError) -> Self {
        match err {
            SetItemError::Cart(err) => err.into(),
            SetItemError::ProductNotFound => Self::NotFound("no product has this id"),
            SetItemError::TooManyLines(rule) => Self::invalid_field("product_id", rule.to_string()),
        }
    }
}

impl From<RemoveItemError> for ApiError {
    fn from(err: RemoveItemError) -> Self {
        match err {
            RemoveItemError::Cart(err) => err.into(),
            RemoveItemError::LineNotFound(_) => Self::NotFound("the product is not in the cart"),
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection.status() {
            StatusCode::PAYLOAD_TOO_LARGE => Self::PayloadTooLarge,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => Self::UnsupportedMediaType,
            StatusCode::UNPROCESSABLE_ENTITY => Self::invalid_field("body", rejection.body_text()),
            _ => Self::Malformed(rejection.body_text()),
        }
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        Self::Malformed(rejection.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        Self::Malformed(rejection.body_text())
    }
}
