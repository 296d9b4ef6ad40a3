//! `/api/v1/carts`: carts and their lines. Every cart response carries
//! `ETag: "<version>"`; every write honours `If-Match`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shaku_axum::Inject;
use shop_application::services::CartService;
use shop_domain::{Cart, CartId, Currency, MaxLineQuantity, ProductId, Quantity};
use utoipa::ToSchema;
use uuid::Uuid;

use super::extract::{IfMatch, IfMatchHeader};
use super::idempotency::{KeyClaim, Rendered};
use super::input::{Field, integer, string};
use super::timestamp::rfc3339;
use crate::container::{AppModule, AppSettings};
use crate::edge::extract::{ApiJson, ApiPath};
use crate::edge::idempotency::IdempotencyKeyHeader;
use crate::edge::openapi::{
    IdempotencyKeyInFlight, MalformedRequest, NotFound, PayloadTooLarge, PreconditionFailed, UnsupportedMediaType,
    ValidationFailed, ValidationOrKeyReused,
};
use crate::edge::{ApiError, Problem};
use crate::edge::{Errors, unless_cart_missing};

/// A cart line, as clients see it.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = CartItem)]
pub struct CartItemBody {
    product_id: Uuid,
    /// The product's current name.
    name: String,
    /// The product's current price, in minor units.
    unit_price: i64,
    /// 1 to the cap (999 by default).
    #[schema(minimum = 1)]
    quantity: u32,
    /// `unit_price × quantity`, exact.
    line_total: i64,
}

/// A cart, as clients see it.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Cart, example = json!({
    "id": "3b1c6a0e-2f4d-4e8a-9a51-0c2d7e9f1b23",
    "items": [{"product_id": "8d0f3bd6-5f7a-4f0e-9a55-3a1e2b7c9d10", "name": "Green tea", "unit_price": 450,
               "quantity": 2, "line_total": 900}],
    "total_quantity": 2, "subtotal": 900, "currency": "EUR", "version": 3,
    "created_at": "2026-11-24T09:00:00Z", "updated_at": "2026-11-24T09:05:00Z", "expires_at": "2026-12-24T09:05:00Z"
}))]
pub struct CartBody {
    id: Uuid,
    /// Ordered by when each product was first added, oldest first.
    items: Vec<CartItemBody>,
    total_quantity: u64,
    /// Sum of the line totals, exact, in minor units.
    subtotal: i64,
    currency: String,
    /// 0 for a new cart; up by one with every change of the lines. Also the `ETag`.
    version: u64,
    #[serde(serialize_with = "rfc3339")]
    created_at: DateTime<Utc>,
    #[serde(serialize_with = "rfc3339")]
    updated_at: DateTime<Utc>,
    /// When the cart expires (404, then deleted) unless its lines change: `updated_at` plus `cart.ttl`.
    #[serde(serialize_with = "rfc3339")]
    expires_at: DateTime<Utc>,
}

/// The optional body of `POST /api/v1/carts`: an object; its fields are ignored.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({}))]
pub struct NewCartRequest {}

/// The body of `POST /api/v1/carts/{cart_id}/items`.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"product_id": "8d0f3bd6-5f7a-4f0e-9a55-3a1e2b7c9d10", "quantity": 2}))]
pub struct AddItemRequest {
    /// A product of the catalog; an unknown one is a 422.
    #[serde(default)]
    #[schema(value_type = Uuid, required = true)]
    product_id: Field,
    /// Units to add, 1 to the cap (`cart.max_line_quantity`, 999 by default); 1 if absent.
    #[serde(default)]
    #[schema(value_type = u32, required = false, minimum = 1, default = 1)]
    quantity: Field,
}

impl AddItemRequest {
    fn validate(&self, max: MaxLineQuantity) -> Result<(ProductId, Quantity), ApiError> {
        let mut errors = Errors::default();
        let product_id = errors.check("product_id", self.product_id.required("product_id", product_id));
        let quantity = errors.check("quantity", self.quantity.optional("quantity", |json| quantity(json, max)));
        errors.finish(|| Some((product_id?, quantity?.unwrap_or(Quantity::ONE))))
    }
}

/// The body of `PUT /api/v1/carts/{cart_id}/items/{product_id}`.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"quantity": 3}))]
pub struct SetQuantityRequest {
    /// The line's new quantity, 0 to the cap (`cart.max_line_quantity`, 999 by default); 0 removes the line.
    #[serde(default)]
    #[schema(value_type = u32, required = true, minimum = 0)]
    quantity: Field,
}

impl SetQuantityRequest {
    fn validate(&self, max: MaxLineQuantity) -> Result<Option<Quantity>, ApiError> {
        let mut errors = Errors::default();
        let quantity = errors.check("quantity", self.quantity.required("quantity", |json| quantity_or_zero(json, max)));
        errors.finish(|| quantity)
    }
}

/// A cart response: the body and its `ETag`.
pub struct CartReply {
    status: StatusCode,
    body: CartBody,
}

impl CartReply {
    fn new(cart: Cart, currency: Currency, expires_at: DateTime<Utc>) -> Self {
        let body = CartBody {
            id: cart.id().0,
            total_quantity: cart.total_quantity(),
            subtotal: cart.subtotal(),
            currency: currency.to_string(),
            version: cart.version().0,
            created_at: cart.created_at(),
            updated_at: cart.updated_at(),
            expires_at,
            items: cart
                .into_lines()
                .into_iter()
                .map(|line| CartItemBody {
                    product_id: line.product_id.0,
                    unit_price: line.unit_price.minor_units(),
                    quantity: line.quantity.get(),
                    line_total: line.line_total(),
                    name: line.name.into(), // moved last: the fields above borrow the line
                })
                .collect(),
        };
        Self { status: StatusCode::OK, body }
    }
}

impl CartReply {
    /// The response: the JSON body with `ETag: "<version>"`, and `Location` for a new cart.
    fn rendered(&self) -> Rendered {
        let location = (self.status == StatusCode::CREATED).then(|| format!("/api/v1/carts/{}", self.body.id));
        Rendered::json(self.status, &self.body, location, Some(format!("\"{}\"", self.body.version)))
    }
}

impl IntoResponse for CartReply {
    fn into_response(self) -> Response {
        self.rendered().into_response()
    }
}

type Carts = Inject<AppModule, dyn CartService>;
type Config = Inject<AppModule, dyn AppSettings>;

/// Create an empty cart. No body, or `{}`.
#[utoipa::path(
    post,
    path = "/api/v1/carts",
    operation_id = "create_cart",
    tag = "carts",
    params(IdempotencyKeyHeader),
    request_body(content = Option<NewCartRequest>, content_type = "application/json", description = "None, or `{}`"),
    responses(
        (status = 201, description = "The new, empty cart (or, with a key sent before, the first answer again)", body = CartBody, headers(
            ("Location" = String, description = "The new cart's URL"),
            ("ETag" = String, description = "The cart's version, quoted: `\"0\"`"),
            ("Idempotent-Replayed" = String, description = "`true` when this is the kept answer of an earlier request with the same key"),
        ), links(
            ("GetCart" = (operation_id = "get_cart", parameters(("cart_id" = "$response.body#/id")))),
            ("AddItem" = (operation_id = "add_cart_item", parameters(("cart_id" = "$response.body#/id")))),
            ("SetItemQuantity" = (operation_id = "set_cart_item_quantity", parameters(("cart_id" = "$response.body#/id")))),
            ("ClearCart" = (operation_id = "clear_cart", parameters(("cart_id" = "$response.body#/id")))),
            ("DeleteCart" = (operation_id = "delete_cart", parameters(("cart_id" = "$response.body#/id")))),
        )),
        (status = 400, response = MalformedRequest),
        (status = 409, response = IdempotencyKeyInFlight),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = ValidationOrKeyReused),
    )
)]
pub async fn create(
    carts: Carts,
    config: Config,
    claim: KeyClaim,
    body: Option<ApiJson<Option<NewCartRequest>>>,
) -> Result<CartReply, ApiError> {
    // No body, `null` or an object (whose fields mean nothing yet).
    if let Some(ApiJson(body)) = body {
        body?;
    }
    let currency = config.currency();
    let created = |cart: Cart| CartReply { status: StatusCode::CREATED, ..reply(&carts, currency, cart) };
    let answer = |cart: &Cart| created(cart.clone()).rendered().answer();
    let cart = carts.create(claim.once(&answer)).await?;
    Ok(created(cart))
}

/// Read a cart with its lines and totals.
#[utoipa::path(
    get,
    path = "/api/v1/carts/{cart_id}",
    operation_id = "get_cart",
    tag = "carts",
    params(("cart_id" = Uuid, Path, description = "The cart's id")),
    responses(
        (status = 200, description = "The cart", body = CartBody, headers(("ETag" = String, description = "The cart's version, quoted"))),
        (status = 400, response = MalformedRequest),
        (status = 404, response = NotFound),
    )
)]
pub async fn get(carts: Carts, config: Config, ApiPath(id): ApiPath<Uuid>) -> Result<CartReply, ApiError> {
    let cart = carts.get(CartId(id)).await?;
    Ok(reply(&carts, config.currency(), cart))
}

/// Add units of a product: a new line, or more on the line that holds it.
#[utoipa::path(
    post,
    path = "/api/v1/carts/{cart_id}/items",
    operation_id = "add_cart_item",
    tag = "carts",
    params(("cart_id" = Uuid, Path, description = "The cart's id"), IfMatchHeader, IdempotencyKeyHeader),
    request_body(content = AddItemRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "The cart as changed (or, with a key sent before, the first answer again)", body = CartBody, headers(
            ("ETag" = String, description = "The cart's version, quoted"),
            ("Idempotent-Replayed" = String, description = "`true` when this is the kept answer of an earlier request with the same key"),
        )),
        (status = 400, response = MalformedRequest),
        (status = 404, response = NotFound),
        (status = 409, response = IdempotencyKeyInFlight),
        (status = 412, response = PreconditionFailed),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, description = "Unknown product, quantity out of range, the line would pass the cap, or the Idempotency-Key was used for another request (`idempotency-key-reused`); nothing changed", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn add_item(
    carts: Carts,
    config: Config,
    ApiPath(id): ApiPath<Uuid>,
    IfMatch(expected): IfMatch,
    claim: KeyClaim,
    ApiJson(body): ApiJson<AddItemRequest>,
) -> Result<CartReply, ApiError> {
    let id = CartId(id);
    let input = body.and_then(|body| body.validate(carts.max_line_quantity()));
    let (product_id, quantity) = unless_cart_missing(&*carts, id, input).await?;
    let currency = config.currency();
    let answer = |cart: &Cart| reply(&carts, currency, cart.clone()).rendered().answer();
    let cart = carts.add_item(id, product_id, quantity, &expected, claim.once(&answer)).await?;
    Ok(reply(&carts, currency, cart))
}

/// Set a line's quantity: creates the line if absent; 0 removes it.
#[utoipa::path(
    put,
    path = "/api/v1/carts/{cart_id}/items/{product_id}",
    operation_id = "set_cart_item_quantity",
    tag = "carts",
    params(
        ("cart_id" = Uuid, Path, description = "The cart's id"),
        ("product_id" = Uuid, Path, description = "The product's id"),
        IfMatchHeader,
    ),
    request_body(content = SetQuantityRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "The cart as changed (or as it was, if nothing changed)", body = CartBody, headers(("ETag" = String, description = "The cart's version, quoted"))),
        (status = 400, response = MalformedRequest),
        (status = 404, description = "Unknown cart or product", body = Problem, content_type = "application/problem+json"),
        (status = 412, response = PreconditionFailed),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = ValidationFailed),
    )
)]
pub async fn set_item(
    carts: Carts,
    config: Config,
    ApiPath((id, product_id)): ApiPath<(Uuid, Uuid)>,
    IfMatch(expected): IfMatch,
    ApiJson(body): ApiJson<SetQuantityRequest>,
) -> Result<CartReply, ApiError> {
    let id = CartId(id);
    let input = body.and_then(|body| body.validate(carts.max_line_quantity()));
    let quantity = unless_cart_missing(&*carts, id, input).await?;
    let cart = carts.set_item_quantity(id, ProductId(product_id), quantity, &expected).await?;
    Ok(reply(&carts, config.currency(), cart))
}

/// Remove a product's line.
#[utoipa::path(
    delete,
    path = "/api/v1/carts/{cart_id}/items/{product_id}",
    operation_id = "remove_cart_item",
    tag = "carts",
    params(
        ("cart_id" = Uuid, Path, description = "The cart's id"),
        ("product_id" = Uuid, Path, description = "The product's id"),
        IfMatchHeader,
    ),
    responses(
        (status = 200, description = "The cart without that line", body = CartBody, headers(("ETag" = String, description = "The cart's version, quoted"))),
        (status = 400, response = MalformedRequest),
        (status = 404, description = "Unknown cart, or the product is not in the cart", body = Problem, content_type = "application/problem+json"),
        (status = 412, response = PreconditionFailed),
    )
)]
pub async fn remove_item(
    carts: Carts,
    config: Config,
    ApiPath((id, product_id)): ApiPath<(Uuid, Uuid)>,
    IfMatch(expected): IfMatch,
) -> Result<CartReply, ApiError> {
    let cart = carts.remove_item(CartId(id), ProductId(product_id), &expected).await?;
    Ok(reply(&carts, config.currency(), cart))
}

/// Empty the cart.
#[utoipa::path(
    delete,
    path = "/api/v1/carts/{cart_id}/items",
    operation_id = "clear_cart",
    tag = "carts",
    params(("cart_id" = Uuid, Path, description = "The cart's id"), IfMatchHeader),
    responses(
        (status = 200, description = "The cart, emptied", body = CartBody, headers(("ETag" = String, description = "The cart's version, quoted"))),
        (status = 400, response = MalformedRequest),
        (status = 404, response = NotFound),
        (status = 412, response = PreconditionFailed),
    )
)]
pub async fn clear(
    carts: Carts,
    config: Config,
    ApiPath(id): ApiPath<Uuid>,
    IfMatch(expected): IfMatch,
) -> Result<CartReply, ApiError> {
    let cart = carts.clear(CartId(id), &expected).await?;
    Ok(reply(&carts, config.currency(), cart))
}

/// Delete the cart.
#[utoipa::path(
    delete,
    path = "/api/v1/carts/{cart_id}",
    operation_id = "delete_cart",
    tag = "carts",
    params(("cart_id" = Uuid, Path, description = "The cart's id"), IfMatchHeader),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, response = MalformedRequest),
        (status = 404, response = NotFound),
        (status = 412, response = PreconditionFailed),
    )
)]
pub async fn delete(
    carts: Carts,
    ApiPath(id): ApiPath<Uuid>,
    IfMatch(expected): IfMatch,
) -> Result<StatusCode, ApiError> {
    carts.delete(CartId(id), &expected).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The reply for `cart`, in the shop's currency, saying when it expires.
fn reply(carts: &Carts, currency: Currency, cart: Cart) -> CartReply {
    let expires_at = carts.expires_at(&cart);
    CartReply::new(cart, currency, expires_at)
}

fn quantity(json: &str, max: MaxLineQuantity) -> Result<Quantity, String> {
    Quantity::new(integer("quantity", json)?, max).map_err(|e| e.to_string())
}

fn quantity_or_zero(json: &str, max: MaxLineQuantity) -> Result<Option<Quantity>, String> {
    Quantity::new_or_zero(integer("quantity", json)?, max).map_err(|e| e.to_string())
}

fn product_id(json: &str) -> Result<ProductId, String> {
    Uuid::try_parse(&string("product_id", json)?).map(ProductId).map_err(|_| "product_id must be a UUID".to_owned())
}
