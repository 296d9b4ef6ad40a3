//! The GraphQL types: scalars, objects and inputs, built from domain values.

use async_graphql::{
    InputObject, InputValueError, InputValueResult, MaybeUndefined, Scalar, ScalarType, SimpleObject, Value,
};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use shop_application::ports::ProductCursor;
use shop_domain::{Cart, CartLine, Currency, Product as DomainProduct};

/// A UUID, as REST writes ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Uuid(pub uuid::Uuid);

/// RFC 4122, canonical lowercase hyphenated.
#[Scalar(name = "UUID")]
impl ScalarType for Uuid {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(text) => {
                uuid::Uuid::try_parse(text).map(Self).map_err(|_| InputValueError::custom("not a UUID"))
            }
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    // Checked when the document is validated: a malformed id refuses the whole document.
    fn is_valid(value: &Value) -> bool {
        matches!(value, Value::String(text) if uuid::Uuid::try_parse(text).is_ok())
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.to_string())
    }
}

/// A point in time, as REST writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timestamp(pub DateTime<Utc>);

/// RFC 3339 UTC, the same text REST returns for the same instant.
#[Scalar(name = "DateTime")]
impl ScalarType for Timestamp {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(text) => DateTime::parse_from_rfc3339(text)
                .map(|at| Self(at.with_timezone(&Utc)))
                .map_err(|_| InputValueError::custom("not an RFC 3339 time")),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn is_valid(value: &Value) -> bool {
        matches!(value, Value::String(text) if DateTime::parse_from_rfc3339(text).is_ok())
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.to_rfc3339_opts(SecondsFormat::AutoSi, true))
    }
}

/// A 64-bit integer for totals and versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Long(pub i64);

/// A signed 64-bit integer, as a JSON number (GraphQL's Int is 32-bit).
#[Scalar(name = "Long")]
impl ScalarType for Long {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::Number(number) => {
                number.as_i64().map(Self).ok_or_else(|| InputValueError::custom("not a 64-bit integer"))
            }
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn is_valid(value: &Value) -> bool {
        matches!(value, Value::Number(number) if number.is_i64())
    }

    fn to_value(&self) -> Value {
        Value::Number(self.0.into())
    }
}

/// A product of the catalog.
#[derive(Debug, Clone, PartialEq, Eq, SimpleObject, Serialize, Deserialize)]
pub struct Product {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    /// Minor units of `currency`: 450 = 4.50 EUR.
    pub price: i32,
    pub currency: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Product {
    /// The view of `product` in `currency`.
    pub fn new(product: DomainProduct, currency: Currency) -> Self {
        Self {
            id: Uuid(product.id.0),
            // At most 1 000 000 000: it fits an Int.
            price: i32::try_from(product.price.minor_units()).unwrap_or(i32::MAX),
            name: product.name.into(),
            description: product.description.map(String::from),
            currency: currency.to_string(),
            created_at: Timestamp(product.created_at),
            updated_at: Timestamp(product.updated_at),
        }
    }
}

/// An edge of a product page.
#[derive(Debug, Clone, SimpleObject)]
pub struct ProductEdge {
    pub cursor: String,
    pub node: Product,
}

/// Where a page stands.
#[derive(Debug, Clone, SimpleObject)]
pub struct PageInfo {
    pub has_next_page: bool,
    pub end_cursor: Option<String>,
}

/// A page of the catalog.
#[derive(Debug, Clone, SimpleObject)]
pub struct ProductConnection {
    pub edges: Vec<ProductEdge>,
    pub nodes: Vec<Product>,
    pub page_info: PageInfo,
}

impl ProductConnection {
    /// The page of `products`, whose cursors `cursor` writes, with or without a next page.
    pub fn new(products: Vec<DomainProduct>, has_next_page: bool, currency: Currency) -> Self {
        let edges: Vec<ProductEdge> = products
            .into_iter()
            .map(|product| ProductEdge {
                cursor: crate::edge::cursor::encode_cursor(ProductCursor::from(&product)),
                node: Product::new(product, currency),
            })
            .collect();
        let end_cursor = edges.last().map(|edge| edge.cursor.clone());
        let nodes = edges.iter().map(|edge| edge.node.clone()).collect();
        Self { edges, nodes, page_info: PageInfo { has_next_page, end_cursor } }
    }
}

/// A line: live catalog name and price, as in REST.
#[derive(Debug, Clone, PartialEq, Eq, SimpleObject, Serialize, Deserialize)]
pub struct CartItem {
    pub product_id: Uuid,
    pub name: String,
    pub unit_price: i32,
    pub quantity: i32,
    pub line_total: Long,
}

impl CartItem {
    fn new(line: CartLine) -> Self {
        Self {
            product_id: Uuid(line.product_id.0),
            unit_price: i32::try_from(line.unit_price.minor_units()).unwrap_or(i32::MAX),
            quantity: i32::try_from(line.quantity.get()).unwrap_or(i32::MAX),
            line_total: Long(line.line_total()),
            name: line.name.into(),
        }
    }
}

/// A shopping cart.
#[derive(Debug, Clone, PartialEq, Eq, SimpleObject, Serialize, Deserialize)]
#[graphql(name = "Cart")]
pub struct CartView {
    pub id: Uuid,
    /// Oldest line first.
    pub items: Vec<CartItem>,
    pub total_quantity: Long,
    pub subtotal: Long,
    pub currency: String,
    /// 0 for a new cart, +1 on every change of its content (the REST ETag).
    pub version: Long,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// When the cart expires unless its content changes (API.md, cart expiry).
    pub expires_at: Timestamp,
}

impl CartView {
    /// The view of `cart` in `currency`, expiring at `expires_at`.
    pub fn new(cart: Cart, currency: Currency, expires_at: DateTime<Utc>) -> Self {
        Self {
            id: Uuid(cart.id().0),
            total_quantity: Long(i64::try_from(cart.total_quantity()).unwrap_or(i64::MAX)),
            subtotal: Long(cart.subtotal()),
            currency: currency.to_string(),
            version: Long(i64::try_from(cart.version().0).unwrap_or(i64::MAX)),
            created_at: Timestamp(cart.created_at()),
            updated_at: Timestamp(cart.updated_at()),
            expires_at: Timestamp(expires_at),
            items: cart.into_lines().into_iter().map(CartItem::new).collect(),
        }
    }
}

/// A new product.
#[derive(Debug, Clone, InputObject)]
pub struct ProductInput {
    pub name: String,
    pub description: Option<String>,
    pub price: i32,
}

/// An absent field is unchanged; `description: null` clears it; `name: null` or `price: null` is a VALIDATION error.
#[derive(Debug, Clone, InputObject)]
#[graphql(name = "ProductPatch")]
pub struct ProductPatchInput {
    pub name: MaybeUndefined<String>,
    pub description: MaybeUndefined<String>,
    pub price: MaybeUndefined<i32>,
}
