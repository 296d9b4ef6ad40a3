//! GraphQL errors: the same `ApiError`s the REST edge answers with (one
//! mapping from application errors and one table of names, in
//! `edge/error.rs`), carried as `extensions.code` and `extensions.type`, the
//! REST problem type.

use async_graphql::{Error, ErrorExtensionValues, ServerError, Value};

use crate::edge::{ApiError, FieldError};

/// `error` as a GraphQL error. Fields named in a 422 are renamed as the
/// GraphQL arguments name them (`product_id` → `productId`), under `input`
/// when they are fields of an input object (`productInfo.price`).
pub fn graphql_error(error: ApiError, input: Option<&str>) -> Error {
    log(&error);
    let kind = error.kind();
    let message = error.to_string();
    let mut extensions = ErrorExtensionValues::default();
    extensions.set("code", kind.code);
    extensions.set("type", kind.type_uri());
    match error {
        ApiError::Validation { errors, .. } => {
            let errors = errors.into_iter().map(|field| field_value(field, input)).collect::<Vec<_>>();
            extensions.set("errors", Value::List(errors));
        }
        ApiError::PreconditionFailed { current } => extensions.set("currentVersion", current),
        ApiError::RateLimited { retry_after } | ApiError::IdempotencyKeyInFlight { retry_after } => {
            extensions.set("retryAfter", retry_after)
        }
        _ => {}
    }
    Error { message, source: None, extensions: Some(extensions) }
}

/// A document or argument the schema refuses: `MALFORMED_REQUEST`.
pub fn malformed(message: impl Into<String>) -> Error {
    graphql_error(ApiError::Malformed(message.into()), None)
}

/// An error GraphQL itself raised (the document does not parse or validate,
/// an argument has the wrong type) carries no code yet: it is `MALFORMED_REQUEST`.
pub fn with_code(mut error: ServerError) -> ServerError {
    if error.extensions.as_ref().is_none_or(|extensions| extensions.get("code").is_none()) {
        let kind = ApiError::Malformed(String::new()).kind();
        let extensions = error.extensions.get_or_insert_with(Default::default);
        extensions.set("code", kind.code);
        extensions.set("type", kind.type_uri());
    }
    error
}

fn field_value(error: FieldError, input: Option<&str>) -> Value {
    let field = camel_case(&error.field);
    let field = match input {
        Some(input) => format!("{input}.{field}"),
        None => field,
    };
    Value::from_json(serde_json::json!({"field": field, "message": error.message})).unwrap_or(Value::Null)
}

fn camel_case(name: &str) -> String {
    let mut words = name.split('_');
    let mut camel = words.next().unwrap_or_default().to_owned();
    for word in words {
        let mut chars = word.chars();
        camel.extend(chars.next().map(|c| c.to_ascii_uppercase()));
        camel.push_str(chars.as_str());
    }
    camel
}

/// Server errors are logged with their cause, inside the request's span, as REST's are.
fn log(error: &ApiError) {
    match error {
        ApiError::Internal(cause) => tracing::error!(error = %cause, "graphql field failed"),
        ApiError::Unavailable(cause) => tracing::warn!(error = %cause, "database unavailable"),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_named_as_graphql_names_them() {
        assert_eq!(camel_case("product_id"), "productId");
        assert_eq!(camel_case("quantity"), "quantity");
        let value = field_value(FieldError::new("price", "too high"), Some("productInfo"));
        assert_eq!(
            value.into_json().ok(),
            Some(serde_json::json!({"field": "productInfo.price", "message": "too high"}))
        );
    }
}
