//! `/api/v1/products`: the catalog.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shaku_axum::Inject;
use shop_application::services::{ListProducts, ProductService};
use shop_domain::{
    Currency, Description, NewProduct, Price, Product, ProductId, ProductName, ProductPatch, SearchText,
};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::extract::{IfNoneMatch, IfNoneMatchHeader};
use super::idempotency::{KeyClaim, Rendered};
use super::input::{Field, integer, string};
use super::timestamp::rfc3339;
use crate::container::{AppModule, AppSettings};
use crate::edge::ApiError;
use crate::edge::Errors;
use crate::edge::cursor::{decode_cursor, encode_cursor};
use crate::edge::extract::{ApiJson, ApiPath, ApiQuery};
use crate::edge::idempotency::IdempotencyKeyHeader;
use crate::edge::openapi::{
    IdempotencyKeyInFlight, MalformedRequest, NotFound, PayloadTooLarge, Unauthorized, UnsupportedMediaType,
    ValidationFailed, ValidationOrKeyReused,
};

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
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"name": "Green tea", "description": "Sencha, 100 g", "price": 450}))]
pub struct NewProductRequest {
    /// Surrounding white space is trimmed; then 1 to 200 characters.
    #[serde(default)]
    #[schema(value_type = String, required = true, min_length = 1, max_length = 200)]
    name: Field,
    /// At most 2000 characters; null or absent for none.
    #[serde(default)]
    #[schema(value_type = Option<String>, required = false, max_length = 2000)]
    description: Field,
    /// An integer in minor units: `19.99` or `"450"` are refused (`450.0` is 450).
    #[serde(default)]
    #[schema(value_type = i64, required = true, minimum = 0, maximum = 1_000_000_000)]
    price: Field,
}

impl NewProductRequest {
    fn validate(&self) -> Result<NewProduct, ApiError> {
        let mut errors = Errors::default();
        let name = errors.check("name", self.name.required("name", name));
        let description = errors.check("description", self.description.nullable(description));
        let price = errors.check("price", self.price.required("price", price));
        errors.finish(|| Some(NewProduct { name: name?, description: description?.flatten(), price: price? }))
    }
}

/// The body of `PATCH /api/v1/products/{product_id}`: any of the fields; `{}` changes nothing.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"price": 500, "description": null}))]
pub struct ProductPatchRequest {
    /// A new name; null is refused.
    #[serde(default)]
    #[schema(value_type = String, required = false, min_length = 1, max_length = 200)]
    name: Field,
    /// A new description; null clears it.
    #[serde(default)]
    #[schema(value_type = Option<String>, required = false, max_length = 2000)]
    description: Field,
    /// A new price; null is refused.
    #[serde(default)]
    #[schema(value_type = i64, required = false, minimum = 0, maximum = 1_000_000_000)]
    price: Field,
}

impl ProductPatchRequest {
    fn validate(&self) -> Result<ProductPatch, ApiError> {
        let mut errors = Errors::default();
        let name = errors.check("name", self.name.optional("name", name));
        let description = errors.check("description", self.description.nullable(description));
        let price = errors.check("price", self.price.optional("price", price));
        errors.finish(|| Some(ProductPatch { name: name?, description: description?, price: price? }))
    }
}

impl ProductBody {
    fn new(product: Product, currency: Currency) -> Self {
        Self {
            id: product.id.0,
            name: product.name.into(),
            description: product.description.map(String::from),
            price: product.price.minor_units(),
            currency: currency.to_string(),
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
type Config = Inject<AppModule, dyn AppSettings>;

/// Create a product.
#[utoipa::path(
    post,
    path = "/api/v1/products",
    operation_id = "create_product",
    tag = "products",
    params(IdempotencyKeyHeader),
    request_body(content = NewProductRequest, content_type = "application/json"),
    security((), ("admin_token" = [])),
    responses(
        (status = 201, description = "Created (or, with a key sent before, the first answer again)", body = ProductBody,
            headers(
                ("Location" = String, description = "The new product's URL"),
                ("ETag" = String, description = "The product's entity tag, for `If-None-Match`"),
                ("Idempotent-Replayed" = String, description = "`true` when this is the kept answer of an earlier request with the same key"),
            ),
            links(
                ("GetProduct" = (operation_id = "get_product", parameters(("product_id" = "$response.body#/id")))),
                ("UpdateProduct" = (operation_id = "update_product", parameters(("product_id" = "$response.body#/id")))),
                ("DeleteProduct" = (operation_id = "delete_product", parameters(("product_id" = "$response.body#/id")))),
            )),
        (status = 400, response = MalformedRequest),
        (status = 401, response = Unauthorized),
        (status = 413, response = PayloadTooLarge),
        (status = 409, response = IdempotencyKeyInFlight),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = ValidationOrKeyReused),
    )
)]
pub async fn create(
    products: Products,
    config: Config,
    claim: KeyClaim,
    ApiJson(body): ApiJson<NewProductRequest>,
) -> Result<Rendered, ApiError> {
    let new = body?.validate()?;
    let currency = config.currency();
    let reply = |product: &Product| {
        let location = format!("/api/v1/products/{}", product.id.0);
        Rendered::json(StatusCode::CREATED, &ProductBody::new(product.clone(), currency), Some(location), None)
            .tagged_by_content()
    };
    let answer = |product: &Product| reply(product).answer();
    let product = products.create(new, claim.once(&answer)).await?;
    Ok(reply(&product))
}

/// Read a product.
#[utoipa::path(
    get,
    path = "/api/v1/products/{product_id}",
    operation_id = "get_product",
    tag = "products",
    params(("product_id" = Uuid, Path, description = "The product's id"), IfNoneMatchHeader),
    responses(
        (status = 200, description = "The product", body = ProductBody,
            headers(("ETag" = String, description = "The product's entity tag: a digest of this body"))),
        (status = 304, description = "Not modified: the `ETag` is one `If-None-Match` named; no body",
            headers(("ETag" = String, description = "The product's entity tag"))),
        (status = 400, response = MalformedRequest),
        (status = 404, response = NotFound),
    )
)]
pub async fn get(
    products: Products,
    config: Config,
    ApiPath(id): ApiPath<Uuid>,
    if_none_match: IfNoneMatch,
) -> Result<Response, ApiError> {
    let product = products.get(ProductId(id)).await?;
    let rendered =
        Rendered::json(StatusCode::OK, &ProductBody::new(product, config.currency()), None, None).tagged_by_content();
    match rendered.etag().filter(|etag| if_none_match.matches(etag)).map(HeaderValue::from_str) {
        Some(Ok(etag)) => Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response()),
        _ => Ok(rendered.into_response()),
    }
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
    /// Only products whose name contains this text, ignoring case: at most 200 characters, no control characters.
    #[param(max_length = 200)]
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
        (status = 200, description = "One page; follow `next_cursor` for the next", body = ProductPageBody,
            headers(("Link" = String, description = "`<…>; rel=\"next\"`: the next page's URL, when there is one"))),
        (status = 400, response = MalformedRequest),
    )
)]
pub async fn list(
    products: Products,
    config: Config,
    ApiQuery(params): ApiQuery<ListParams>,
) -> Result<Response, ApiError> {
    let limit = params.limit.unwrap_or(20);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::Malformed("limit must be an integer between 1 and 100".to_owned()));
    }
    let after = params.cursor.as_deref().filter(|c| !c.is_empty()).map(decode_cursor).transpose()?;
    let q = params.q.filter(|q| !q.is_empty());
    let name_contains =
        q.as_deref().map(SearchText::new).transpose().map_err(|err| ApiError::Malformed(err.to_string()))?;
    let page = products.list(ListProducts { after, name_contains, limit }).await?;
    let next_cursor = page.next.map(encode_cursor);
    let link = next_cursor.as_deref().map(|cursor| next_page_link(limit, q.as_deref(), cursor));
    let body = Json(ProductPageBody {
        items: page.items.into_iter().map(|p| ProductBody::new(p, config.currency())).collect(),
        next_cursor,
    });
    Ok(match link.map(|link| HeaderValue::from_str(&link)) {
        Some(Ok(link)) => ([(header::LINK, link)], body).into_response(),
        _ => body.into_response(),
    })
}

/// `Link: </api/v1/products?…&cursor=…>; rel="next"` (RFC 8288): the same
/// query with the next page's cursor.
fn next_page_link(limit: u32, q: Option<&str>, cursor: &str) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.append_pair("limit", &limit.to_string());
    if let Some(q) = q {
        query.append_pair("q", q);
    }
    query.append_pair("cursor", cursor);
    format!("</api/v1/products?{}>; rel=\"next\"", query.finish())
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
        (status = 200, description = "The product as changed", body = ProductBody,
            headers(("ETag" = String, description = "The product's entity tag"))),
        (status = 400, response = MalformedRequest),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = ValidationFailed),
    )
)]
pub async fn update(
    products: Products,
    config: Config,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<ProductPatchRequest>,
) -> Result<Rendered, ApiError> {
    let product = products.update(ProductId(id), body?.validate()?).await?;
    Ok(Rendered::json(StatusCode::OK, &ProductBody::new(product, config.currency()), None, None).tagged_by_content())
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
pub async fn delete(products: Products, ApiPath(id): ApiPath<Uuid>) -> Result<StatusCode, ApiError> {
    products.delete(ProductId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn name(json: &str) -> Result<ProductName, String> {
    ProductName::new(&string("name", json)?).map_err(|e| e.to_string())
}

fn description(json: &str) -> Result<Description, String> {
    Description::new(&string("description", json)?).map_err(|e| e.to_string())
}

fn price(json: &str) -> Result<Price, String> {
    let message = || format!("price must be an integer between {} and {}", Price::MIN, Price::MAX);
    Price::new(integer("price", json).map_err(|_| message())?).map_err(|_| message())
}
