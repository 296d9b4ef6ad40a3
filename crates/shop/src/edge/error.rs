//! The one error type of both edges. Every error of every layer becomes an
//! [`ApiError`] here, once; REST answers it as `application/problem+json`
//! (RFC 9457), GraphQL as an error with the code of the same table ([`Kind`]).

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use shop_application::services::CartService;
use shop_application::{
    AddItemError, CartWriteError, GetCartError, ProductError, RemoveItemError, SetItemError, StorageError,
};
use shop_domain::CartId;

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

/// The errors found in a body so far.
#[derive(Debug, Default)]
pub struct Errors(Vec<FieldError>);

impl Errors {
    /// The value of `field`'s check, or `None` with its error noted.
    pub fn check<T>(&mut self, field: &str, result: Result<T, String>) -> Option<T> {
        result.map_err(|message| self.0.push(FieldError::new(field, message))).ok()
    }

    /// The 422 naming every field with an error; else the value `build`
    /// makes of the checked fields (which are all `Some` then).
    pub fn finish<T>(self, build: impl FnOnce() -> Option<T>) -> Result<T, ApiError> {
        if !self.0.is_empty() {
            return Err(ApiError::invalid(self.0));
        }
        build().ok_or_else(|| ApiError::Internal("a field was refused without an error".into()))
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
    #[error("the request body is larger than {} bytes", super::BODY_LIMIT_BYTES)]
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

    /// How each edge names this error: the one table of both.
    pub fn kind(&self) -> Kind {
        use StatusCode as S;
        let (status, slug, title, code) = match self {
            Self::Malformed(_) => (S::BAD_REQUEST, "malformed-request", "Malformed request", "MALFORMED_REQUEST"),
            Self::Validation { .. } => {
                (S::UNPROCESSABLE_ENTITY, "validation", "Validation failed", "VALIDATION_FAILED")
            }
            Self::NotFound(_) => (S::NOT_FOUND, "not-found", "Not found", "NOT_FOUND"),
            Self::Unauthorized => (S::UNAUTHORIZED, "unauthorized", "Unauthorized", "UNAUTHORIZED"),
            Self::PreconditionFailed { .. } => {
                (S::PRECONDITION_FAILED, "precondition-failed", "Precondition failed", "PRECONDITION_FAILED")
            }
            // What only the transport answers (405, 413, 415) never reaches a GraphQL field.
            Self::MethodNotAllowed => (S::METHOD_NOT_ALLOWED, "method-not-allowed", "Method not allowed", "INTERNAL"),
            Self::PayloadTooLarge => (S::PAYLOAD_TOO_LARGE, "payload-too-large", "Payload too large", "INTERNAL"),
            Self::UnsupportedMediaType => {
                (S::UNSUPPORTED_MEDIA_TYPE, "unsupported-media-type", "Unsupported media type", "INTERNAL")
            }
            Self::IdempotencyKeyReused => {
                (S::UNPROCESSABLE_ENTITY, "idempotency-key-reused", "Idempotency key reused", "IDEMPOTENCY_KEY_REUSED")
            }
            Self::IdempotencyKeyInFlight { .. } => {
                (S::CONFLICT, "idempotency-key-in-flight", "Idempotency key in flight", "IDEMPOTENCY_KEY_IN_FLIGHT")
            }
            Self::RateLimited { .. } => (S::TOO_MANY_REQUESTS, "rate-limited", "Too many requests", "RATE_LIMITED"),
            Self::Unavailable(_) | Self::Timeout => {
                (S::SERVICE_UNAVAILABLE, "service-unavailable", "Service unavailable", "SERVICE_UNAVAILABLE")
            }
            Self::Internal(_) => (S::INTERNAL_SERVER_ERROR, "internal", "Internal server error", "INTERNAL"),
        };
        Kind { status, problem_type: slug, title, code }
    }
}

/// How the edges name an error: REST by its status and problem type, GraphQL by its code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kind {
    /// The HTTP status of a REST answer.
    pub status: StatusCode,
    /// The problem type's slug, under [`PROBLEM_BASE`]: what a client tells apart.
    pub problem_type: &'static str,
    /// The problem type's fixed title.
    pub title: &'static str,
    /// The GraphQL error's `extensions.code` (the table of the README's GraphQL section).
    pub code: &'static str,
}

impl Kind {
    /// The problem type's URI.
    pub fn type_uri(&self) -> String {
        format!("{PROBLEM_BASE}{}", self.problem_type)
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
        let kind = self.kind();
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
        let errors = match &self {
            Self::Validation { errors, .. } => Some(errors.clone()),
            _ => None,
        };
        let problem = Problem {
            kind: kind.type_uri(),
            title: kind.title,
            status: kind.status.as_u16(),
            detail: self.to_string(),
            errors,
        };
        let mut response = (kind.status, axum::Json(problem)).into_response();
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

/// An unknown cart is 404 before the body's content is judged (422): only
/// when the input is invalid do we look the cart up, to tell which applies.
pub async fn unless_cart_missing<T>(
    carts: &dyn CartService,
    id: CartId,
    input: Result<T, ApiError>,
) -> Result<T, ApiError> {
    if input.is_err() {
        carts.get(id).await?;
    }
    input
}
