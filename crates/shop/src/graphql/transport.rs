//! GraphQL over HTTP: `POST /graphql` runs a document against the schema;
//! `GET /graphql` is the IDE (GraphiQL, every asset served
//! from the binary); `GET /graphql/schema.graphql` is the SDL.
//!
//! What is not GraphQL's to judge is judged here, before the document runs,
//! as for any route: the body (a JSON object with a string `query`, no
//! batches, within the body limit: problem+json otherwise), the cost limit,
//! and the `Idempotency-Key` of a mutation.

use std::sync::Arc;

use async_graphql::{ServerError, Variables};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use shaku::HasComponent;

use shop_application::idempotency::IdempotencyKey;

use super::{Caller, KeyUse, MAX_ROOT_FIELDS, Operation};
use crate::container::{AppModule, AppSettings};
use crate::edge::ApiError;
use crate::edge::auth::is_admin;
use crate::edge::extract::ApiJson;
use crate::edge::idempotency::{self, IDEMPOTENCY_KEY, IdempotencyKeyHeader, Keyed, Unfinished};
use crate::edge::openapi::{MalformedRequest, PayloadTooLarge, UnsupportedMediaType};
use crate::edge::rate_limit::ClientLimits;

/// A GraphQL request (GraphQL over HTTP): a document, its variables, and
/// which of its operations to run.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"query": "query Cart($id: UUID!) { cart(id: $id) { items { name quantity } subtotal } }", "variables": {"id": "0b4f5c9e-8d1a-4c1e-9f57-2a6d3c1b7e40"}}))]
pub struct GraphQlRequest {
    /// The document.
    query: String,
    /// Its variables, by name.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    variables: Option<serde_json::Map<String, serde_json::Value>>,
    /// The operation to run, when the document has several.
    #[serde(default)]
    operation_name: Option<String>,
}

/// The mutations an `Idempotency-Key` can make safe to retry: those that
/// create something (REST's `POST`s), each alone in its document.
const KEYED_MUTATIONS: [&str; 3] = ["createProduct", "createCart", "addToCart"];

/// Run a GraphQL document (queries and mutations over the same services as the REST API).
#[utoipa::path(
    post,
    path = "/graphql",
    operation_id = "graphql",
    tag = "graphql",
    params(IdempotencyKeyHeader),
    request_body(content = GraphQlRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "The GraphQL response, `{\"data\": …, \"errors\": [...]}`: errors of the document, its \
                                      arguments and the use cases are in `errors`, each with `extensions.code` and \
                                      `extensions.type` (the REST problem type)", content_type = "application/json", body = Object),
        (status = 400, response = MalformedRequest),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
    )
)]
pub async fn execute(
    State(module): State<Arc<AppModule>>,
    headers: HeaderMap,
    limits: Option<Extension<ClientLimits>>,
    ApiJson(body): ApiJson<GraphQlRequest>,
) -> Result<Response, ApiError> {
    let body: GraphQlRequest = body.map_err(|_| {
        ApiError::Malformed("the body must be one JSON object with a string `query` (batches are not served)".into())
    })?;
    // A malformed key is refused like a malformed body, whatever the document: 400.
    let key = headers.contains_key(IDEMPOTENCY_KEY).then(|| idempotency::key(&headers)).transpose()?;
    // The same document, variables and operation name are the same request.
    let key = key.map(|key| (key, serde_json::to_vec(&body).unwrap_or_default()));
    let settings: &dyn AppSettings = module.resolve_ref();
    let settings = settings.settings();
    let operation_name = body.operation_name.clone();
    let variables = body.variables.map_or(serde_json::Value::Null, serde_json::Value::Object);
    let mut request = async_graphql::Request::new(body.query).variables(Variables::from_json(variables));
    if let Some(name) = operation_name.as_deref() {
        request = request.operation_name(name);
    }
    if !settings.graphql.introspection {
        request = request.disable_introspection();
    }
    // A document that does not parse is left for GraphQL to answer.
    let operation = request.parsed_query().ok().and_then(|document| Operation::of(document, operation_name.as_deref()));
    if operation.as_ref().is_some_and(Operation::too_costly) {
        let message =
            format!("the operation has more than {MAX_ROOT_FIELDS} root fields (aliases and fragments counted)");
        return Ok(refused(ApiError::Malformed(message)));
    }
    if !settings.graphql.introspection && operation.as_ref().is_some_and(|operation| operation.root.introspects) {
        return Ok(refused(ApiError::Malformed("introspection is off here (graphql.introspection)".to_owned())));
    }
    let key = match (key, &operation) {
        (Some((key, sent)), Some(operation)) if operation.mutation => match claim(&module, key, operation, &sent).await
        {
            Ok(key) => key,
            Err(error) => return Ok(refused(error)),
        },
        _ => KeyUse::None, // a key on a query is ignored, as on a REST GET
    };
    let replay = matches!(key, KeyUse::Replay(_));
    let unfinished = match &key {
        KeyUse::Claim(claim) => Some(Unfinished::new(module.clone(), claim.clone())),
        _ => None,
    };
    let caller =
        Caller { module: module.clone(), admin: is_admin(settings, &headers), limits: limits.map(|l| l.0), key };
    let mut response = super::schema().execute(request.data(caller)).await;
    response.errors = response.errors.into_iter().map(super::with_code).collect();
    count_errors(&response.errors);
    if let Some(operation) = &operation {
        operation.in_selection_order(&mut response.data);
    }
    if let Some(unfinished) = unfinished {
        let claim = unfinished.finish();
        if response.is_err() {
            idempotency::release(module.resolve_ref(), &claim).await;
        }
    }
    let succeeded = response.is_ok();
    let mut http = Json(Reply::from(response)).into_response();
    if replay && succeeded {
        idempotency::mark_replayed(&mut http);
    }
    Ok(http)
}

/// The claim of `key` for `operation`, a mutation: one of
/// [`KEYED_MUTATIONS`], alone in its operation, of the request `sent`.
async fn claim(
    module: &AppModule,
    key: IdempotencyKey,
    operation: &Operation,
    sent: &[u8],
) -> Result<KeyUse, ApiError> {
    if !matches!(operation.root.names.as_slice(), [field] if KEYED_MUTATIONS.contains(&field.as_str())) {
        return Err(ApiError::Malformed(format!(
            "an Idempotency-Key goes with a mutation of exactly one field, one of {}",
            KEYED_MUTATIONS.join(", ")
        )));
    }
    let fingerprint = idempotency::fingerprint_of(&axum::http::Method::POST, "/graphql", sent);
    Ok(match idempotency::claim(module.resolve_ref(), key, fingerprint).await? {
        Keyed::Run(claim) => KeyUse::Claim(claim),
        Keyed::Replay(answer) => KeyUse::Replay(answer),
    })
}

/// A GraphQL response as GraphQL over HTTP writes it: no `data` when the
/// document did not run (it did not parse or validate, or was refused here).
#[derive(Serialize)]
struct Reply {
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<async_graphql::Value>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    errors: Vec<ServerError>,
}

impl From<async_graphql::Response> for Reply {
    fn from(response: async_graphql::Response) -> Self {
        // The errors of a field that ran have a path; those of a document that did not, none.
        let ran = response.errors.is_empty() || response.errors.iter().any(|error| !error.path.is_empty());
        Self { data: ran.then_some(response.data), errors: response.errors }
    }
}

/// A request refused before it ran: one error and no data.
fn refused(error: ApiError) -> Response {
    let error = super::graphql_error(error, None);
    let (message, extensions) = (error.message, error.extensions);
    let errors = vec![ServerError { message, source: None, locations: Vec::new(), path: Vec::new(), extensions }];
    count_errors(&errors);
    Json(Reply { data: None, errors }).into_response()
}

/// GraphQL answers its errors with a 200, which the HTTP metrics count as a
/// success: `graphql_errors_total{code}` counts them (the codes are ours, a
/// bounded set).
fn count_errors(errors: &[ServerError]) {
    for error in errors {
        let code = match error.extensions.as_ref().and_then(|extensions| extensions.get("code")) {
            Some(async_graphql::Value::String(code)) => code.clone(),
            _ => "INTERNAL".to_owned(),
        };
        ::metrics::counter!("graphql_errors_total", "code" => code).increment(1);
    }
}

/// The schema in SDL, as `docs/schema.graphql` keeps it.
#[utoipa::path(
    get,
    path = "/graphql/schema.graphql",
    operation_id = "graphql_schema",
    tag = "graphql",
    responses(
        (status = 200, description = "The GraphQL schema (SDL)", content_type = "text/plain", body = String),
        (status = 404, description = "Introspection is off (`graphql.introspection`)", body = crate::edge::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn schema(State(module): State<Arc<AppModule>>) -> Result<Response, ApiError> {
    introspectable(&module)?;
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], super::sdl()).into_response())
}

/// The GraphQL IDE (GraphiQL), every script and stylesheet served by the service.
#[utoipa::path(
    get,
    path = "/graphql",
    operation_id = "graphql_ide",
    tag = "graphql",
    responses(
        (status = 200, description = "The GraphiQL page (HTML)", content_type = "text/html"),
        (status = 404, description = "Introspection is off (`graphql.introspection`)", body = crate::edge::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn ide(State(module): State<Arc<AppModule>>) -> Result<Html<&'static str>, ApiError> {
    introspectable(&module)?;
    Ok(Html(include_str!("../../assets/graphiql/index.html")))
}

/// The IDE's scripts and stylesheet (vendored from npm, see `assets/graphiql/README.md`).
pub async fn asset(State(module): State<Arc<AppModule>>, Path(name): Path<String>) -> Result<Response, ApiError> {
    introspectable(&module)?;
    let (content_type, bytes): (&str, &'static [u8]) = match name.as_str() {
        "graphiql.min.js" => ("text/javascript", include_bytes!("../../assets/graphiql/graphiql.min.js")),
        "graphiql.min.css" => ("text/css", include_bytes!("../../assets/graphiql/graphiql.min.css")),
        "react.production.min.js" => {
            ("text/javascript", include_bytes!("../../assets/graphiql/react.production.min.js"))
        }
        "react-dom.production.min.js" => {
            ("text/javascript", include_bytes!("../../assets/graphiql/react-dom.production.min.js"))
        }
        _ => return Err(ApiError::NotFound("no such resource")),
    };
    let headers = [
        (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
        (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=86400")),
    ];
    Ok((headers, bytes).into_response())
}

/// With introspection off, the schema is not shown in any form.
fn introspectable(module: &AppModule) -> Result<(), ApiError> {
    let settings: &dyn AppSettings = module.resolve_ref();
    if settings.settings().graphql.introspection { Ok(()) } else { Err(ApiError::NotFound("no such resource")) }
}
