//! Limits on an open network, over the real router: text the databases
//! could choke on, fractions never rounded, lines per cart, carts that
//! expire and are swept, and per-client rate limits on writes. The text and
//! cart rules run on SQLite and PostgreSQL, with the same answers.

use std::sync::Arc;
use std::time::Duration;

use futures::future::join_all;
use reqwest::header::RETRY_AFTER;
use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};
use shaku::HasComponent;
use shop::container::{SeaOrmStorage, module_builder};
use shop::settings::Settings;
use shop_application::services::CartService;
use shop_domain::{MaxLines, TooManyLines};
use shop_tests::{TestApp, TestDatabase};

shop_tests::on_both_databases!(
    text_with_control_characters_is_refused_the_same_everywhere,
    a_fraction_is_never_rounded_into_an_integer,
    a_cart_holds_at_most_max_lines_products,
    carts_expire_after_their_time_to_live_and_are_swept,
);

async fn send(app: &TestApp, method: Method, path: &str, body: Option<Value>) -> Response {
    let mut request = app.client.request(method, app.url(path));
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.expect("answered")
}

async fn fields(response: Response, status: StatusCode) -> Vec<String> {
    assert_eq!(response.status(), status);
    let body: Value = response.json().await.expect("a problem");
    body["errors"]
        .as_array()
        .map_or_else(Vec::new, |errors| errors.iter().filter_map(|e| e["field"].as_str().map(str::to_owned)).collect())
}

async fn product(app: &TestApp, name: &str) -> String {
    let response = send(app, Method::POST, "/api/v1/products", Some(json!({"name": name, "price": 100}))).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json::<Value>().await.expect("json")["id"].as_str().expect("id").to_owned()
}

async fn cart(app: &TestApp) -> Value {
    let response = send(app, Method::POST, "/api/v1/carts", None).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json().await.expect("json")
}

// ---------------------------------------------------------------- text and numbers

async fn text_with_control_characters_is_refused_the_same_everywhere(database: TestDatabase) {
    let app = TestApp::spawn(&database).await;
    for (body, field) in [
        (json!({"name": "Green\u{0}tea", "price": 1}), "name"),
        (json!({"name": "Green\ttea", "price": 1}), "name"),
        (json!({"name": "Green\u{85}tea", "price": 1}), "name"),
        (json!({"name": "Tea", "description": "a\u{0}b", "price": 1}), "description"),
        (json!({"name": "Tea", "description": "a\rb", "price": 1}), "description"),
    ] {
        let response = send(&app, Method::POST, "/api/v1/products", Some(body.clone())).await;
        assert_eq!(fields(response, StatusCode::UNPROCESSABLE_ENTITY).await, [field], "{body}");
    }
    let body = json!({"name": "Tea", "description": "Sencha\tfrom\nShizuoka", "price": 1});
    assert_eq!(send(&app, Method::POST, "/api/v1/products", Some(body)).await.status(), StatusCode::CREATED);
    let id = product(&app, "Cake").await;
    let patch = send(&app, Method::PATCH, &format!("/api/v1/products/{id}"), Some(json!({"name": "Ca\u{1b}ke"}))).await;
    assert_eq!(fields(patch, StatusCode::UNPROCESSABLE_ENTITY).await, ["name"]);

    for q in ["%00", "te%0Aa", &"t".repeat(201)] {
        let response = send(&app, Method::GET, &format!("/api/v1/products?q={q}"), None).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "q={}", &q[..q.len().min(20)]);
    }
    for q in ["_".repeat(200), "%25".repeat(200), "é".repeat(200)] {
        let response = send(&app, Method::GET, &format!("/api/v1/products?q={q}"), None).await;
        assert_eq!(response.status(), StatusCode::OK, "200 characters of anything else is a search");
        assert_eq!(response.json::<Value>().await.expect("json")["items"], json!([]));
    }
}

async fn a_fraction_is_never_rounded_into_an_integer(database: TestDatabase) {
    let app = TestApp::spawn(&database).await;
    let raw = |text: &'static str| {
        app.client.post(app.url("/api/v1/products")).header("content-type", "application/json").body(text).send()
    };
    for body in [
        r#"{"name": "Tea", "price": 0.99999999999999999}"#,
        r#"{"name": "Tea", "price": 1.0000000000000001}"#,
        r#"{"name": "Tea", "price": 1e-400}"#,
        r#"{"name": "Tea", "price": 1e400}"#,
    ] {
        let response = raw(body).await.expect("answered");
        assert_eq!(fields(response, StatusCode::UNPROCESSABLE_ENTITY).await, ["price"], "{body}");
    }
    let response = raw(r#"{"name": "Tea", "price": 4.5e2}"#).await.expect("answered");
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(response.json::<Value>().await.expect("json")["price"], 450, "an integral form is its integer");
}

// ---------------------------------------------------------------- carts

async fn a_cart_holds_at_most_max_lines_products(mut database: TestDatabase) {
    database.settings.cart.max_lines = MaxLines::new(2).expect("valid");
    let app = TestApp::spawn(&database).await;
    let products = [product(&app, "Tea").await, product(&app, "Cake").await, product(&app, "Cocoa").await];
    let id = cart(&app).await["id"].as_str().expect("id").to_owned();
    let items = format!("/api/v1/carts/{id}/items");
    for product in &products[..2] {
        assert_eq!(
            send(&app, Method::POST, &items, Some(json!({"product_id": product}))).await.status(),
            StatusCode::OK
        );
    }
    let third = send(&app, Method::POST, &items, Some(json!({"product_id": products[2]}))).await;
    let body: Value = third.json().await.expect("a problem");
    assert_eq!(body["errors"][0]["field"], "product_id", "{body}");
    assert_eq!(body["errors"][0]["message"], TooManyLines { max: 2 }.to_string());
    let put = send(&app, Method::PUT, &format!("{items}/{}", products[2]), Some(json!({"quantity": 1}))).await;
    assert_eq!(fields(put, StatusCode::UNPROCESSABLE_ENTITY).await, ["product_id"]);
    let more = send(&app, Method::POST, &items, Some(json!({"product_id": products[0], "quantity": 5}))).await;
    assert_eq!(more.status(), StatusCode::OK, "a line already there still grows");
    let read: Value = send(&app, Method::GET, &format!("/api/v1/carts/{id}"), None).await.json().await.expect("json");
    assert_eq!((read["items"].as_array().map(Vec::len), read["version"].clone()), (Some(2), json!(3)));
}

async fn carts_expire_after_their_time_to_live_and_are_swept(mut database: TestDatabase) {
    database.settings.cart.ttl = Duration::from_secs(2);
    let app = TestApp::spawn(&database).await;
    let tea = product(&app, "Tea").await;
    let old = cart(&app).await;
    let expires = |cart: &Value| {
        let at = |field: &str| {
            chrono::DateTime::parse_from_rfc3339(cart[field].as_str().expect("a time")).expect("rfc 3339")
        };
        at("expires_at") - at("updated_at")
    };
    assert_eq!(expires(&old), chrono::TimeDelta::seconds(2), "expires_at is updated_at plus the time to live");
    let kept = cart(&app).await;
    let kept_id = kept["id"].as_str().expect("id").to_owned();
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let changed =
        send(&app, Method::POST, &format!("/api/v1/carts/{kept_id}/items"), Some(json!({"product_id": tea}))).await;
    let changed: Value = changed.json().await.expect("json");
    assert!(changed["expires_at"].as_str() > kept["expires_at"].as_str(), "a change restarts the clock");
    tokio::time::sleep(Duration::from_millis(1200)).await;

    let old_path = format!("/api/v1/carts/{}", old["id"].as_str().expect("id"));
    assert_eq!(send(&app, Method::GET, &old_path, None).await.status(), StatusCode::NOT_FOUND, "expired");
    let add = send(&app, Method::POST, &format!("{old_path}/items"), Some(json!({"product_id": tea}))).await;
    assert_eq!(add.status(), StatusCode::NOT_FOUND, "an expired cart takes no change, on any path");
    assert_eq!(send(&app, Method::DELETE, &old_path, None).await.status(), StatusCode::NOT_FOUND);
    let kept_path = format!("/api/v1/carts/{kept_id}");
    assert_eq!(send(&app, Method::GET, &kept_path, None).await.status(), StatusCode::OK, "still alive");

    // Two instances sweep at once: neither fails, each cart is deleted once.
    let sweepers = {
        let connection = database.connect().await;
        let module = || {
            module_builder(database.settings.clone(), Arc::new(SeaOrmStorage::over(connection.clone(), None).build()))
                .build()
        };
        [module(), module()]
    };
    let purged = join_all(sweepers.iter().map(|module| {
        let carts: &dyn CartService = module.resolve_ref();
        carts.purge_expired(1)
    }))
    .await;
    let purged: u64 = purged.into_iter().map(|result| result.expect("a sweep")).sum();
    assert_eq!(purged, 1, "the one expired cart, once");
    let rows = count_carts(&database).await;
    assert_eq!(rows, 1, "only the live cart is left");
}

async fn count_carts(database: &TestDatabase) -> i64 {
    use sea_orm::{ConnectionTrait, Statement};
    let connection = database.connect().await;
    let backend = connection.get_database_backend();
    let row = connection
        .query_one_raw(Statement::from_string(backend, "SELECT COUNT(*) AS n FROM carts"))
        .await
        .expect("a count")
        .expect("a row");
    row.try_get("", "n").expect("n")
}

// ---------------------------------------------------------------- rate limits

fn limited(settings: &mut Settings) {
    settings.rate_limit.enabled = true;
    settings.rate_limit.writes_per_second = 2;
    settings.rate_limit.burst = 4;
    settings.rate_limit.carts_per_minute = 2;
    settings.server.trusted_proxies = vec!["127.0.0.1/32".parse().expect("a network")];
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_past_the_rate_limit_get_429_and_the_limit_refills() {
    let mut database = TestDatabase::sqlite();
    limited(&mut database.settings);
    let app = &TestApp::spawn(&database).await;
    let from = |client: &'static str| {
        move |method: Method, path: String| app.client.request(method, app.url(&path)).header("x-forwarded-for", client)
    };
    let alice = from("203.0.113.1");
    let statuses = |responses: Vec<Response>| responses.iter().map(Response::status).collect::<Vec<_>>();

    // Carts: two a minute.
    let mut carts = Vec::new();
    for _ in 0..3 {
        carts.push(alice(Method::POST, "/api/v1/carts".into()).send().await.expect("answered"));
    }
    let refused = carts.pop().expect("three");
    assert_eq!(statuses(carts), [StatusCode::CREATED, StatusCode::CREATED]);
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = refused.headers()[RETRY_AFTER].to_str().expect("ascii").parse().expect("seconds");
    assert!((1..=60).contains(&wait), "{wait}");
    let body: Value = refused.json().await.expect("a problem");
    assert_eq!(body["type"], "https://shop.example/problems/rate-limited");

    // Writes: a burst of four, then two a second; reads are never limited.
    let mut writes = Vec::new();
    for _ in 0..3 {
        writes.push(
            alice(Method::POST, "/api/v1/carts/00000000-0000-4000-8000-000000000000/items".into())
                .json(&json!({"product_id": "00000000-0000-4000-8000-000000000000"}))
                .send()
                .await
                .expect("answered"),
        );
    }
    assert_eq!(writes.last().map(Response::status), Some(StatusCode::TOO_MANY_REQUESTS), "{:?}", statuses(writes));
    for _ in 0..20 {
        assert_eq!(
            alice(Method::GET, "/api/v1/products".into()).send().await.expect("answered").status(),
            StatusCode::OK
        );
    }
    let bob = from("203.0.113.2");
    assert_eq!(
        bob(Method::POST, "/api/v1/carts".into()).send().await.expect("answered").status(),
        StatusCode::CREATED,
        "each client has its own limit"
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let refilled = alice(Method::DELETE, "/api/v1/carts/00000000-0000-4000-8000-000000000000".into()).send().await;
    assert_eq!(refilled.expect("answered").status(), StatusCode::NOT_FOUND, "the limit refilled: the write runs");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_peer_is_the_client_unless_it_is_a_trusted_proxy() {
    let mut database = TestDatabase::sqlite();
    limited(&mut database.settings);
    database.settings.server.trusted_proxies = vec!["10.0.0.0/8".parse().expect("a network")];
    let app = TestApp::spawn(&database).await;
    // Not from a trusted proxy: X-Forwarded-For is ignored, so inventing
    // addresses does not escape the limit.
    let mut statuses = Vec::new();
    for n in 0..3 {
        let response = app
            .client
            .post(app.url("/api/v1/carts"))
            .header("x-forwarded-for", format!("198.51.100.{n}"))
            .send()
            .await
            .expect("answered");
        statuses.push(response.status());
    }
    assert_eq!(statuses, [StatusCode::CREATED, StatusCode::CREATED, StatusCode::TOO_MANY_REQUESTS]);
}
