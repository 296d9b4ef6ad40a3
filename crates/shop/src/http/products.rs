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
use uuid::Uuid;

use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::input::{Fields, integer, string};
use super::problem::ApiError;
use crate::container::{AppModule, AppSettings};

/// A product, as clients see it.
#[derive(Debug, Serialize)]
pub struct ProductBody {
    id: Uuid,
    name: String,
    description: Option<String>,
    price: i64,
    currency: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl ProductBody {
    fn new(product: Product, settings: &dyn AppSettings) -> Self {
        Self {
            id: product.id.0,
            name: product.name.as_str().to_owned(),
            description: product.description.map(|d| d.as_str().to_owned()),
            price: product.price.minor_units(),
            currency: settings.currency().to_string(),
            created_at: product.created_at,
            updated_at: product.updated_at,
        }
    }
}

/// One page of the catalog.
#[derive(Debug, Serialize)]
pub struct ProductPageBody {
    items: Vec<ProductBody>,
    next_cursor: Option<String>,
}

type Products = Inject<AppModule, dyn ProductService>;
type Settings = Inject<AppModule, dyn AppSettings>;

/// `POST /api/v1/products`
pub async fn create(
    products: Products,
    settings: Settings,
    ApiJson(body): ApiJson<Value>,
) -> Result<impl IntoResponse, ApiError> {
    let new = new_product(&body)?;
    let product = products.create(new).await?;
    let location = format!("/api/v1/products/{}", product.id.0);
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(ProductBody::new(product, &*settings))))
}

/// `GET /api/v1/products/{product_id}`
pub async fn get(
    products: Products,
    settings: Settings,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<ProductBody>, ApiError> {
    let product = products.get(ProductId(id)).await?;
    Ok(Json(ProductBody::new(product, &*settings)))
}

/// Query parameters of the listing.
#[derive(Debug, Deserialize)]
pub struct ListParams {
    limit: Option<u32>,
    cursor: Option<String>,
    q: Option<String>,
}

/// `GET /api/v1/products`
pub async fn list(
    products: Products,
    settings: Settings,
    ApiQuery(params): ApiQuery<ListParams>,
) -> Result<Json<ProductPageBody>, ApiError> {
    let limit = params.limit.unwrap_or(20);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::Malformed("limit must be an integer between 1 and 100".to_owned()));
    }
    let after = params.cursor.as_deref().map(decode_cursor).transpose()?;
    let name_contains = params.q.filter(|q| !q.is_empty());
    let page = products.list(ListProducts { after, name_contains, limit }).await?;
    Ok(Json(ProductPageBody {
        items: page.items.into_iter().map(|p| ProductBody::new(p, &*settings)).collect(),
        next_cursor: page.next.map(encode_cursor),
    }))
}

/// `PATCH /api/v1/products/{product_id}`
pub async fn update(
    products: Products,
    settings: Settings,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<ProductBody>, ApiError> {
    let patch = product_patch(&body)?;
    let product = products.update(ProductId(id), patch).await?;
    Ok(Json(ProductBody::new(product, &*settings)))
}

/// `DELETE /api/v1/products/{product_id}`
pub async fn delete(products: Products, ApiPath(id): ApiPath<Uuid>) -> Result<StatusCode, ApiError> {
    products.delete(ProductId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn new_product(body: &Value) -> Result<NewProduct, ApiError> {
    let mut fields = Fields::of(body)?;
    let name = fields.required("name", parse_name);
    let description = fields.optional("description", parse_description);
    let price = fields.required("price", parse_price);
    fields.finish()?;
    match (name, description, price) {
        (Some(name), Some(description), Some(price)) => {
            Ok(NewProduct { name, description: description.flatten(), price })
        }
        _ => Err(ApiError::Malformed("invalid product".to_owned())), // finish() reported every missing field
    }
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
    fields.finish()?;
    Ok(ProductPatch { name: name.flatten(), description: description.flatten(), price: price.flatten() })
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
