//! The handlers over stub services, the way hexarch tests its handlers: the
//! HTTP mapping alone, what each handler passes to its
//! service, and how each answer or error of a service becomes a response.
//! No storage is involved: the container's in-memory store is switched off,
//! so a handler that reached past its service would answer 503.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use shop_application::idempotency::Idempotent;
use shop_application::services::{CartService, Expected, ListProducts, ProductPage, ProductService};
use shop_application::{
    AddItemError, CartWriteError, GetCartError, ProductError, RemoveItemError, SetItemError, StorageError,
};
use shop_domain::{
    Cart, CartId, CartLine, LineNotFound, LineQuantityExceeded, MaxLineQuantity, NewProduct, Price, Product, ProductId,
    ProductName, ProductPatch, Quantity, TooManyLines, Version,
};
use shop_infrastructure::in_memory::InMemoryStore;
use tower::ServiceExt;
use uuid::Uuid;

use shop::container::{InMemoryStorage, module_builder};
use shop::settings::Settings;

/// What the stub services answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    Ok,
    CartNotFound,
    VersionMismatch,
    ProductNotFound,
    OverTheCap,
    TooManyLines,
    LineNotFound,
    Panic,
    Unavailable,
    Internal,
}

/// Both services: every call is recorded, then answered as `answer` says.
#[derive(Clone)]
struct Stub {
    answer: Answer,
    calls: Arc<Mutex<Vec<String>>>,
}

impl Stub {
    fn record(&self, call: String) {
        self.calls.lock().expect("not poisoned").push(call);
    }

    fn storage(&self) -> StorageError {
        match self.answer {
            Answer::Unavailable => StorageError::Unavailable("the stub is down".into()),
            _ => StorageError::Internal("SELECT secret FROM internals".into()),
        }
    }

    fn write(&self) -> Result<Cart, CartWriteError> {
        match self.answer {
            Answer::CartNotFound => Err(CartWriteError::CartNotFound),
            Answer::VersionMismatch => Err(CartWriteError::VersionMismatch { current: Version(7) }),
            Answer::Unavailable | Answer::Internal => Err(CartWriteError::Storage(self.storage())),
            _ => Ok(cart()),
        }
    }
}

fn at() -> DateTime<Utc> {
    DateTime::from_timestamp(1_764_000_000, 0).expect("in range")
}

fn tea() -> Product {
    NewProduct {
        name: ProductName::new("Green tea").expect("valid"),
        description: None,
        price: Price::new(450).expect("valid"),
    }
    .into_product(ProductId(Uuid::from_u128(1)), at())
}

/// A cart at version 7 with 2 units of tea.
fn cart() -> Cart {
    let tea = tea();
    let line = CartLine {
        product_id: tea.id,
        name: tea.name,
        unit_price: tea.price,
        quantity: Quantity::new(2, MaxLineQuantity::default()).expect("valid"),
        added_at: at(),
    };
    Cart::restore(CartId(Uuid::from_u128(2)), Version(7), at(), at(), vec![line]).expect("a valid cart")
}

#[async_trait]
impl CartService for Stub {
    fn max_line_quantity(&self) -> MaxLineQuantity {
        MaxLineQuantity::new(10).expect("valid")
    }

    async fn create(&self, _once: Option<Idempotent<'_, Cart>>) -> Result<Cart, StorageError> {
        self.record("create".to_owned());
        self.write().map_err(|_| self.storage())
    }

    async fn get(&self, id: CartId) -> Result<Cart, GetCartError> {
        self.record(format!("get {}", id.0));
        assert_ne!(self.answer, Answer::Panic, "a bug in a service");
        self.write().map_err(|err| match err {
            CartWriteError::Storage(err) => GetCartError::Storage(err),
            _ => GetCartError::NotFound,
        })
    }

    async fn add_item(
        &self,
        id: CartId,
        product_id: ProductId,
        quantity: Quantity,
        expected: &Expected,
        _once: Option<Idempotent<'_, Cart>>,
    ) -> Result<Cart, AddItemError> {
        self.record(format!("add_item {} {} {} {expected:?}", id.0, product_id.0, quantity.get()));
        match self.answer {
            Answer::ProductNotFound => Err(AddItemError::ProductNotFound),
            Answer::OverTheCap => {
                Err(AddItemError::LineQuantityExceeded(LineQuantityExceeded { requested: 12, max: 10 }))
            }
            Answer::TooManyLines => Err(AddItemError::TooManyLines(TooManyLines { max: 100 })),
            _ => Ok(self.write()?),
        }
    }

    async fn set_item_quantity(
        &self,
        id: CartId,
        product_id: ProductId,
        quantity: Option<Quantity>,
        expected: &Expected,
    ) -> Result<Cart, SetItemError> {
        let quantity = quantity.map_or(0, Quantity::get);
        self.record(format!("set_item_quantity {} {} {quantity} {expected:?}", id.0, product_id.0));
        match self.answer {
            Answer::ProductNotFound => Err(SetItemError::ProductNotFound),
            _ => Ok(self.write()?),
        }
    }

    async fn remove_item(
        &self,
        id: CartId,
        product_id: ProductId,
        expected: &Expected,
    ) -> Result<Cart, RemoveItemError> {
        self.record(format!("remove_item {} {} {expected:?}", id.0, product_id.0));
        match self.answer {
            Answer::LineNotFound => Err(LineNotFound.into()),
            _ => Ok(self.write()?),
        }
    }

    async fn clear(&self, id: CartId, expected: &Expected) -> Result<Cart, CartWriteError> {
        self.record(format!("clear {} {expected:?}", id.0));
        self.write()
    }

    async fn delete(&self, id: CartId, expected: &Expected) -> Result<(), CartWriteError> {
        self.record(format!("delete {} {expected:?}", id.0));
        self.write().map(drop)
    }

    fn expires_at(&self, cart: &Cart) -> DateTime<Utc> {
        cart.updated_at() + chrono::TimeDelta::days(30)
    }

    async fn purge_expired(&self, _batch: u32) -> Result<u64, StorageError> {
        self.record("purge_expired".to_owned());
        Ok(0)
    }
}

#[async_trait]
impl ProductService for Stub {
    async fn create(&self, new: NewProduct, _once: Option<Idempotent<'_, Product>>) -> Result<Product, ProductError> {
        self.record(format!("create_product {} {}", new.name.as_str(), new.price.minor_units()));
        self.product()
    }

    async fn get(&self, id: ProductId) -> Result<Product, ProductError> {
        self.record(format!("get_product {}", id.0));
        self.product()
    }

    async fn list(&self, request: ListProducts) -> Result<ProductPage, ProductError> {
        self.record(format!("list {:?} {}", request.name_contains.as_ref().map(|q| q.as_str()), request.limit));
        Ok(ProductPage { items: vec![self.product()?], next: None })
    }

    async fn update(&self, id: ProductId, patch: ProductPatch) -> Result<Product, ProductError> {
        self.record(format!("update_product {} {:?}", id.0, patch.description));
        self.product()
    }

    async fn delete(&self, id: ProductId) -> Result<(), ProductError> {
        self.record(format!("delete_product {}", id.0));
        self.product().map(drop)
    }
}

impl Stub {
    fn product(&self) -> Result<Product, ProductError> {
        match self.answer {
            Answer::ProductNotFound => Err(ProductError::NotFound),
            Answer::Unavailable | Answer::Internal => Err(self.storage().into()),
            _ => Ok(tea()),
        }
    }
}

/// The real router over a container whose services are `stub`.
fn router(stub: &Stub) -> axum::Router {
    let store = InMemoryStore::new();
    store.set_unavailable(true);
    let module = module_builder(Settings::defaults().expect("defaults"), InMemoryStorage::of(&store))
        .with_component_override::<dyn CartService>(Box::new(stub.clone()))
        .with_component_override::<dyn ProductService>(Box::new(stub.clone()))
        .build();
    shop::router::router(Arc::new(module), std::time::Duration::from_secs(5))
}

struct Reply {
    status: StatusCode,
    etag: Option<String>,
    retry_after: Option<String>,
    body: Value,
}

async fn call(
    answer: Answer,
    method: &str,
    path: &str,
    body: Option<Value>,
    if_match: Option<&str>,
) -> (Reply, Vec<String>) {
    let stub = Stub { answer, calls: Arc::default() };
    let mut request = Request::builder().method(method).uri(path);
    if let Some(tag) = if_match {
        request = request.header(header::IF_MATCH, tag);
    }
    let request = match body {
        Some(body) => request.header(header::CONTENT_TYPE, "application/json").body(Body::from(body.to_string())),
        None => request.body(Body::empty()),
    };
    let response = router(&stub).oneshot(request.expect("a request")).await.expect("answered");
    let header = |name| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let (status, etag, retry_after) = (response.status(), header(header::ETAG), header(header::RETRY_AFTER));
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.expect("a body");
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let calls = stub.calls.lock().expect("not poisoned").clone();
    (Reply { status, etag, retry_after, body }, calls)
}

const CART: &str = "/api/v1/carts/00000000-0000-0000-0000-000000000002";
const PRODUCT: &str = "00000000-0000-0000-0000-000000000001";

#[tokio::test]
async fn a_cart_becomes_its_json_with_its_version_as_etag() {
    let (reply, calls) = call(Answer::Ok, "GET", CART, None, None).await;
    assert_eq!((reply.status, reply.etag.as_deref()), (StatusCode::OK, Some("\"7\"")));
    assert_eq!(
        reply.body,
        json!({
            "id": "00000000-0000-0000-0000-000000000002",
            "items": [{"product_id": PRODUCT, "name": "Green tea", "unit_price": 450, "quantity": 2, "line_total": 900}],
            "total_quantity": 2, "subtotal": 900, "currency": "EUR", "version": 7,
            "created_at": "2025-11-24T16:00:00Z", "updated_at": "2025-11-24T16:00:00Z",
            "expires_at": "2025-12-24T16:00:00Z"
        })
    );
    assert_eq!(calls, ["get 00000000-0000-0000-0000-000000000002"]);
}

#[tokio::test]
async fn requests_reach_their_service_as_domain_values() {
    let items = format!("{CART}/items");
    let line = format!("{CART}/items/{PRODUCT}");
    let cart = "00000000-0000-0000-0000-000000000002";
    let cases = [
        (
            "POST",
            items.as_str(),
            Some(json!({"product_id": PRODUCT, "quantity": 3.0})),
            Some("\"5\""),
            format!("add_item {cart} {PRODUCT} 3 OneOf([Version(5)])"),
        ),
        (
            "POST",
            items.as_str(),
            Some(json!({"product_id": PRODUCT})),
            Some("*"),
            format!("add_item {cart} {PRODUCT} 1 Any"),
        ),
        ("PUT", line.as_str(), Some(json!({"quantity": 0})), None, format!("set_item_quantity {cart} {PRODUCT} 0 Any")),
        ("DELETE", line.as_str(), None, Some("\"7\""), format!("remove_item {cart} {PRODUCT} OneOf([Version(7)])")),
        ("DELETE", items.as_str(), None, None, format!("clear {cart} Any")),
        ("DELETE", CART, None, Some("W/\"7\", \"017\""), format!("delete {cart} OneOf([])")),
        ("DELETE", CART, None, Some("\"6\", \"7\""), format!("delete {cart} OneOf([Version(6), Version(7)])")),
        (
            "POST",
            "/api/v1/products",
            Some(json!({"name": " Tea ", "price": 5e2})),
            None,
            "create_product Tea 500".to_owned(),
        ),
        (
            "PATCH",
            &format!("/api/v1/products/{PRODUCT}"),
            Some(json!({"description": null})),
            None,
            format!("update_product {PRODUCT} Some(None)"),
        ),
        ("GET", "/api/v1/products?q=tea&limit=3", None, None, "list Some(\"tea\") 3".to_owned()),
    ];
    for (method, path, body, if_match, expected) in cases {
        let (reply, calls) = call(Answer::Ok, method, path, body, if_match).await;
        assert!(reply.status.is_success(), "{method} {path}: {}", reply.status);
        assert_eq!(calls, [expected], "{method} {path}");
    }
}

#[tokio::test]
async fn each_service_error_has_its_status_and_problem_type() {
    let items = format!("{CART}/items");
    let line = format!("{CART}/items/{PRODUCT}");
    let add = json!({"product_id": PRODUCT, "quantity": 2});
    let cases = [
        (Answer::CartNotFound, "GET", CART, None, StatusCode::NOT_FOUND, "not-found"),
        (Answer::CartNotFound, "POST", items.as_str(), Some(add.clone()), StatusCode::NOT_FOUND, "not-found"),
        (
            Answer::VersionMismatch,
            "POST",
            items.as_str(),
            Some(add.clone()),
            StatusCode::PRECONDITION_FAILED,
            "precondition-failed",
        ),
        (
            Answer::ProductNotFound,
            "POST",
            items.as_str(),
            Some(add.clone()),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation",
        ),
        (Answer::OverTheCap, "POST", items.as_str(), Some(add.clone()), StatusCode::UNPROCESSABLE_ENTITY, "validation"),
        (
            Answer::TooManyLines,
            "POST",
            items.as_str(),
            Some(add.clone()),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation",
        ),
        (
            Answer::ProductNotFound,
            "PUT",
            line.as_str(),
            Some(json!({"quantity": 1})),
            StatusCode::NOT_FOUND,
            "not-found",
        ),
        (Answer::LineNotFound, "DELETE", line.as_str(), None, StatusCode::NOT_FOUND, "not-found"),
        (Answer::VersionMismatch, "DELETE", CART, None, StatusCode::PRECONDITION_FAILED, "precondition-failed"),
        (
            Answer::ProductNotFound,
            "GET",
            &format!("/api/v1/products/{PRODUCT}"),
            None,
            StatusCode::NOT_FOUND,
            "not-found",
        ),
        (Answer::Unavailable, "GET", CART, None, StatusCode::SERVICE_UNAVAILABLE, "service-unavailable"),
        (Answer::Unavailable, "POST", "/api/v1/carts", None, StatusCode::SERVICE_UNAVAILABLE, "service-unavailable"),
        (Answer::Internal, "DELETE", items.as_str(), None, StatusCode::INTERNAL_SERVER_ERROR, "internal"),
    ];
    for (answer, method, path, body, status, kind) in cases {
        let (reply, _) = call(answer, method, path, body, None).await;
        assert_eq!(reply.status, status, "{answer:?} {method} {path}");
        assert_eq!(reply.body["type"], format!("https://shop.example/problems/{kind}"), "{answer:?} {method} {path}");
        assert_eq!(reply.retry_after.is_some(), status == StatusCode::SERVICE_UNAVAILABLE, "{answer:?}");
        assert!(!reply.body.to_string().contains("SELECT"), "no internals in a response: {}", reply.body);
    }
    let (reply, _) = call(Answer::ProductNotFound, "POST", &items, Some(add.clone()), None).await;
    assert_eq!(reply.body["errors"][0]["field"], "product_id", "the product is named in the body");
    let (reply, _) = call(Answer::OverTheCap, "POST", &items, Some(add.clone()), None).await;
    assert_eq!(reply.body["errors"][0]["field"], "quantity");
    let (reply, _) = call(Answer::TooManyLines, "POST", &items, Some(add), None).await;
    assert_eq!(reply.body["errors"][0]["field"], "product_id", "the product that would make one line too many");
    let (reply, _) = call(Answer::VersionMismatch, "DELETE", CART, None, None).await;
    assert!(reply.body["detail"].as_str().is_some_and(|d| d.contains("version 7")), "{}", reply.body);
}

#[tokio::test]
async fn an_unknown_cart_is_404_before_a_bad_body_is_judged() {
    let items = format!("{CART}/items");
    let bad = json!({"product_id": "nope", "quantity": 11});
    let (reply, calls) = call(Answer::CartNotFound, "POST", &items, Some(bad.clone()), None).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(calls.len(), 1, "only the lookup: {calls:?}");
    let (reply, calls) = call(Answer::Ok, "POST", &items, Some(bad), None).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<&str> =
        reply.body["errors"].as_array().expect("errors").iter().filter_map(|e| e["field"].as_str()).collect();
    assert_eq!(fields, ["product_id", "quantity"], "every bad field, the cap from the service (10)");
    assert!(calls.iter().all(|call| call.starts_with("get ")), "nothing written: {calls:?}");
}

#[tokio::test]
async fn a_panicking_handler_answers_a_500_problem_and_is_counted() {
    let (reply, _) = call(Answer::Panic, "GET", CART, None, None).await;
    assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(reply.body["type"], "https://shop.example/problems/internal");
    assert!(!reply.body.to_string().contains("a bug in a service"), "no internals: {}", reply.body);
    let stub = Stub { answer: Answer::Ok, calls: Arc::default() };
    let request = Request::builder().uri("/metrics").body(Body::empty()).expect("a request");
    let response = router(&stub).oneshot(request).await.expect("answered");
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.expect("a body");
    let text = String::from_utf8_lossy(&bytes);
    let panics = text.lines().find(|l| l.starts_with("http_panics_total")).and_then(|l| l.rsplit(' ').next());
    assert!(panics.and_then(|n| n.parse::<f64>().ok()).is_some_and(|n| n >= 1.0), "{text}");
    assert!(text.contains(r#"route="/api/v1/carts/{cart_id}",status="500""#), "counted as a 500: {text}");
}

// ------------------------------------------------------------------ GraphQL

/// A GraphQL document through the same router and stub services: the
/// GraphQL edge resolves the services from the same container, so a
/// component override swaps them for it too.
async fn graphql(answer: Answer, query: &str) -> (Value, Vec<String>) {
    let body = json!({"query": query}).to_string();
    let (reply, calls) = call_with_body(answer, "/graphql", body).await;
    assert_eq!(reply.status, StatusCode::OK, "{query}");
    (reply.body, calls)
}

async fn call_with_body(answer: Answer, path: &str, body: String) -> (Reply, Vec<String>) {
    let stub = Stub { answer, calls: Arc::default() };
    let request = Request::builder()
        .method("POST")
        .uri(path)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body))
        .expect("a request");
    let response = router(&stub).oneshot(request).await.expect("answered");
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.expect("a body");
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let calls = stub.calls.lock().expect("not poisoned").clone();
    (Reply { status, etag: None, retry_after: None, body }, calls)
}

#[tokio::test]
async fn graphql_arguments_reach_the_services_as_domain_values() {
    let cart = "00000000-0000-0000-0000-000000000002";
    let cases = [
        (
            format!(
                r#"mutation {{ addToCart(cartId: "{cart}", productId: "{PRODUCT}", quantity: 3, expectedVersion: 5) {{ version }} }}"#
            ),
            format!("add_item {cart} {PRODUCT} 3 OneOf([Version(5)])"),
        ),
        (
            format!(r#"mutation {{ addToCart(cartId: "{cart}", productId: "{PRODUCT}") {{ version }} }}"#),
            format!("add_item {cart} {PRODUCT} 1 Any"),
        ),
        (
            format!(
                r#"mutation {{ setItemQuantity(cartId: "{cart}", productId: "{PRODUCT}", quantity: 0) {{ version }} }}"#
            ),
            format!("set_item_quantity {cart} {PRODUCT} 0 Any"),
        ),
        (
            format!(
                r#"mutation {{ removeFromCart(cartId: "{cart}", productId: "{PRODUCT}", expectedVersion: 7) {{ version }} }}"#
            ),
            format!("remove_item {cart} {PRODUCT} OneOf([Version(7)])"),
        ),
        (format!(r#"mutation {{ clearCart(cartId: "{cart}") {{ version }} }}"#), format!("clear {cart} Any")),
        (
            format!(r#"mutation {{ deleteCart(cartId: "{cart}", expectedVersion: -1) }}"#),
            format!("delete {cart} OneOf([])"),
        ),
        (
            r#"mutation { createProduct(productInfo: {name: " Tea ", price: 500}) { id } }"#.to_owned(),
            "create_product Tea 500".to_owned(),
        ),
        (
            format!(
                r#"mutation {{ updateProductInfo(id: "{PRODUCT}", productInfo: {{description: null}}) {{ id }} }}"#
            ),
            format!("update_product {PRODUCT} Some(None)"),
        ),
        (r#"{ products(first: 3, query: "tea") { nodes { id } } }"#.to_owned(), "list Some(\"tea\") 3".to_owned()),
        (format!(r#"{{ cart(id: "{cart}") {{ version }} }}"#), format!("get {cart}")),
    ];
    for (query, expected) in cases {
        let (reply, calls) = graphql(Answer::Ok, &query).await;
        assert!(reply.get("errors").is_none(), "{query}: {reply}");
        assert_eq!(calls, [expected], "{query}");
    }
    let (reply, _) =
        graphql(Answer::Ok, &format!(r#"{{ cart(id: "{cart}") {{ version items {{ lineTotal }} expiresAt }} }}"#))
            .await;
    assert_eq!(
        reply["data"]["cart"],
        json!({"version": 7, "items": [{"lineTotal": 900}], "expiresAt": "2025-12-24T16:00:00Z"})
    );
}

#[tokio::test]
async fn each_service_error_has_its_graphql_code_and_problem_type() {
    let cart = "00000000-0000-0000-0000-000000000002";
    let add =
        format!(r#"mutation {{ addToCart(cartId: "{cart}", productId: "{PRODUCT}", quantity: 2) {{ version }} }}"#);
    let set = format!(
        r#"mutation {{ setItemQuantity(cartId: "{cart}", productId: "{PRODUCT}", quantity: 1) {{ version }} }}"#
    );
    let remove = format!(r#"mutation {{ removeFromCart(cartId: "{cart}", productId: "{PRODUCT}") {{ version }} }}"#);
    let read = format!(r#"{{ cart(id: "{cart}") {{ version }} }}"#);
    let create = "mutation { createCart { id } }".to_owned();
    let cases = [
        (Answer::CartNotFound, &add, "NOT_FOUND", "not-found", None),
        (Answer::VersionMismatch, &add, "PRECONDITION_FAILED", "precondition-failed", None),
        (Answer::ProductNotFound, &add, "VALIDATION_FAILED", "validation", Some("productId")),
        (Answer::OverTheCap, &add, "VALIDATION_FAILED", "validation", Some("quantity")),
        (Answer::TooManyLines, &add, "VALIDATION_FAILED", "validation", Some("productId")),
        (Answer::ProductNotFound, &set, "NOT_FOUND", "not-found", None),
        (Answer::LineNotFound, &remove, "NOT_FOUND", "not-found", None),
        (Answer::Unavailable, &read, "SERVICE_UNAVAILABLE", "service-unavailable", None),
        (Answer::Unavailable, &create, "SERVICE_UNAVAILABLE", "service-unavailable", None),
        (Answer::Internal, &read, "INTERNAL", "internal", None),
    ];
    for (answer, query, code, kind, field) in cases {
        let (reply, _) = graphql(answer, query).await;
        let error = &reply["errors"][0];
        assert_eq!(error["extensions"]["code"], code, "{answer:?} {query}: {reply}");
        assert_eq!(error["extensions"]["type"], format!("https://shop.example/problems/{kind}"), "{answer:?}");
        assert_eq!(error["extensions"]["errors"][0]["field"].as_str(), field, "{answer:?} {query}");
        assert!(!reply.to_string().contains("SELECT") && !reply.to_string().contains("stub"), "no internals: {reply}");
    }
    let (reply, _) = graphql(Answer::VersionMismatch, &add).await;
    assert_eq!(reply["errors"][0]["extensions"]["currentVersion"], 7);
}

#[tokio::test]
async fn graphql_judges_an_unknown_cart_before_the_arguments() {
    let cart = "00000000-0000-0000-0000-000000000002";
    let bad =
        format!(r#"mutation {{ addToCart(cartId: "{cart}", productId: "{PRODUCT}", quantity: 11) {{ version }} }}"#);
    let (reply, calls) = graphql(Answer::CartNotFound, &bad).await;
    assert_eq!(reply["errors"][0]["extensions"]["code"], "NOT_FOUND");
    assert_eq!(calls, [format!("get {cart}")], "only the lookup");
    let (reply, calls) = graphql(Answer::Ok, &bad).await;
    assert_eq!(reply["errors"][0]["extensions"]["errors"][0]["field"], "quantity", "the cap from the service (10)");
    assert!(calls.iter().all(|call| call.starts_with("get ")), "nothing written: {calls:?}");
}
