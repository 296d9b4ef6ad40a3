//! `/api/v1/carts`: carts and their lines. Every cart response carries
//! `ETag: "<version>"`; every write honours `If-Match`.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use shaku_axum::Inject;
use shop_application::CartError;
use shop_application::services::CartService;
use shop_domain::{Cart, CartId, MaxLineQuantity, ProductId, Quantity};
use uuid::Uuid;

use super::extract::{ApiJson, ApiPath, IfMatch};
use super::input::{Fields, integer, string};
use super::problem::ApiError;
use crate::container::{AppModule, AppSettings};

/// A cart line, as clients see it.
#[derive(Debug, Serialize)]
pub struct CartItemBody {
    product_id: Uuid,
    name: String,
    unit_price: i64,
    quantity: u32,
    line_total: i64,
}

/// A cart, as clients see it.
#[derive(Debug, Serialize)]
pub struct CartBody {
    id: Uuid,
    items: Vec<CartItemBody>,
    total_quantity: u64,
    subtotal: i64,
    currency: String,
    version: u64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

/// A cart response: the body and its `ETag`.
pub struct CartReply {
    status: StatusCode,
    body: CartBody,
}

impl CartReply {
    fn new(cart: Cart, settings: &dyn AppSettings) -> Self {
        let body = CartBody {
            id: cart.id.0,
            total_quantity: cart.total_quantity(),
            subtotal: cart.subtotal(),
            items: cart
                .lines
                .iter()
                .map(|line| CartItemBody {
                    product_id: line.product_id.0,
                    name: line.name.as_str().to_owned(),
                    unit_price: line.unit_price.minor_units(),
                    quantity: line.quantity.get(),
                    line_total: line.line_total(),
                })
                .collect(),
            currency: settings.currency().to_string(),
            version: cart.version.0,
            created_at: cart.created_at,
            updated_at: cart.updated_at,
        };
        Self { status: StatusCode::OK, body }
    }
}

impl IntoResponse for CartReply {
    fn into_response(self) -> Response {
        let etag = HeaderValue::from_str(&format!("\"{}\"", self.body.version));
        let mut response = (self.status, Json(self.body)).into_response();
        if let Ok(etag) = etag {
            response.headers_mut().insert(header::ETAG, etag);
        }
        response
    }
}

type Carts = Inject<AppModule, dyn CartService>;
type Settings = Inject<AppModule, dyn AppSettings>;

/// `POST /api/v1/carts`: no body, or `{}`.
pub async fn create(
    carts: Carts,
    settings: Settings,
    body: Result<Option<Json<Value>>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    if let Some(Json(body)) = body? {
        Fields::of(&body)?;
    }
    let cart = carts.create().await?;
    let location = format!("/api/v1/carts/{}", cart.id.0);
    let mut reply = CartReply::new(cart, &*settings);
    reply.status = StatusCode::CREATED;
    Ok(([(header::LOCATION, location)], reply).into_response())
}

/// `GET /api/v1/carts/{cart_id}`
pub async fn get(carts: Carts, settings: Settings, ApiPath(id): ApiPath<Uuid>) -> Result<CartReply, ApiError> {
    let cart = carts.get(CartId(id)).await?;
    Ok(CartReply::new(cart, &*settings))
}

/// `POST /api/v1/carts/{cart_id}/items`: `{"product_id", "quantity"?}` adds to the line.
pub async fn add_item(
    carts: Carts,
    settings: Settings,
    ApiPath(id): ApiPath<Uuid>,
    IfMatch(expected): IfMatch,
    ApiJson(body): ApiJson<Value>,
) -> Result<CartReply, ApiError> {
    let id = CartId(id);
    let input = add_item_input(&body, carts.max_line_quantity());
    let (product_id, quantity) = unless_cart_missing(&*carts, id, input).await?;
    let cart = carts.add_item(id, product_id, quantity, expected).await.map_err(|err| match err {
        // The product is named in the body, not the path: a 422, as API.md says.
        CartError::ProductNotFound => ApiError::invalid_field("product_id", "no product has this id"),
        other => other.into(),
    })?;
    Ok(CartReply::new(cart, &*settings))
}

/// `PUT /api/v1/carts/{cart_id}/items/{product_id}`: `{"quantity"}` sets the line; 0 removes it.
pub async fn set_item(
    carts: Carts,
    settings: Settings,
    ApiPath((id, product_id)): ApiPath<(Uuid, Uuid)>,
    IfMatch(expected): IfMatch,
    ApiJson(body): ApiJson<Value>,
) -> Result<CartReply, ApiError> {
    let id = CartId(id);
    let input = set_item_input(&body, carts.max_line_quantity());
    let quantity = unless_cart_missing(&*carts, id, input).await?;
    let cart = carts.set_item_quantity(id, ProductId(product_id), quantity, expected).await?;
    Ok(CartReply::new(cart, &*settings))
}

/// `DELETE /api/v1/carts/{cart_id}/items/{product_id}`
pub async fn remove_item(
    carts: Carts,
    settings: Settings,
    ApiPath((id, product_id)): ApiPath<(Uuid, Uuid)>,
    IfMatch(expected): IfMatch,
) -> Result<CartReply, ApiError> {
    let cart = carts.remove_item(CartId(id), ProductId(product_id), expected).await?;
    Ok(CartReply::new(cart, &*settings))
}

/// `DELETE /api/v1/carts/{cart_id}/items`
pub async fn clear(
    carts: Carts,
    settings: Settings,
    ApiPath(id): ApiPath<Uuid>,
    IfMatch(expected): IfMatch,
) -> Result<CartReply, ApiError> {
    let cart = carts.clear(CartId(id), expected).await?;
    Ok(CartReply::new(cart, &*settings))
}

/// `DELETE /api/v1/carts/{cart_id}`
pub async fn delete(
    carts: Carts,
    ApiPath(id): ApiPath<Uuid>,
    IfMatch(expected): IfMatch,
) -> Result<StatusCode, ApiError> {
    carts.delete(CartId(id), expected).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An unknown cart is 404 before the body's content is judged (422): only
/// when the input is invalid do we look the cart up, to tell which applies.
async fn unless_cart_missing<T>(
    carts: &dyn CartService,
    id: CartId,
    input: Result<T, ApiError>,
) -> Result<T, ApiError> {
    if input.is_err() {
        carts.get(id).await?;
    }
    input
}

fn add_item_input(body: &Value, max: MaxLineQuantity) -> Result<(ProductId, Quantity), ApiError> {
    let mut fields = Fields::of(body)?;
    let product_id = fields.required("product_id", parse_product_id);
    let quantity =
        fields.optional("quantity", |v| Quantity::new(integer("quantity", v)?, max).map_err(|e| e.to_string()));
    fields.finish()?;
    match (product_id, quantity) {
        (Some(product_id), Some(quantity)) => {
            let one = Quantity::new(1, max).map_err(|e| ApiError::Internal(Box::new(e)))?;
            Ok((product_id, quantity.unwrap_or(one)))
        }
        _ => Err(ApiError::Malformed("invalid item".to_owned())), // finish() reported every missing field
    }
}

fn set_item_input(body: &Value, max: MaxLineQuantity) -> Result<Option<Quantity>, ApiError> {
    let mut fields = Fields::of(body)?;
    let quantity =
        fields.required("quantity", |v| Quantity::new_or_zero(integer("quantity", v)?, max).map_err(|e| e.to_string()));
    fields.finish()?;
    quantity.ok_or_else(|| ApiError::Malformed("invalid quantity".to_owned()))
}

fn parse_product_id(value: &Value) -> Result<ProductId, String> {
    let text = string("product_id", value)?;
    Uuid::try_parse(text).map(ProductId).map_err(|_| "product_id must be a UUID".to_owned())
}
