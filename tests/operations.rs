//! What operators and API consumers rely on besides the resources: the
//! OpenAPI description, the docs page, metrics, the admin token.

use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use serde_json::{Value, json};
use shop::settings::Secret;
use shop_tests::{TestApp, TestDatabase};

async fn spawn(token: Option<&str>) -> (TestApp, TestDatabase) {
    let mut database = TestDatabase::sqlite();
    if let Some(token) = token {
        database.settings.auth.admin_token = Secret::from(token);
    }
    let app = TestApp::spawn(&database).await;
    (app, database)
}

/// Every row of API.md's tables: (method, path with ids filled in, OpenAPI path).
const ROUTES: [(&str, &str); 19] = [
    ("POST", "/api/v1/products"),
    ("GET", "/api/v1/products"),
    ("GET", "/api/v1/products/{product_id}"),
    ("PATCH", "/api/v1/products/{product_id}"),
    ("DELETE", "/api/v1/products/{product_id}"),
    ("POST", "/api/v1/carts"),
    ("GET", "/api/v1/carts/{cart_id}"),
    ("POST", "/api/v1/carts/{cart_id}/items"),
    ("PUT", "/api/v1/carts/{cart_id}/items/{product_id}"),
    ("DELETE", "/api/v1/carts/{cart_id}/items/{product_id}"),
    ("DELETE", "/api/v1/carts/{cart_id}/items"),
    ("DELETE", "/api/v1/carts/{cart_id}"),
    ("GET", "/health/live"),
    ("GET", "/health/ready"),
    ("GET", "/openapi.json"),
    ("GET", "/metrics"),
    ("POST", "/graphql"),
    ("GET", "/graphql"),
    ("GET", "/graphql/schema.graphql"),
];

#[tokio::test]
async fn every_route_is_served_and_described() {
    let (app, _database) = spawn(None).await;
    let document: Value =
        app.client.get(app.url("/openapi.json")).send().await.expect("answered").json().await.expect("json");
    assert_eq!(document["openapi"], "3.1.0");
    let mut described: Vec<(String, String)> = Vec::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("path item").keys() {
            described.push((method.to_uppercase(), path.clone()));
        }
    }
    let id = "00000000-0000-4000-8000-000000000000";
    for (method, path) in ROUTES {
        assert!(
            described.contains(&(method.to_owned(), path.to_owned())),
            "{method} {path} is served but not described"
        );
        // Served: the router knows the route (no 404 "no such resource", no 405).
        let concrete = path.replace("{product_id}", id).replace("{cart_id}", id);
        let response = app
            .client
            .request(method.parse().expect("method"), app.url(&concrete))
            .json(&json!({}))
            .send()
            .await
            .expect("answered");
        assert_ne!(response.status(), StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        if response.status() == StatusCode::NOT_FOUND {
            let problem: Value = response.json().await.expect("problem");
            assert_ne!(problem["detail"], "no such resource", "{method} {path} is not routed");
        }
    }
    let expected: Vec<(String, String)> = ROUTES.iter().map(|(m, p)| ((*m).to_owned(), (*p).to_owned())).collect();
    let extra: Vec<_> = described.iter().filter(|route| !expected.contains(route) && route.1 != "/docs").collect();
    assert!(extra.is_empty(), "described but not in API.md: {extra:?}");

    let mut ids: Vec<&str> = Vec::new();
    for item in document["paths"].as_object().expect("paths").values() {
        for operation in item.as_object().expect("item").values() {
            let operation_id = operation["operationId"].as_str().expect("every operation has an id");
            assert!(!ids.contains(&operation_id), "operationId {operation_id} is unique");
            ids.push(operation_id);
            let responses = operation["responses"].as_object().expect("responses");
            assert!(responses.contains_key("500") && responses.contains_key("503"), "{operation_id}: 500 and 503");
        }
    }
    let add_item = &document["paths"]["/api/v1/carts/{cart_id}/items"]["post"];
    let headers: Vec<&str> =
        add_item["parameters"].as_array().expect("params").iter().filter_map(|p| p["name"].as_str()).collect();
    assert!(headers.contains(&"If-Match") && headers.contains(&"x-request-id"), "{headers:?}");
    assert!(add_item["responses"]["200"]["headers"]["ETag"].is_object());
    assert!(document["paths"]["/api/v1/products"]["post"]["responses"]["201"]["headers"]["Location"].is_object());
    assert!(document["components"]["schemas"]["Problem"].is_object());
    assert!(document["components"]["schemas"]["Cart"]["example"].is_object(), "schemas carry examples");
}

#[tokio::test]
async fn docs_are_served_from_the_binary() {
    let (app, _database) = spawn(None).await;
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    let redirect = client.get(app.url("/docs")).send().await.expect("answered");
    assert!(redirect.status().is_redirection());
    assert_eq!(redirect.headers()["location"], "/docs/");
    let page = client.get(app.url("/docs/")).send().await.expect("answered");
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.headers()[CONTENT_TYPE].to_str().is_ok_and(|t| t.starts_with("text/html")));
    let html = page.text().await.expect("html");
    assert!(html.contains("swagger-ui"), "{html}");
    assert!(!html.contains("http://") && !html.contains("https://"), "no external URL in the page:\n{html}");
    for asset in ["swagger-ui-bundle.js", "swagger-ui-standalone-preset.js", "swagger-ui.css", "swagger-initializer.js"]
    {
        assert!(html.contains(asset), "the page loads {asset}");
        let response = client.get(app.url(&format!("/docs/{asset}"))).send().await.expect("answered");
        assert_eq!(response.status(), StatusCode::OK, "{asset} is served by the service");
    }
    let initializer = client.get(app.url("/docs/swagger-initializer.js")).send().await.expect("answered");
    assert!(initializer.text().await.expect("js").contains("\"/openapi.json\""));
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_status() {
    let (app, _database) = spawn(None).await;
    for _ in 0..3 {
        app.client.get(app.url("/api/v1/products")).send().await.expect("answered");
    }
    app.client.get(app.url("/api/v1/carts/00000000-0000-4000-8000-000000000000")).send().await.expect("answered");
    let response = app.client.get(app.url("/metrics")).send().await.expect("answered");
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()[CONTENT_TYPE].to_str().is_ok_and(|t| t.starts_with("text/plain")));
    let text = response.text().await.expect("text");
    let count = |prefix: &str| -> f64 {
        text.lines()
            .find(|line| line.starts_with(prefix))
            .and_then(|line| line.rsplit(' ').next())
            .and_then(|value| value.parse().ok())
            .unwrap_or(0.0)
    };
    // Tests in this binary share the process-wide registry, hence "at least".
    assert!(count(r#"http_requests_total{method="GET",route="/api/v1/products",status="200"}"#) >= 3.0, "{text}");
    assert!(
        count(r#"http_requests_total{method="GET",route="/api/v1/carts/{cart_id}",status="404"}"#) >= 1.0,
        "{text}"
    );
    assert!(
        text.contains(
            r#"http_request_duration_seconds_bucket{method="GET",route="/api/v1/products",status="200",le="0.005"}"#
        ),
        "{text}"
    );
    assert!(text.contains("db_pool_connections ") && text.contains("db_pool_idle_connections "), "{text}");
    assert!(text.contains(&format!(r#"shop_build_info{{version="{}"}} 1"#, env!("CARGO_PKG_VERSION"))), "{text}");
}

#[tokio::test]
async fn catalog_writes_need_the_admin_token_when_one_is_configured() {
    let (app, _database) = spawn(Some("s3cret-token")).await;
    let create = |authorization: Option<&str>| {
        let mut request = app.client.post(app.url("/api/v1/products")).json(&json!({"name": "Tea", "price": 1}));
        if let Some(value) = authorization {
            request = request.header(AUTHORIZATION, value);
        }
        request.send()
    };
    for wrong in
        [None, Some("Bearer nope"), Some("Bearer s3cret-toke"), Some("Basic s3cret-token"), Some("s3cret-token")]
    {
        let response = create(wrong).await.expect("answered");
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{wrong:?}");
        assert_eq!(response.headers()[WWW_AUTHENTICATE], "Bearer");
        let problem: Value = response.json().await.expect("problem");
        assert_eq!(problem["type"], "https://shop.example/problems/unauthorized");
    }
    // The token is checked before the body: an invalid body without it is still 401.
    let response =
        app.client.post(app.url("/api/v1/products")).json(&json!({"price": -1})).send().await.expect("answered");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    for scheme in ["bearer", "BEARER"] {
        let response = create(Some(&format!("{scheme} s3cret-token"))).await.expect("answered");
        assert_eq!(response.status(), StatusCode::CREATED, "the scheme is case-insensitive");
    }
    let response = create(Some("Bearer s3cret-token")).await.expect("answered");
    assert_eq!(response.status(), StatusCode::CREATED);
    let product: Value = response.json().await.expect("product");
    let path = format!("/api/v1/products/{}", product["id"].as_str().expect("id"));
    let patch = app.client.patch(app.url(&path)).json(&json!({"price": 2})).send().await.expect("answered");
    assert_eq!(patch.status(), StatusCode::UNAUTHORIZED);
    let delete = app.client.delete(app.url(&path)).send().await.expect("answered");
    assert_eq!(delete.status(), StatusCode::UNAUTHORIZED);
    let authorized =
        app.client.patch(app.url(&path)).bearer_auth("s3cret-token").json(&json!({"price": 2})).send().await;
    assert_eq!(authorized.expect("answered").status(), StatusCode::OK);

    // Reads and carts never need it.
    assert_eq!(app.client.get(app.url(&path)).send().await.expect("answered").status(), StatusCode::OK);
    assert_eq!(app.client.get(app.url("/api/v1/products")).send().await.expect("answered").status(), StatusCode::OK);
    let cart = app.client.post(app.url("/api/v1/carts")).send().await.expect("answered");
    assert_eq!(cart.status(), StatusCode::CREATED);
    let cart: Value = cart.json().await.expect("cart");
    let add = app
        .client
        .post(app.url(&format!("/api/v1/carts/{}/items", cart["id"].as_str().expect("id"))))
        .json(&json!({"product_id": product["id"]}))
        .send()
        .await
        .expect("answered");
    assert_eq!(add.status(), StatusCode::OK);
}

#[tokio::test]
async fn without_a_token_catalog_writes_are_open() {
    let (app, _database) = spawn(None).await;
    let response = app.client.post(app.url("/api/v1/products")).json(&json!({"name": "Tea", "price": 1})).send().await;
    assert_eq!(response.expect("answered").status(), StatusCode::CREATED);
}

/// Invented methods and paths are counted under `OTHER` and `unmatched`:
/// however many a client sends, `/metrics` does not grow.
#[tokio::test]
async fn metrics_do_not_grow_with_what_clients_send() {
    let (app, _database) = spawn(None).await;
    let metrics =
        || async { app.client.get(app.url("/metrics")).send().await.expect("answered").text().await.expect("text") };
    let invent = |n: usize| {
        let method = reqwest::Method::from_bytes(format!("M{}{}", "X".repeat(200), n).as_bytes()).expect("a method");
        app.client.request(method, app.url(&format!("/no/such/{n}/{}", "p".repeat(500)))).send()
    };
    for n in 0..50 {
        invent(n).await.expect("answered");
    }
    let before = metrics().await;
    for n in 50..2_000 {
        invent(n).await.expect("answered");
    }
    let after = metrics().await;
    // Other tests share the process's recorder and add their own series
    // meanwhile: compare what the invented requests are counted under.
    let invented = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|line| line.contains(r#"method="OTHER""#))
            .map(|line| line.rsplit_once(' ').map_or(line, |(series, _)| series).to_owned())
            .collect()
    };
    assert_eq!(invented(&after), invented(&before), "no new series:\n{before}\n----\n{after}");
    assert!(after.contains(r#"method="OTHER",route="unmatched""#), "{after}");
    assert!(!after.contains("/no/such"), "no invented path is a label");
    assert!(!after.contains("MXXX"), "no invented method is a label");
}

#[tokio::test]
async fn every_response_says_nosniff() {
    let (app, _database) = spawn(None).await;
    for path in ["/health/live", "/api/v1/products", "/no/such/route", "/api/v1/carts/not-a-uuid", "/docs/"] {
        let response = app.client.get(app.url(path)).send().await.expect("answered");
        assert_eq!(response.headers()["x-content-type-options"], "nosniff", "{path}");
    }
}

#[tokio::test]
async fn browsers_on_allowed_origins_may_call_the_api() {
    let mut database = TestDatabase::sqlite();
    database.settings.server.cors_allowed_origins = vec!["https://app.example".to_owned()];
    let app = TestApp::spawn(&database).await;
    let preflight = |origin: &'static str| {
        app.client
            .request(reqwest::Method::OPTIONS, app.url("/api/v1/carts/00000000-0000-0000-0000-000000000000/items"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type, if-match, idempotency-key, authorization")
            .send()
    };
    let response = preflight("https://app.example").await.expect("answered");
    assert!(response.status().is_success(), "{}", response.status());
    let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_lowercase();
    assert_eq!(header("access-control-allow-origin"), "https://app.example");
    assert!(header("access-control-allow-methods").contains("post"));
    for allowed in ["content-type", "if-match", "idempotency-key", "authorization", "if-none-match"] {
        assert!(header("access-control-allow-headers").contains(allowed), "{allowed}");
    }
    let other = preflight("https://evil.example").await.expect("answered");
    assert!(other.headers().get("access-control-allow-origin").is_none());

    // The answers' own headers are readable by the page.
    let response = app.client.post(app.url("/api/v1/carts")).header("origin", "https://app.example").send().await;
    let response = response.expect("answered");
    assert_eq!(response.status(), StatusCode::CREATED);
    let exposed = response.headers()["access-control-expose-headers"].to_str().expect("ascii").to_lowercase();
    for name in ["etag", "location", "x-request-id", "retry-after", "idempotent-replayed", "link"] {
        assert!(exposed.contains(name), "{name} exposed: {exposed}");
    }

    // Without the setting, no CORS at all.
    let (plain, _database) = spawn(None).await;
    let response = plain.client.get(plain.url("/api/v1/products")).header("origin", "https://app.example").send();
    assert!(response.await.expect("answered").headers().get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn large_json_is_compressed_when_the_client_asks() {
    use std::io::Read;
    let (app, _database) = spawn(None).await;
    for n in 0..100 {
        let body = json!({"name": format!("Product number {n}"), "description": "A fine product, 100 g", "price": 450});
        let response = app.client.post(app.url("/api/v1/products")).json(&body).send().await.expect("answered");
        assert_eq!(response.status(), StatusCode::CREATED);
    }
    let page = |encoding: Option<&'static str>| {
        let mut request = app.client.get(app.url("/api/v1/products?limit=100"));
        if let Some(encoding) = encoding {
            request = request.header("accept-encoding", encoding);
        }
        request.send()
    };
    let plain = page(None).await.expect("answered");
    assert!(plain.headers().get("content-encoding").is_none());
    let plain = plain.bytes().await.expect("body").to_vec();

    let gzip = page(Some("gzip")).await.expect("answered");
    assert_eq!(gzip.headers()["content-encoding"], "gzip");
    let gzip = gzip.bytes().await.expect("body").to_vec();
    let mut unzipped = Vec::new();
    flate2::read::GzDecoder::new(gzip.as_slice()).read_to_end(&mut unzipped).expect("gzip");
    assert_eq!(unzipped, plain);

    let br = page(Some("br;q=1.0, gzip;q=0.5")).await.expect("answered");
    assert_eq!(br.headers()["content-encoding"], "br");
    let br = br.bytes().await.expect("body").to_vec();
    let mut unbrotlied = Vec::new();
    brotli::Decompressor::new(br.as_slice(), 4096).read_to_end(&mut unbrotlied).expect("brotli");
    assert_eq!(unbrotlied, plain);
    eprintln!("a page of 100 products: {} bytes, gzip {} bytes, br {} bytes", plain.len(), gzip.len(), br.len());
    assert!(gzip.len() * 4 < plain.len() && br.len() * 4 < plain.len());

    // A client that excludes every coding (tower-http would answer 406 after
    // the write ran) gets an uncompressed answer, and its write applied once.
    for refusal in ["identity;q=0", "zstd, identity;q=0, *;Q=0.0"] {
        let response = app.client.post(app.url("/api/v1/carts")).header("accept-encoding", refusal).send().await;
        let response = response.expect("answered");
        assert_eq!(response.status(), StatusCode::CREATED, "{refusal}");
        assert!(response.headers().get("content-encoding").is_none());
    }
    let br_only = page(Some("gzip;q=0, br")).await.expect("answered");
    assert_eq!(br_only.headers()["content-encoding"], "br");

    // Under 1 KiB it is not worth it.
    let small = app.client.get(app.url("/health/live")).header("accept-encoding", "gzip").send().await;
    assert!(small.expect("answered").headers().get("content-encoding").is_none());
}
