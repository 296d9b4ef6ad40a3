//! The OpenAPI 3.1 description. Paths come from the handlers' `#[utoipa::path]`
//! annotations through `utoipa_axum`'s router, so a routed handler is a
//! documented one; this module holds the document's fixed parts and adds what
//! every operation shares.

use shop_domain::MaxLineQuantity;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::Schema;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Response, ResponseBuilder};
use utoipa::{Modify, OpenApi, ToResponse};

use super::{FieldError, Problem};

/// The document's fixed parts; paths are added by the router.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "shop",
        description = "A shop's product catalog and shopping carts. Prices are integers in minor units of one \
                       currency. Errors are `application/problem+json` (RFC 9457). Every response carries \
                       `x-request-id`.",
        license(name = "MIT")
    ),
    paths(docs_page),
    components(
        schemas(Problem, FieldError),
        responses(
            MalformedRequest,
            ValidationFailed,
            NotFound,
            Unauthorized,
            PreconditionFailed,
            PayloadTooLarge,
            UnsupportedMediaType,
            IdempotencyKeyInFlight,
            RateLimited,
            ValidationOrKeyReused,
            ServiceUnavailable,
            InternalError
        )
    ),
    tags(
        (name = "products", description = "The catalog"),
        (name = "carts", description = "Shopping carts: the id is the key"),
        (name = "graphql", description = "The same catalog and carts in GraphQL (the schema: `/graphql/schema.graphql`)"),
        (name = "operations", description = "Health, metrics and this description")
    )
)]
pub struct ApiDoc;

/// Interactive documentation (Swagger UI), served from the binary.
#[utoipa::path(
    get,
    path = "/docs",
    operation_id = "docs",
    tag = "operations",
    responses((status = 303, description = "Redirect to `/docs/`, the Swagger UI page (HTML, no external assets)"))
)]
#[allow(dead_code)] // documents the route that `utoipa_swagger_ui` serves
async fn docs_page() {}

macro_rules! problem_responses {
    ($($name:ident => $description:literal),* $(,)?) => {$(
        #[doc = $description]
        pub struct $name;

        impl<'s> ToResponse<'s> for $name {
            fn response() -> (&'s str, RefOr<Response>) {
                let content = ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).build();
                let response = ResponseBuilder::new()
                    .description($description)
                    .content("application/problem+json", content)
                    .header("x-request-id", request_id_header());
                (stringify!($name), response.build().into())
            }
        }
    )*};
}

problem_responses! {
    MalformedRequest => "Malformed request: the body is not JSON, an id is not a UUID, a parameter or header is malformed",
    ValidationFailed => "Well-formed JSON that breaks a rule; `errors` names each offending field",
    NotFound => "No such resource",
    Unauthorized => "Missing or wrong `Authorization: Bearer <token>` (only when an admin token is configured)",
    PreconditionFailed => "`If-Match` names another version than the cart's; nothing changed",
    PayloadTooLarge => "The body is larger than 65536 bytes",
    UnsupportedMediaType => "The body is not `application/json`",
    ServiceUnavailable => "The database is unreachable or the request timed out; retry later",
    InternalError => "An internal error; details are in the service's log under the request id",
    RateLimited => "Too many writes from this client (`rate-limited`, when `rate_limit.enabled`); `Retry-After` says when to write again",
    IdempotencyKeyInFlight => "A request with this `Idempotency-Key` is still running (`idempotency-key-in-flight`); `Retry-After` says when to try again",
    ValidationOrKeyReused => "Well-formed JSON that breaks a rule (`errors` names each offending field), or an `Idempotency-Key` used before for another request (`idempotency-key-reused`); nothing changed",
}

fn request_id_header() -> utoipa::openapi::header::Header {
    HeaderBuilder::new()
        .schema(Some(utoipa::openapi::schema::Object::with_type(utoipa::openapi::schema::Type::String)))
        .description(Some("The request's id: the client's, or a new UUID"))
        .build()
}

/// The cap of a line is a setting (`cart.max_line_quantity`): the bodies
/// that carry a quantity state the configured one as their `maximum`.
pub struct LineQuantityCap(pub MaxLineQuantity);

impl Modify for LineQuantityCap {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let Some(components) = openapi.components.as_mut() else {
            return;
        };
        for body in ["AddItemRequest", "SetQuantityRequest"] {
            if let Some(RefOr::T(Schema::Object(object))) = components.schemas.get_mut(body)
                && let Some(RefOr::T(Schema::Object(quantity))) = object.properties.get_mut("quantity")
            {
                quantity.maximum = Some(self.0.get().into());
            }
        }
    }
}

/// What every operation shares: `x-request-id` both ways, 500 and 503, and the
/// bearer scheme that catalog writes use. Applied once the router has added
/// the paths (a derive-time modifier would run before they exist).
pub struct Shared;

impl Modify for Shared {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme("admin_token", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));

        let request_id_parameter = ParameterBuilder::new()
            .name("x-request-id")
            .parameter_in(ParameterIn::Header)
            .description(Some("Correlates the request with the service's logs; generated when absent"))
            .schema(Some(utoipa::openapi::schema::Object::with_type(utoipa::openapi::schema::Type::String)))
            .build();
        let request_id_header = request_id_header();
        for (path, item) in openapi.paths.paths.iter_mut() {
            let writes = [&mut item.post, &mut item.put, &mut item.patch, &mut item.delete];
            for operation in writes.into_iter().flatten().filter(|_| path.starts_with("/api/v1/")) {
                // The rate limits apply to writes (`rate_limit.*`, off by default).
                let responses = &mut operation.responses.responses;
                responses.entry("429".to_owned()).or_insert_with(|| Ref::from_response_name("RateLimited").into());
            }
            for operation in
                [&mut item.get, &mut item.post, &mut item.put, &mut item.patch, &mut item.delete].into_iter().flatten()
            {
                operation.parameters.get_or_insert_with(Vec::new).push(RefOr::T(request_id_parameter.clone()));
                let responses = &mut operation.responses.responses;
                responses.entry("500".to_owned()).or_insert_with(|| Ref::from_response_name("InternalError").into());
                if !responses.contains_key("503") {
                    responses.insert("503".to_owned(), Ref::from_response_name("ServiceUnavailable").into());
                }
                for response in responses.values_mut() {
                    if let RefOr::T(response) = response {
                        response.headers.insert("x-request-id".to_owned(), RefOr::T(request_id_header.clone()));
                    }
                }
            }
        }
    }
}
