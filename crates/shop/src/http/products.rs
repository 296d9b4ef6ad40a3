//! `/api/v1/products`: the catalog.

use axum::Json;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use shaku_axum::Inject;
use shop_application::ports::ProductCursor;
use shop_application::services::{ListProducts, ProductService};
use shop_domain::{Description, NewProduct, Price, Product, ProductId, ProductName, ProductPatch};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::auth::CatalogAdmin;
use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::input::{Fields, integer, string};
use super::openapi::{
    MalformedRequest, NotFound, PayloadTooLarge, Unauthorized, UnsupportedMediaType, ValidationFailed,
};
use super::problem::ApiError;
use super::timestamp::rfc3339;
use crate::container::{AppModule, AppSettings};

/// A product, as clients see it.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Product, example = json!({
    "id": "8d0f3bd6-5f7a-4f0e-9a55-3a1e2b7c9d10", "name": "Green tea", "description": "Sencha, 100 g",
    "price": 450, "currency": "EUR", "created_at": "2026-11-24T09:00:00Z", "updated_at": "2026-11-24T09:00:00Z"
}))]
pub struct ProductBody {
    id: Uuid,
    /// Trimmed, 1 to 200 characters.
    name: String,
    /// At most 2000 characters, or null.
    description: Option<String>,
    /// Minor units of `currency` (450 = 4.50), 0 to 1000000000.
    #[schema(minimum = 0, maximum = 1_000_000_000)]
    price: i64,
    /// ISO 4217 code of the shop's currency.
    currency: String,
    #[serde(serialize_with = "rfc3339")]
    created_at: DateTime<Utc>,
    #[serde(serialize_with = "rfc3339")]
    updated_at: DateTime<Utc>,
}

/// The body of `POST /api/v1/products`.
#[derive(Debug, ToSchema)]
#[schema(example = json!({"name": "Green tea", "description": "Sencha, 100 g", "price": 450}))]
#[allow(dead_code)] // documents the body that `new_product` reads field by field
pub struct NewProductRequest {
    /// Surrounding white space is trimmed; then 1 to 200 characters.
    #[schema(min_length = 1, max_length = 200)]
    name: String,
    /// At most 2000 characters; null or absent for none.
    #[schema(max_length = 2000)]
    description: Option<String>,
    /// An integer in minor units: `19.99` or `"450"` are refused (`450.0` is 450).
    #[schema(minimum = 0, maximum = 1_000_000_000)]
    price: i64,
}

/// The body of `PATCH /api/v1/products/{product_id}`: any of the fields; `{}` changes nothing.
#[derive(Debug, ToSchema)]
#[schema(example = json!({"price": 500, "description": null}))]
#[allow(dead_code)] // documents the body that `product_patch` reads field by field
pub struct ProductPatchRequest {
    /// A new name; null is refused.
    #[schema(min_length = 1, max_length = 200, nullable = false)]
    name: Option<String>,
    /// A new description; null clears it.
    #[schema(max_length = 2000)]
    description: Option<Option<String>>,
    /// A new price; null is refused.
    #[schema(minimum = 0, maximum = 1_000_000_000, nullable = false)]
    price: Option<i64>,
}

impl ProductBody {
    fn new(product: Product, settings: &dyn AppSettings) -> Self {
        Self {
            id: product.id.0,
            name: product.name.into(),
            description: product.description.map(String::from),
            price: product.price.minor_units(),
            currency: settings.currency().to_string(),
            created_at: product.created_at,
            updated_at: product.updated_at,
        }
    }
}

/// One page of the catalog.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = ProductPage)]
pub struct ProductPageBody {
    /// Oldest first.
    items: Vec<ProductBody>,
    /// Pass as `cursor` for the next page; null on the last page.
    next_cursor: Option<String>,
}

type Products = Inject<AppModule, dyn ProductService>;
type Settings = Inject<AppModule, dyn AppSettings>;

/// Create a product.
#[utoipa::path(
    post,
    path = "/api/v1/products",
    operation_id = "create_product",
    tag = "products",
    request_body(content = NewProductRequest, content_type = "application/json"),
    security((), ("admin_token" = [])),
    responses(
        (status = 201, description = "Created", body = ProductBody,
            headers(("Location" = String, description = "The new product's URL")),
            links(
                ("GetProduct" = (operation_id = "get_product", parameters(("product_id" = "$response.body#/id")))),
                ("UpdateProduct" = (operation_id = "update_product", parameters(("product_id" = "$response.body#/id")))),
                ("DeleteProduct" = (operation_id = "delete_product", parameters(("product_id" = "$response.body#/id")))),
            )),
        (status = 400, response = MalformedRequest),
        (status = 401, response = Unauthorized),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = ValidationFailed),
    )
)]
pub async fn create(
    _admin: CatalogAdmin,
    products: Products,
    settings: Settings,
    ApiJson(body): ApiJson<Value>,
) -> Result<impl IntoResponse, ApiError> {
    let new = new_product(&body)?;
    let product = products.create(new).await?;
    let location = format!("/api/v1/products/{}", product.id.0);
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(ProductBody::new(product, &*settings))))
}

/// Read a product.
#[utoipa::path(
    get,
    path = "/api/v1/products/{product_id}",
    operation_id = "get_product",
    tag = "products",
    params(("product_id" = Uuid, Path, description = "The product's id")),
    responses(
        (status = 200, description = "The product", body = ProductBody),
        (status = 400, response = MalformedRequest),
        (status = 404, response = NotFound),
    )
)]
pub async fn get(
    products: Products,
    settings: Settings,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<ProductBody>, ApiError> {
    let product = products.get(ProductId(id)).await?;
    Ok(Json(ProductBody::new(product, &*settings)))
}

/// Query parameters of the listing.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Page size.
    #[param(minimum = 1, maximum = 100, default = 20)]
    limit: Option<u32>,
    /// Opaque position from a previous page's `next_cursor`.
    cursor: Option<String>,
    /// Only products whose name contains this text, ignoring case.
    q: Option<String>,
}

/// List products, oldest first, in keyset pages.
#[utoipa::path(
    get,
    path = "/api/v1/products",
    operation_id = "list_products",
    tag = "products",
    params(ListParams),
    responses(
        (status = 200, description = "One page; follow `next_cursor` for the next", body = ProductPageBody),
        (status = 400, response = MalformedRequest),
    )
)]
pub async fn list(
    products: Products,
    settings: Settings,
    ApiQuery(params): ApiQuery<ListParams>,
) -> Result<Json<ProductPageBody>, ApiError> {
    let limit = params.limit.unwrap_or(20);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::Malformed("limit must be an integer between 1 and 100".to_owned()));
    }
    let after = params.cursor.as_deref().filter(|c| !c.is_empty()).map(decode_cursor).transpose()?;
    let name_contains = params.q.filter(|q| !q.is_empty());
    let page = products.list(ListProducts { after, name_contains, limit }).await?;
    Ok(Json(ProductPageBody {
        items: page.items.into_iter().map(|p| ProductBody::new(p, &*settings)).collect(),
        next_cursor: page.next.map(encode_cursor),
    }))
}

/// Change some fields of a product.
#[utoipa::path(
    patch,
    path = "/api/v1/products/{product_id}",
    operation_id = "update_product",
    tag = "products",
    params(("product_id" = Uuid, Path, description = "The product's id")),
    request_body(content = ProductPatchRequest, content_type = "application/json"),
    security((), ("admin_token" = [])),
    responses(
        (status = 200, description = "The product as changed", body = ProductBody),
        (status = 400, response = MalformedRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = ValidationFailed),
    )
)]
pub async fn update(
    _admin: CatalogAdmin,
    products: Products,
    settings: Settings,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<ProductBody>, ApiError> {
    let patch = product_patch(&body)?;
    let product = products.update(ProductId(id), patch).await?;
    Ok(Json(ProductBody::new(product, &*settings)))
}

/// Delete a product; it leaves every cart that held it.
#[utoipa::path(
    delete,
    path = "/api/v1/products/{product_id}",
    operation_id = "delete_product",
    tag = "products",
    params(("product_id" = Uuid, Path, description = "The product's id")),
    security((), ("admin_token" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, response = MalformedRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
    )
)]
pub async fn delete(
    _admin: CatalogAdmin,
    products: Products,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, ApiError> {
    products.delete(ProductId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn new_product(body: &Value) -> Result<NewProduct, ApiError> {
    let mut fields = Fields::of(body)?;
    let name = fields.required("name", parse_name);
    let description = fields.optional("description", parse_description);
    let price = fields.required("price", parse_price);
    fields.finish((|| Some(NewProduct { name: name?, description: description?.flatten(), price: price? }))())
}

fn product_patch(body: &Value) -> Result<ProductPatch, ApiError> {
    let mut fields = Fields::of(body)?;
    let not_null = |name: &'static str| {
        move |value: &Value| {
            if value.is_null() { Err(format!("{name} must not be null")) } else { Ok(()) }
        }
    };
    let name = fields.optional("name", |v| not_null("name")(v).and_then(|()| parse_name(v)));
    let description = fields.optional("description", parse_description);
    let price = fields.optional("price", |v| not_null("price")(v).and_then(|()| parse_price(v)));
    fields.finish((|| Some(ProductPatch { name: name?, description: description?, price: price? }))())
}

fn parse_name(value: &Value) -> Result<ProductName, String> {
    ProductName::new(string("name", value)?).map_err(|e| e.to_string())
}

/// `null` clears the description.
fn parse_description(value: &Value) -> Result<Option<Description>, String> {
    if value.is_null() {
        return Ok(None);
    }
    Description::new(string("description", value)?).map(Some).map_err(|e| e.to_string())
}

fn parse_price(value: &Value) -> Result<Price, String> {
    let message = || format!("price must be an integer between {} and {}", Price::MIN, Price::MAX);
    Price::new(integer("price", value).map_err(|_| message())?).map_err(|_| message())
}

/// The opaque cursor: the position's creation time (µs) and id, base64url.
fn encode_cursor(cursor: ProductCursor) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}:{}", cursor.created_at.timestamp_micros(), cursor.id.0.simple()))
}

fn decode_cursor(text: &str) -> Result<ProductCursor, ApiError> {
    let malformed = || ApiError::Malformed("cursor is not one this service issued".to_owned());
    let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| malformed())?;
    let decoded = String::from_utf8(bytes).map_err(|_| malformed())?;
    let (micros, id) = decoded.split_once(':').ok_or_else(malformed)?;
    let created_at = micros.parse().ok().and_then(DateTime::from_timestamp_micros).ok_or_else(malformed)?;
    let id = Uuid::try_parse(id).map_err(|_| malformed())?;
    Ok(ProductCursor { created_at, id: ProductId(id) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trip_and_garbage() {
        let cursor = ProductCursor {
            created_at: DateTime::from_timestamp_micros(1_700_000_000_123_456).expect("valid"),
            id: ProductId(Uuid::new_v4()),
        };
        assert_eq!(decode_cursor(&encode_cursor(cursor)).ok(), Some(cursor));
        for garbage in ["", "abc", "!!!", &URL_SAFE_NO_PAD.encode("12:nope")] {
            assert!(decode_cursor(garbage).is_err(), "{garbage:?}");
        }
    }
}
