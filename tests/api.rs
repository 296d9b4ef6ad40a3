//! The HTTP API end to end: the real router on a free port, over a real
//! database (a SQLite file; PostgreSQL too when configured), checking every
//! endpoint and every error row of API.md.

use reqwest::header::{CONTENT_TYPE, ETAG, IF_MATCH, IF_NONE_MATCH, LINK, LOCATION};
use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};
use shop::container::InMemoryStorage;
use shop_infrastructure::in_memory::InMemoryStore;
use shop_tests::{TestApp, TestDatabase};

shop_tests::on_both_databases_served!(
    health_endpoints,
    create_and_get_a_product,
    product_validation_names_each_field,
    malformed_bodies_are_refused_before_validation,
    body_limit_is_64_kib,
    malformed_ids_and_unknown_products,
    listing_pages_with_cursors_and_search,
    listing_rejects_bad_parameters,
    product_pages_link_to_the_next,
    patching_a_product,
    products_answer_conditional_reads,
    deleting_a_product_removes_it_from_carts,
    a_whole_cart_flow,
    creating_carts,
    adding_items_validates_after_the_cart_exists,
    the_line_cap_refuses_without_changing_anything,
    putting_quantities,
    removing_lines_and_clearing,
    if_match_guards_every_cart_write,
    deleting_carts,
    errors_are_problems_with_request_ids,
);

// ---------------------------------------------------------------- helpers

async fn send(app: &TestApp, method: Method, path: &str, body: Option<Value>) -> Response {
    let mut request = app.client.request(method, app.url(path));
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.expect("the request is answered")
}

async fn json_of(response: Response) -> Value {
    response.json().await.expect("a JSON body")
}

/// Asserts a problem+json answer of `status` and type `slug`; returns its body.
async fn problem(response: Response, status: StatusCode, slug: &str) -> Value {
    assert_eq!(response.status(), status, "status");
    let content_type = response.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_owned);
    assert_eq!(content_type.as_deref(), Some("application/problem+json"));
    assert!(response.headers().contains_key("x-request-id"));
    let body = json_of(response).await;
    assert_eq!(body["type"], format!("https://shop.example/problems/{slug}"), "{body}");
    assert_eq!(body["status"], status.as_u16());
    assert!(body["title"].is_string() && body["detail"].is_string(), "{body}");
    body
}

fn error_fields(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .map_or_else(Vec::new, |errors| errors.iter().filter_map(|e| e["field"].as_str().map(str::to_owned)).collect())
}

async fn create_product(app: &TestApp, name: &str, price: i64) -> Value {
    let response = send(app, Method::POST, "/api/v1/products", Some(json!({"name": name, "price": price}))).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    json_of(response).await
}

async fn create_cart(app: &TestApp) -> String {
    let response = send(app, Method::POST, "/api/v1/carts", None).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    json_of(response).await["id"].as_str().expect("an id").to_owned()
}

async fn add_item(app: &TestApp, cart: &str, product: &Value, quantity: i64) -> Response {
    let body = json!({"product_id": product["id"], "quantity": quantity});
    send(app, Method::POST, &format!("/api/v1/carts/{cart}/items"), Some(body)).await
}

fn etag(response: &Response) -> Option<String> {
    response.headers().get(ETAG).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

const UNKNOWN: &str = "00000000-0000-4000-8000-000000000000";

// ---------------------------------------------------------------- cases

async fn health_endpoints(app: &TestApp) {
    let response = send(app, Method::GET, "/health/live", None).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(json_of(response).await, json!({"status": "ok"}));
    let response = send(app, Method::GET, "/health/ready", None).await;
    assert_eq!(response.status(), StatusCode::OK);
    let ready = json_of(response).await;
    assert_eq!(ready["status"], "ok");
    assert_eq!(ready["pools"]["primary"], "up");
    // A replica is named only where the run configured one (SHOP_TEST_REPLICA_URL).
    assert!(matches!(ready["pools"].get("replica").and_then(Value::as_str), None | Some("up")), "{ready}");
}

async fn create_and_get_a_product(app: &TestApp) {
    let body = json!({"name": " \t Green tea\n", "description": "Sencha", "price": 450});
    let response = send(app, Method::POST, "/api/v1/products", Some(body)).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let location = response.headers()[LOCATION].to_str().expect("ascii").to_owned();
    let created = json_of(response).await;
    assert_eq!(location, format!("/api/v1/products/{}", created["id"].as_str().expect("id")));
    assert_eq!(created["name"], "Green tea");
    assert_eq!(created["description"], "Sencha");
    assert_eq!(created["price"], 450);
    assert_eq!(created["currency"], "EUR");
    assert_eq!(created["created_at"], created["updated_at"]);
    assert!(created["created_at"].as_str().is_some_and(|t| t.ends_with('Z')));
    let fetched = json_of(send(app, Method::GET, &location, None).await).await;
    assert_eq!(fetched, created);

    let free = create_product(app, "Sample", 0).await;
    assert_eq!((free["price"].clone(), free["description"].clone()), (json!(0), Value::Null));
    assert_eq!(create_product(app, "Gold", 1_000_000_000).await["price"], 1_000_000_000);
}

async fn product_validation_names_each_field(app: &TestApp) {
    let cases = [
        (json!({"name": "Tea", "price": 19.99}), vec!["price"]),
        (json!({"name": "Tea", "price": "450"}), vec!["price"]),
        (json!({"name": "Tea", "price": -1}), vec!["price"]),
        (json!({"name": "Tea", "price": 1_000_000_001}), vec!["price"]),
        (json!({"name": "Tea"}), vec!["price"]),
        (json!({"price": 1}), vec!["name"]),
        (json!({"name": "   ", "price": 1}), vec!["name"]),
        (json!({"name": "x".repeat(201), "price": 1}), vec!["name"]),
        (json!({"name": 5, "price": 1}), vec!["name"]),
        (json!({"name": "Tea", "price": 1, "description": "d".repeat(2001)}), vec!["description"]),
        (json!({"name": "", "price": 1.5, "description": 7}), vec!["name", "description", "price"]),
        (json!([1, 2]), vec!["body"]),
    ];
    for (body, fields) in cases {
        let response = send(app, Method::POST, "/api/v1/products", Some(body.clone())).await;
        let problem = problem(response, StatusCode::UNPROCESSABLE_ENTITY, "validation").await;
        assert_eq!(error_fields(&problem), fields, "{body}");
    }
    let ok = create_product(app, &"é".repeat(200), 1).await;
    assert_eq!(ok["name"].as_str().map(|n| n.chars().count()), Some(200));
}

async fn malformed_bodies_are_refused_before_validation(app: &TestApp) {
    let raw = |content_type: &'static str, body: &'static str| {
        app.client.post(app.url("/api/v1/products")).header(CONTENT_TYPE, content_type).body(body).send()
    };
    let response = raw("application/json", "{\"name\": \"Tea\",").await.expect("answered");
    problem(response, StatusCode::BAD_REQUEST, "malformed-request").await;
    let response = raw("text/plain", "{\"name\": \"Tea\", \"price\": 1}").await.expect("answered");
    problem(response, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported-media-type").await;
    let response = app.client.post(app.url("/api/v1/products")).body("{}").send().await.expect("answered");
    problem(response, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported-media-type").await;
    let response = raw("application/json; charset=utf-8", "{\"name\": \"Tea\", \"price\": 1}").await.expect("answered");
    assert_eq!(response.status(), StatusCode::CREATED, "parameters of the JSON media type are fine");
}

async fn body_limit_is_64_kib(app: &TestApp) {
    // A valid body padded with white space to exactly the limit, then one byte more.
    let body = |size: usize| {
        let mut text = String::from("{\"name\": \"Tea\", \"price\": 1}");
        text.push_str(&" ".repeat(size - text.len()));
        text
    };
    let post = |text: String| {
        app.client.post(app.url("/api/v1/products")).header(CONTENT_TYPE, "application/json").body(text).send()
    };
    assert_eq!(post(body(65_536)).await.expect("answered").status(), StatusCode::CREATED);
    let response = post(body(65_537)).await.expect("answered");
    problem(response, StatusCode::PAYLOAD_TOO_LARGE, "payload-too-large").await;
}

async fn malformed_ids_and_unknown_products(app: &TestApp) {
    for (method, body) in [(Method::GET, None), (Method::PATCH, Some(json!({}))), (Method::DELETE, None)] {
        let response = send(app, method.clone(), "/api/v1/products/not-a-uuid", body.clone()).await;
        problem(response, StatusCode::BAD_REQUEST, "malformed-request").await;
        let response = send(app, method, &format!("/api/v1/products/{UNKNOWN}"), body).await;
        problem(response, StatusCode::NOT_FOUND, "not-found").await;
    }
}

async fn listing_pages_with_cursors_and_search(app: &TestApp) {
    let mut created = Vec::new();
    for name in ["Green tea", "Black TEA", "Coffee", "Teapot", "Cake"] {
        created.push(create_product(app, name, 100).await["id"].clone());
    }
    let mut seen = Vec::new();
    let mut path = "/api/v1/products?limit=2".to_owned();
    let mut pages = 0;
    loop {
        let page = json_of(send(app, Method::GET, &path, None).await).await;
        let items = page["items"].as_array().expect("items").clone();
        assert!(items.len() <= 2);
        seen.extend(items.iter().map(|p| p["id"].clone()));
        pages += 1;
        if pages == 1 {
            // A product added while paging comes last, and paging still returns each product once.
            created.push(create_product(app, "Late tea", 1).await["id"].clone());
        }
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/v1/products?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen, created);
    assert_eq!(pages, 3);

    let default_page = json_of(send(app, Method::GET, "/api/v1/products", None).await).await;
    assert_eq!(default_page["items"].as_array().map(Vec::len), Some(6));
    assert_eq!(default_page["next_cursor"], Value::Null);

    let found = json_of(send(app, Method::GET, "/api/v1/products?q=tEa&limit=100", None).await).await;
    let names: Vec<_> = found["items"].as_array().expect("items").iter().map(|p| p["name"].clone()).collect();
    assert_eq!(names, vec![json!("Green tea"), json!("Black TEA"), json!("Teapot"), json!("Late tea")]);
}

async fn product_pages_link_to_the_next(app: &TestApp) {
    for name in ["Green tea", "Black tea", "Tea & cake", "Coffee"] {
        create_product(app, name, 100).await;
    }
    // Following `Link` sees the same pages as following `next_cursor`, search and page size kept.
    let mut path = "/api/v1/products?limit=2&q=TEA".to_owned();
    let mut names = Vec::new();
    loop {
        let response = send(app, Method::GET, &path, None).await;
        let link = response.headers().get(LINK).map(|v| v.to_str().expect("ascii").to_owned());
        let page = json_of(response).await;
        names.extend(page["items"].as_array().expect("items").iter().map(|p| p["name"].clone()));
        match (page["next_cursor"].as_str(), link) {
            (Some(cursor), Some(link)) => {
                assert_eq!(link, format!("</api/v1/products?limit=2&q=TEA&cursor={cursor}>; rel=\"next\""));
                path = link.trim_start_matches('<').split_once('>').expect("<uri>").0.to_owned();
            }
            (None, None) => break,
            (cursor, link) => panic!("next_cursor {cursor:?} and Link {link:?} disagree"),
        }
    }
    assert_eq!(names, [json!("Green tea"), json!("Black tea"), json!("Tea & cake")]);
    // Text that needs escaping in a URL comes back escaped.
    let response = send(app, Method::GET, "/api/v1/products?limit=1&q=%26", None).await;
    assert!(response.headers().get(LINK).is_none());
    create_product(app, "Milk & honey", 100).await;
    let response = send(app, Method::GET, "/api/v1/products?limit=1&q=%26", None).await;
    let link = response.headers()[LINK].to_str().expect("ascii").to_owned();
    assert!(link.starts_with("</api/v1/products?limit=1&q=%26&cursor="), "{link}");
}

async fn products_answer_conditional_reads(app: &TestApp) {
    let response = send(app, Method::POST, "/api/v1/products", Some(json!({"name": "Tea", "price": 450}))).await;
    let created_tag = response.headers()[ETAG].to_str().expect("ascii").to_owned();
    let path = response.headers()[LOCATION].to_str().expect("ascii").to_owned();
    let get = |condition: Option<&str>| {
        let mut request = app.client.get(app.url(&path));
        if let Some(condition) = condition {
            request = request.header(IF_NONE_MATCH, condition);
        }
        request.send()
    };
    let response = get(None).await.expect("answered");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[ETAG], created_tag.as_str(), "the same body, the same tag");
    for condition in [created_tag.clone(), format!("W/{created_tag}"), format!("\"x\", {created_tag}"), "*".into()] {
        let response = get(Some(&condition)).await.expect("answered");
        assert_eq!(response.status(), StatusCode::NOT_MODIFIED, "{condition}");
        assert_eq!(response.headers()[ETAG], created_tag.as_str());
        assert_eq!(response.bytes().await.expect("body").len(), 0);
    }
    assert_eq!(get(Some("\"other\"")).await.expect("answered").status(), StatusCode::OK);
    for malformed in ["other", ""] {
        let response = get(Some(malformed)).await.expect("answered");
        problem(response, StatusCode::BAD_REQUEST, "malformed-request").await;
    }

    // A change gives a new tag; the old one no longer matches.
    let response = send(app, Method::PATCH, &path, Some(json!({"price": 500}))).await;
    let patched_tag = response.headers()[ETAG].to_str().expect("ascii").to_owned();
    assert_ne!(patched_tag, created_tag);
    let response = get(Some(&created_tag)).await.expect("answered");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[ETAG], patched_tag.as_str());
    assert_eq!(json_of(response).await["price"], 500);
}

async fn listing_rejects_bad_parameters(app: &TestApp) {
    for query in ["limit=0", "limit=101", "limit=abc", "limit=-1", "cursor=not-a-cursor", "cursor=%20"] {
        let response = send(app, Method::GET, &format!("/api/v1/products?{query}"), None).await;
        problem(response, StatusCode::BAD_REQUEST, "malformed-request").await;
    }
    for query in ["limit=1", "limit=100"] {
        assert_eq!(send(app, Method::GET, &format!("/api/v1/products?{query}"), None).await.status(), StatusCode::OK);
    }
}

async fn patching_a_product(app: &TestApp) {
    let body = json!({"name": "Tea", "description": "Loose leaf", "price": 450});
    let created = json_of(send(app, Method::POST, "/api/v1/products", Some(body)).await).await;
    let path = format!("/api/v1/products/{}", created["id"].as_str().expect("id"));

    let unchanged = json_of(send(app, Method::PATCH, &path, Some(json!({}))).await).await;
    assert_eq!(unchanged, created, "{{}} changes nothing");

    let response = send(app, Method::PATCH, &path, Some(json!({"price": 500, "name": "  Black tea "}))).await;
    assert_eq!(response.status(), StatusCode::OK);
    let patched = json_of(response).await;
    assert_eq!((patched["name"].clone(), patched["price"].clone()), (json!("Black tea"), json!(500)));
    assert_eq!(patched["description"], "Loose leaf");
    assert_eq!(patched["created_at"], created["created_at"]);
    assert_ne!(patched["updated_at"], created["updated_at"]);

    let cleared = json_of(send(app, Method::PATCH, &path, Some(json!({"description": null}))).await).await;
    assert_eq!(cleared["description"], Value::Null);

    for (body, field) in [
        (json!({"name": null}), "name"),
        (json!({"price": null}), "price"),
        (json!({"price": 1.5}), "price"),
        (json!({"name": ""}), "name"),
    ] {
        let problem =
            problem(send(app, Method::PATCH, &path, Some(body)).await, StatusCode::UNPROCESSABLE_ENTITY, "validation")
                .await;
        assert_eq!(error_fields(&problem), vec![field]);
    }
    let response =
        app.client.patch(app.url(&path)).header(CONTENT_TYPE, "text/plain").body("{}").send().await.expect("answered");
    problem(response, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported-media-type").await;
    let after = json_of(send(app, Method::GET, &path, None).await).await;
    assert_eq!(after, cleared, "refused patches change nothing");
}

async fn deleting_a_product_removes_it_from_carts(app: &TestApp) {
    let tea = create_product(app, "Tea", 450).await;
    let cake = create_product(app, "Cake", 300).await;
    let cart = create_cart(app).await;
    add_item(app, &cart, &tea, 1).await;
    add_item(app, &cart, &cake, 2).await;
    let tea_path = format!("/api/v1/products/{}", tea["id"].as_str().expect("id"));
    let response = send(app, Method::DELETE, &tea_path, None).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert!(response.bytes().await.expect("body").is_empty());
    problem(send(app, Method::GET, &tea_path, None).await, StatusCode::NOT_FOUND, "not-found").await;
    problem(send(app, Method::DELETE, &tea_path, None).await, StatusCode::NOT_FOUND, "not-found").await;
    let read = json_of(send(app, Method::GET, &format!("/api/v1/carts/{cart}"), None).await).await;
    assert_eq!(read["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(read["subtotal"], 600);
}

async fn a_whole_cart_flow(app: &TestApp) {
    let tea = create_product(app, "Green tea", 450).await;
    let cake = create_product(app, "Cake", 300).await;
    let cart = create_cart(app).await;
    let path = format!("/api/v1/carts/{cart}");

    let response = add_item(app, &cart, &tea, 2).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(etag(&response).as_deref(), Some("\"1\""));
    let body = json!({"product_id": cake["id"]});
    let response = send(app, Method::POST, &format!("{path}/items"), Some(body)).await;
    assert_eq!(json_of(response).await["items"][1]["quantity"], 1, "quantity defaults to 1");
    let response = add_item(app, &cart, &tea, 3).await;
    let read = json_of(response).await;
    assert_eq!(
        read["items"],
        json!([
            {"product_id": tea["id"], "name": "Green tea", "unit_price": 450, "quantity": 5, "line_total": 2250},
            {"product_id": cake["id"], "name": "Cake", "unit_price": 300, "quantity": 1, "line_total": 300},
        ])
    );
    assert_eq!((read["total_quantity"].clone(), read["subtotal"].clone()), (json!(6), json!(2550)));
    assert_eq!((read["currency"].clone(), read["version"].clone()), (json!("EUR"), json!(3)));

    // Carts show live catalog prices.
    let tea_path = format!("/api/v1/products/{}", tea["id"].as_str().expect("id"));
    send(app, Method::PATCH, &tea_path, Some(json!({"price": 500}))).await;
    let response = send(app, Method::GET, &path, None).await;
    assert_eq!(etag(&response).as_deref(), Some("\"3\""));
    let read = json_of(response).await;
    assert_eq!((read["subtotal"].clone(), read["version"].clone()), (json!(2800), json!(3)));
}

async fn creating_carts(app: &TestApp) {
    let response = send(app, Method::POST, "/api/v1/carts", None).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(etag(&response).as_deref(), Some("\"0\""));
    let location = response.headers()[LOCATION].to_str().expect("ascii").to_owned();
    let cart = json_of(response).await;
    let id = cart["id"].as_str().expect("id");
    assert_eq!(location, format!("/api/v1/carts/{id}"));
    assert_eq!(uuid::Uuid::parse_str(id).map(|u| u.get_version_num()).ok(), Some(4));
    assert_eq!(cart["items"], json!([]));
    assert_eq!(
        (cart["version"].clone(), cart["subtotal"].clone(), cart["total_quantity"].clone()),
        (json!(0), json!(0), json!(0))
    );
    assert_eq!(json_of(send(app, Method::GET, &location, None).await).await, cart);

    assert_eq!(send(app, Method::POST, "/api/v1/carts", Some(json!({}))).await.status(), StatusCode::CREATED);
    let response = app
        .client
        .post(app.url("/api/v1/carts"))
        .header(CONTENT_TYPE, "text/plain")
        .body("hi")
        .send()
        .await
        .expect("answered");
    problem(response, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported-media-type").await;
    let response = app
        .client
        .post(app.url("/api/v1/carts"))
        .header(CONTENT_TYPE, "application/json")
        .body(" ".repeat(70_000))
        .send()
        .await
        .expect("answered");
    problem(response, StatusCode::PAYLOAD_TOO_LARGE, "payload-too-large").await;

    problem(send(app, Method::GET, "/api/v1/carts/123", None).await, StatusCode::BAD_REQUEST, "malformed-request")
        .await;
    problem(
        send(app, Method::GET, &format!("/api/v1/carts/{UNKNOWN}"), None).await,
        StatusCode::NOT_FOUND,
        "not-found",
    )
    .await;
    problem(send(app, Method::GET, "/api/v1/carts", None).await, StatusCode::METHOD_NOT_ALLOWED, "method-not-allowed")
        .await;
}

async fn adding_items_validates_after_the_cart_exists(app: &TestApp) {
    let tea = create_product(app, "Tea", 1).await;
    let cart = create_cart(app).await;
    let unknown_cart_items = format!("/api/v1/carts/{UNKNOWN}/items");
    let items = format!("/api/v1/carts/{cart}/items");
    for body in [json!({"product_id": tea["id"], "quantity": 0}), json!({"product_id": "nope"}), json!({}), json!([])] {
        let response = send(app, Method::POST, &unknown_cart_items, Some(body.clone())).await;
        problem(response, StatusCode::NOT_FOUND, "not-found").await;
    }
    let cases = [
        (json!({"product_id": tea["id"], "quantity": 0}), vec!["quantity"]),
        (json!({"product_id": tea["id"], "quantity": 1000}), vec!["quantity"]),
        (json!({"product_id": tea["id"], "quantity": 1.5}), vec!["quantity"]),
        (json!({"product_id": tea["id"], "quantity": "2"}), vec!["quantity"]),
        (json!({"product_id": "not-a-uuid"}), vec!["product_id"]),
        (json!({"quantity": 1}), vec!["product_id"]),
        (json!({"product_id": null, "quantity": -5}), vec!["product_id", "quantity"]),
    ];
    for (body, fields) in cases {
        let response = send(app, Method::POST, &items, Some(body.clone())).await;
        let problem = problem(response, StatusCode::UNPROCESSABLE_ENTITY, "validation").await;
        assert_eq!(error_fields(&problem), fields, "{body}");
    }
    let unknown_product = json!({"product_id": UNKNOWN});
    problem(
        send(app, Method::POST, &items, Some(unknown_product)).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation",
    )
    .await;
    let response = app
        .client
        .post(app.url(&items))
        .header(CONTENT_TYPE, "application/json")
        .body("{")
        .send()
        .await
        .expect("answered");
    problem(response, StatusCode::BAD_REQUEST, "malformed-request").await;
    let response =
        app.client.post(app.url(&items)).header(CONTENT_TYPE, "text/plain").body("{}").send().await.expect("answered");
    problem(response, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported-media-type").await;
    problem(
        send(app, Method::POST, "/api/v1/carts/x/items", Some(json!({}))).await,
        StatusCode::BAD_REQUEST,
        "malformed-request",
    )
    .await;
    let read = json_of(send(app, Method::GET, &format!("/api/v1/carts/{cart}"), None).await).await;
    assert_eq!(
        (read["version"].clone(), read["items"].clone()),
        (json!(0), json!([])),
        "refused requests change nothing"
    );
}

async fn the_line_cap_refuses_without_changing_anything(app: &TestApp) {
    let tea = create_product(app, "Tea", 1).await;
    let cart = create_cart(app).await;
    assert_eq!(add_item(app, &cart, &tea, 999).await.status(), StatusCode::OK);
    let problem = problem(add_item(app, &cart, &tea, 1).await, StatusCode::UNPROCESSABLE_ENTITY, "validation").await;
    assert_eq!(error_fields(&problem), vec!["quantity"]);
    let read = json_of(send(app, Method::GET, &format!("/api/v1/carts/{cart}"), None).await).await;
    assert_eq!((read["items"][0]["quantity"].clone(), read["version"].clone()), (json!(999), json!(1)));
}

async fn putting_quantities(app: &TestApp) {
    let tea = create_product(app, "Tea", 2).await;
    let cart = create_cart(app).await;
    let line = format!("/api/v1/carts/{cart}/items/{}", tea["id"].as_str().expect("id"));
    let put = |quantity: Value| send(app, Method::PUT, &line, Some(json!({"quantity": quantity})));

    let unchanged = json_of(put(json!(0)).await).await;
    assert_eq!((unchanged["version"].clone(), unchanged["items"].clone()), (json!(0), json!([])));
    let created = json_of(put(json!(3)).await).await;
    assert_eq!((created["items"][0]["quantity"].clone(), created["version"].clone()), (json!(3), json!(1)));
    let same = put(json!(3)).await;
    assert_eq!(etag(&same).as_deref(), Some("\"1\""), "the same quantity changes nothing");
    let set = json_of(put(json!(999)).await).await;
    assert_eq!((set["items"][0]["quantity"].clone(), set["version"].clone()), (json!(999), json!(2)));
    let removed = json_of(put(json!(0)).await).await;
    assert_eq!((removed["items"].clone(), removed["version"].clone()), (json!([]), json!(3)));

    for quantity in [json!(-1), json!(1000), json!(2.5), json!(null)] {
        problem(put(quantity).await, StatusCode::UNPROCESSABLE_ENTITY, "validation").await;
    }
    let unknown_product = format!("/api/v1/carts/{cart}/items/{UNKNOWN}");
    problem(
        send(app, Method::PUT, &unknown_product, Some(json!({"quantity": 1}))).await,
        StatusCode::NOT_FOUND,
        "not-found",
    )
    .await;
    problem(
        send(app, Method::PUT, &unknown_product, Some(json!({"quantity": 0}))).await,
        StatusCode::NOT_FOUND,
        "not-found",
    )
    .await;
    let unknown_cart = format!("/api/v1/carts/{UNKNOWN}/items/{}", tea["id"].as_str().expect("id"));
    problem(
        send(app, Method::PUT, &unknown_cart, Some(json!({"quantity": -1}))).await,
        StatusCode::NOT_FOUND,
        "not-found",
    )
    .await;
    let bad_id = format!("/api/v1/carts/{cart}/items/nope");
    problem(
        send(app, Method::PUT, &bad_id, Some(json!({"quantity": 1}))).await,
        StatusCode::BAD_REQUEST,
        "malformed-request",
    )
    .await;
}

async fn removing_lines_and_clearing(app: &TestApp) {
    let tea = create_product(app, "Tea", 2).await;
    let cake = create_product(app, "Cake", 3).await;
    let cart = create_cart(app).await;
    let tea_line = format!("/api/v1/carts/{cart}/items/{}", tea["id"].as_str().expect("id"));
    problem(send(app, Method::DELETE, &tea_line, None).await, StatusCode::NOT_FOUND, "not-found").await;
    add_item(app, &cart, &tea, 1).await;
    add_item(app, &cart, &cake, 1).await;
    let response = send(app, Method::DELETE, &tea_line, None).await;
    assert_eq!(response.status(), StatusCode::OK);
    let read = json_of(response).await;
    assert_eq!((read["items"].as_array().map(Vec::len), read["version"].clone()), (Some(1), json!(3)));

    let items = format!("/api/v1/carts/{cart}/items");
    let cleared = json_of(send(app, Method::DELETE, &items, None).await).await;
    assert_eq!((cleared["items"].clone(), cleared["version"].clone()), (json!([]), json!(4)));
    let again = json_of(send(app, Method::DELETE, &items, None).await).await;
    assert_eq!(again["version"], 4, "clearing an empty cart changes nothing");

    problem(
        send(app, Method::DELETE, &format!("/api/v1/carts/{UNKNOWN}/items"), None).await,
        StatusCode::NOT_FOUND,
        "not-found",
    )
    .await;
    let unknown_cart_line = format!("/api/v1/carts/{UNKNOWN}/items/{}", tea["id"].as_str().expect("id"));
    problem(send(app, Method::DELETE, &unknown_cart_line, None).await, StatusCode::NOT_FOUND, "not-found").await;
    problem(
        send(app, Method::DELETE, "/api/v1/carts/x/items", None).await,
        StatusCode::BAD_REQUEST,
        "malformed-request",
    )
    .await;
}

async fn if_match_guards_every_cart_write(app: &TestApp) {
    let tea = create_product(app, "Tea", 2).await;
    let cart = create_cart(app).await;
    let path = format!("/api/v1/carts/{cart}");
    let line = format!("{path}/items/{}", tea["id"].as_str().expect("id"));
    let guarded = |method: Method, path: &str, tag: &str, body: Option<Value>| {
        let mut request = app.client.request(method, app.url(path)).header(IF_MATCH, tag);
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send()
    };
    let added = guarded(Method::POST, &format!("{path}/items"), "\"0\"", Some(json!({"product_id": tea["id"]})))
        .await
        .expect("answered");
    assert_eq!(etag(&added).as_deref(), Some("\"1\""));
    let writes = [
        (Method::POST, format!("{path}/items"), Some(json!({"product_id": tea["id"]}))),
        (Method::PUT, line.clone(), Some(json!({"quantity": 5}))),
        (Method::DELETE, line.clone(), None),
        (Method::DELETE, format!("{path}/items"), None),
        (Method::DELETE, path.clone(), None),
    ];
    for (method, target, body) in writes {
        for stale in ["\"0\"", "W/\"1\"", "\"abc\""] {
            let response = guarded(method.clone(), &target, stale, body.clone()).await.expect("answered");
            problem(response, StatusCode::PRECONDITION_FAILED, "precondition-failed").await;
        }
    }
    let read = json_of(send(app, Method::GET, &path, None).await).await;
    assert_eq!(
        (read["version"].clone(), read["items"][0]["quantity"].clone()),
        (json!(1), json!(1)),
        "nothing changed"
    );
    for (tags, expected) in [("\"01\"", StatusCode::PRECONDITION_FAILED), ("\"+1\"", StatusCode::PRECONDITION_FAILED)] {
        let response = guarded(Method::PUT, &line, tags, Some(json!({"quantity": 5}))).await.expect("answered");
        assert_eq!(response.status(), expected, "{tags}: entity tags compare as exact strings");
    }
    // Two If-Match fields are one list: the cart is at one of its versions.
    let response = app
        .client
        .put(app.url(&line))
        .header(IF_MATCH, "\"7\", W/\"1\"")
        .header(IF_MATCH, "\"1\"")
        .json(&json!({"quantity": 5}))
        .send()
        .await
        .expect("answered");
    assert_eq!(etag(&response).as_deref(), Some("\"2\""));
    let response = guarded(Method::PUT, &line, "*", Some(json!({"quantity": 6}))).await.expect("answered");
    assert_eq!(response.status(), StatusCode::OK);
    for malformed in ["3", "", " , "] {
        let response = guarded(Method::PUT, &line, malformed, Some(json!({"quantity": 6}))).await.expect("answered");
        problem(response, StatusCode::BAD_REQUEST, "malformed-request").await;
    }
    let response = guarded(Method::DELETE, &path, "\"3\"", None).await.expect("answered");
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
}

async fn deleting_carts(app: &TestApp) {
    let cart = create_cart(app).await;
    let path = format!("/api/v1/carts/{cart}");
    assert_eq!(send(app, Method::DELETE, &path, None).await.status(), StatusCode::NO_CONTENT);
    problem(send(app, Method::GET, &path, None).await, StatusCode::NOT_FOUND, "not-found").await;
    problem(send(app, Method::DELETE, &path, None).await, StatusCode::NOT_FOUND, "not-found").await;
    problem(send(app, Method::DELETE, "/api/v1/carts/x", None).await, StatusCode::BAD_REQUEST, "malformed-request")
        .await;
}

async fn errors_are_problems_with_request_ids(app: &TestApp) {
    let response =
        app.client.get(app.url("/nowhere")).header("x-request-id", "trace-me-42").send().await.expect("answered");
    assert_eq!(response.headers()["x-request-id"], "trace-me-42");
    problem(response, StatusCode::NOT_FOUND, "not-found").await;
    let response = send(app, Method::GET, "/health/live", None).await;
    let generated = response.headers()["x-request-id"].to_str().expect("ascii").to_owned();
    assert_eq!(uuid::Uuid::parse_str(&generated).map(|_| ()), Ok(()));

    // A client's id is kept only if it is 1 to 128 visible ASCII characters, in one field.
    let with_id = |ids: &[&[u8]]| {
        let mut request = app.client.get(app.url("/health/live"));
        for id in ids {
            request = request.header("x-request-id", reqwest::header::HeaderValue::from_bytes(id).expect("a value"));
        }
        request.send()
    };
    let longest = "r".repeat(128);
    let kept = with_id(&[longest.as_bytes()]).await.expect("answered");
    assert_eq!(kept.headers()["x-request-id"], longest.as_str());
    for refused in [
        "r".repeat(129).into_bytes(),
        "r".repeat(400_000).into_bytes(),
        "ид-запроса".as_bytes().to_vec(),
        b"has space".to_vec(),
    ] {
        let response = with_id(&[&refused]).await.expect("answered");
        let id = response.headers()["x-request-id"].to_str().expect("ascii").to_owned();
        assert!(uuid::Uuid::parse_str(&id).is_ok(), "a new id instead of {} bytes: {id}", refused.len());
    }
    let response = with_id(&[b"first-id", b"second-id"]).await.expect("answered");
    assert!(uuid::Uuid::parse_str(response.headers()["x-request-id"].to_str().expect("ascii")).is_ok(), "two fields");
}

/// The container over the in-memory storage, the way a team would swap in
/// its own: one line, and no database anywhere.
#[tokio::test]
async fn the_in_memory_storage_swaps_in_through_the_container() {
    let mut settings = shop::settings::Settings::defaults().expect("defaults");
    settings.server.port = 0;
    settings.database.url = "sqlite:///nonexistent/never-opened.db".to_owned();
    let store = InMemoryStore::new();
    let app = TestApp::spawn_with_storage(settings, InMemoryStorage::of(&store)).await;
    let tea = create_product(&app, "Tea", 450).await;
    let cart = create_cart(&app).await;
    let read = json_of(add_item(&app, &cart, &tea, 2).await).await;
    assert_eq!(read["subtotal"], 900);
    assert_eq!(send(&app, Method::GET, "/health/ready", None).await.status(), StatusCode::OK);

    // The failure switch: the store is down, and readiness says so.
    store.set_unavailable(true);
    let response = send(&app, Method::GET, &format!("/api/v1/carts/{cart}"), None).await;
    problem(response, StatusCode::SERVICE_UNAVAILABLE, "service-unavailable").await;
    let response = send(&app, Method::GET, "/health/ready", None).await;
    problem(response, StatusCode::SERVICE_UNAVAILABLE, "service-unavailable").await;
    store.set_unavailable(false);
    assert_eq!(send(&app, Method::GET, "/health/ready", None).await.status(), StatusCode::OK);
}

/// Counts the SQL statements each request sends, so that a change can't
/// quietly make reading a cart N+1. (BEGIN and COMMIT are not counted.)
async fn statements_per_request(mut database: TestDatabase) {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    let postgres = database.settings.database.is_postgres();
    // Counted on the primary's pools; catalog reads on a replica would go uncounted.
    database.settings.database.replica_url.clear();
    let statements = Arc::new(AtomicUsize::new(0));
    let count_on = |connection: &mut sea_orm::DatabaseConnection| {
        let counter = statements.clone();
        connection.set_metric_callback(move |_| {
            counter.fetch_add(1, Ordering::SeqCst);
        });
    };
    let mut connection = database.connect().await;
    count_on(&mut connection);
    let mut writer =
        shop_infrastructure::seaorm::connect_writer(&database.settings.database_options()).await.expect("writer");
    if let Some(writer) = writer.as_mut() {
        count_on(writer);
    }
    let app = TestApp::spawn_with_pools(database.settings.clone(), connection, writer).await;
    let cart = create_cart(&app).await;
    let mut products = Vec::new();
    for name in ["Tea", "Cake", "Cocoa", "Scone"] {
        let product = create_product(&app, name, 100).await;
        assert_eq!(add_item(&app, &cart, &product, 1).await.status(), StatusCode::OK);
        products.push(product);
    }
    let count = async |method: Method, path: String, body: Option<Value>| {
        statements.store(0, Ordering::SeqCst);
        let response = send(&app, method, &path, body).await;
        assert!(response.status().is_success(), "{path}: {}", response.status());
        statements.load(Ordering::SeqCst)
    };
    let read = count(Method::GET, format!("/api/v1/carts/{cart}"), None).await;
    assert_eq!(read, 1, "reading a cart with 4 lines is one query");
    let body = json!({"product_id": products[0]["id"], "quantity": 1});
    let add = count(Method::POST, format!("/api/v1/carts/{cart}/items"), Some(body)).await;
    if postgres {
        assert_eq!(add, 1, "adding on PostgreSQL: the fast path, one statement");
    } else {
        assert_eq!(add, 4, "adding: read the cart and the product, then the line and the version in a transaction");
    }
    let line = format!("/api/v1/carts/{cart}/items/{}", products[1]["id"].as_str().expect("id"));
    let remove = count(Method::DELETE, line, None).await;
    assert_eq!(remove, 3, "removing: read the cart, then the line and the version in a transaction");
    let page = count(Method::GET, "/api/v1/products?limit=2".to_owned(), None).await;
    assert_eq!(page, 1, "a product page is one query");
    let graphql = |query: String| count(Method::POST, "/graphql".to_owned(), Some(json!({"query": query})));
    let read = graphql(format!(r#"{{ cart(id: "{cart}") {{ items {{ name lineTotal }} subtotal version }} }}"#)).await;
    assert_eq!(read, 1, "reading a cart through GraphQL is one query too");
    let page = graphql("{ products(first: 2) { nodes { name } pageInfo { endCursor } } }".to_owned()).await;
    assert_eq!(page, 1, "a product page through GraphQL: one query");
}

#[tokio::test]
async fn statements_per_request_on_sqlite() {
    statements_per_request(TestDatabase::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(postgres_tests), ignore = "needs SHOP_TEST_POSTGRES_URL")]
async fn statements_per_request_on_postgres() {
    if let Some(database) = TestDatabase::postgres().await {
        statements_per_request(database).await;
    }
}

/// Sharding by cart (Citus's model) needs every cart statement to touch one
/// cart's rows. On carts and lines hash-partitioned by cart
/// (tests/sharding/by_cart.sql) the cart cases pass, and the plan of every
/// statement they sent to those tables reads at most one partition of each.
/// The one exception is the sweeper's, which deletes expired carts of every
/// shard, as a count of all carts would: the check can fail.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(postgres_tests), ignore = "needs SHOP_TEST_POSTGRES_URL")]
async fn on_carts_partitioned_by_cart_each_cart_statement_reads_one_partition() {
    use std::collections::{BTreeMap, BTreeSet};
    use std::sync::{Arc, Mutex};

    use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};

    let Some(database) = TestDatabase::postgres().await else {
        return;
    };
    let mut connection = database.connect().await;
    let admin = sea_orm::Database::connect(&database.settings.database.url).await.expect("a session");
    admin.execute_unprepared(include_str!("sharding/by_cart.sql")).await.expect("carts partitioned by cart");
    let refused = admin.execute_unprepared("ALTER TABLE homework.carts ADD UNIQUE (created_at)").await;
    assert!(refused.is_err(), "a unique constraint without the partition key is refused, as Citus refuses it");

    let sent = Arc::new(Mutex::new(Vec::<Statement>::new()));
    let record = |connection: &mut DatabaseConnection| {
        let sent = sent.clone();
        connection.set_metric_callback(move |info| {
            if info.statement.sql.contains("carts") || info.statement.sql.contains("product_cart_association") {
                sent.lock().expect("not poisoned").push(info.statement.clone());
            }
        });
    };
    record(&mut connection);
    let mut writer =
        shop_infrastructure::seaorm::connect_writer(&database.settings.database_options()).await.expect("writer");
    if let Some(writer) = writer.as_mut() {
        record(writer);
    }
    let app = TestApp::spawn_with_pools(database.settings.clone(), connection, writer).await;
    a_whole_cart_flow(&app).await;
    creating_carts(&app).await;
    adding_items_validates_after_the_cart_exists(&app).await;
    the_line_cap_refuses_without_changing_anything(&app).await;
    putting_quantities(&app).await;
    removing_lines_and_clearing(&app).await;
    if_match_guards_every_cart_write(&app).await;
    deleting_carts(&app).await;
    deleting_a_product_removes_it_from_carts(&app).await;
    drop(app);

    // Each statement once, planned with the values it was sent with, on a
    // pool that sees the schema as the service does.
    let planner = database.connect().await;
    let mut statements = BTreeMap::new();
    for statement in sent.lock().expect("not poisoned").drain(..) {
        statements.entry(statement.sql.clone()).or_insert(statement);
    }
    let explain = async |statement: &Statement| -> BTreeMap<String, BTreeSet<String>> {
        let explain = Statement { sql: format!("EXPLAIN (FORMAT JSON) {}", statement.sql), ..statement.clone() };
        let row = planner.query_one_raw(explain).await.expect("EXPLAIN").expect("a plan");
        let plan: Value = row.try_get("", "QUERY PLAN").expect("a JSON plan");
        let mut partitions = BTreeMap::<String, BTreeSet<String>>::new();
        relations(&plan, &mut |name| {
            if let Some((table, shard)) = name.rsplit_once("_p").filter(|(_, shard)| shard.parse::<u8>().is_ok()) {
                partitions.entry(table.to_owned()).or_default().insert(shard.to_owned());
            }
        });
        partitions
    };
    let mut checked = 0;
    for (sql, statement) in &statements {
        let partitions = explain(statement).await;
        if sql.contains(r#""updated_at" <"#) {
            assert_eq!(partitions["carts"].len(), 4, "the sweeper reads every shard: {sql}");
            continue;
        }
        if sql.starts_with("INSERT") {
            // Routed by the row's cart; each inserts one row.
            assert!(!sql.contains("), ("), "one row: {sql}");
        } else {
            assert!(!partitions.is_empty(), "a cart statement reads a cart's partition: {sql}");
        }
        for (table, shards) in &partitions {
            assert_eq!(shards.len(), 1, "{sql}\nreads {table} partitions {shards:?}");
        }
        checked += 1;
    }
    assert!(checked >= 8, "the cart cases sent {checked} distinct cart statements: {statements:#?}");
    let across = Statement::from_string(sea_orm::DbBackend::Postgres, "SELECT count(*) FROM carts");
    assert_eq!(explain(&across).await["carts"].len(), 4, "a statement across carts reads every partition");
}

/// Calls `each` with the name of every relation a JSON plan reads or writes.
fn relations(plan: &Value, each: &mut impl FnMut(&str)) {
    match plan {
        Value::Object(node) => {
            if let Some(Value::String(name)) = node.get("Relation Name") {
                each(name);
            }
            node.values().for_each(|child| relations(child, each));
        }
        Value::Array(nodes) => nodes.iter().for_each(|child| relations(child, each)),
        _ => {}
    }
}
