//! The GraphQL API end to end: the real router on a free port over a real
//! database (a SQLite file; PostgreSQL too when configured), one test per
//! row of the README's GraphQL section: each query and mutation, each error
//! code and its precedence, the limits, the transport, the IDE, and the same
//! scenario through REST and GraphQL giving the same carts.

use std::collections::BTreeSet;

use futures::future::join_all;
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, HeaderMap};
use serde_json::{Value, json};
use shop::settings::Secret;
use shop_tests::{TestApp, TestDatabase};

const PROBLEMS: &str = "https://shop.example/problems/";

shop_tests::on_both_databases_served!(
    queries_page_the_catalog_and_read_carts,
    cursors_are_the_same_text_in_rest_and_graphql,
    cart_mutations_change_carts_as_rest_does,
    catalog_mutations_create_patch_and_delete,
    errors_carry_a_code_the_problem_type_and_every_bad_field,
    an_unknown_cart_comes_before_invalid_arguments,
    totals_above_two_to_the_31_are_exact,
    depth_and_cost_limits_refuse_before_anything_runs,
    a_keyed_mutation_applies_once_and_replays_its_body,
    rest_and_graphql_drive_the_same_carts,
);

// ------------------------------------------------------------------ helpers

/// The body of a GraphQL request; asserts the transport's side: 200, JSON.
async fn send(app: &TestApp, headers: HeaderMap, query: &str, variables: Value) -> (HeaderMap, Value) {
    let response = app
        .client
        .post(app.url("/graphql"))
        .headers(headers)
        .json(&json!({"query": query, "variables": variables}))
        .send()
        .await
        .expect("answered");
    assert_eq!(response.status(), StatusCode::OK, "{query}");
    assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
    let headers = response.headers().clone();
    (headers, response.json().await.expect("json"))
}

async fn gql(app: &TestApp, query: &str, variables: Value) -> Value {
    send(app, HeaderMap::new(), query, variables).await.1
}

/// `data`, asserting there were no errors.
async fn data(app: &TestApp, query: &str, variables: Value) -> Value {
    let reply = gql(app, query, variables).await;
    assert!(reply.get("errors").is_none(), "{query}: {reply}");
    reply["data"].clone()
}

/// The one error of `reply`, whose code is `code` and whose type is the REST problem's.
fn error<'a>(reply: &'a Value, code: &str) -> &'a Value {
    let errors = reply["errors"].as_array().unwrap_or_else(|| panic!("errors expected: {reply}"));
    assert_eq!(errors.len(), 1, "{reply}");
    let error = &errors[0];
    assert_eq!(error["extensions"]["code"], code, "{reply}");
    let kind = error["extensions"]["type"].as_str().expect("a type");
    assert!(kind.starts_with(PROBLEMS), "{kind}");
    error
}

/// The fields a VALIDATION_FAILED error names.
fn fields(error: &Value) -> Vec<&str> {
    error["extensions"]["errors"].as_array().expect("errors").iter().filter_map(|e| e["field"].as_str()).collect()
}

const PRODUCT_FIELDS: &str = "id name description price currency createdAt updatedAt";
const CART_FIELDS: &str = "id items { productId name unitPrice quantity lineTotal } totalQuantity subtotal currency \
                           version createdAt updatedAt expiresAt";

async fn create_product(app: &TestApp, name: &str, price: i64) -> Value {
    let query = format!("mutation($p: ProductInput!) {{ createProduct(productInfo: $p) {{ {PRODUCT_FIELDS} }} }}");
    data(app, &query, json!({"p": {"name": name, "price": price}})).await["createProduct"].clone()
}

async fn create_cart(app: &TestApp) -> Value {
    data(app, &format!("mutation {{ createCart {{ {CART_FIELDS} }} }}"), json!({})).await["createCart"].clone()
}

/// `mutation` on the cart with the given arguments, answering the whole reply.
async fn cart_mutation(app: &TestApp, mutation: &str, arguments: Value) -> Value {
    let declared: Vec<String> = arguments
        .as_object()
        .expect("an object")
        .iter()
        .map(|(name, value)| {
            let ty = match name.as_str() {
                "cartId" | "productId" => "UUID!",
                "expectedVersion" => "Long",
                _ if value.is_null() => "Int",
                _ => "Int!",
            };
            format!("${name}: {ty}")
        })
        .collect();
    let passed: Vec<String> = arguments.as_object().expect("an object").keys().map(|n| format!("{n}: ${n}")).collect();
    let query =
        format!("mutation({}) {{ {mutation}({}) {{ {CART_FIELDS} }} }}", declared.join(", "), passed.join(", "));
    gql(app, &query, arguments).await
}

async fn read_cart(app: &TestApp, id: &Value) -> Value {
    data(app, &format!("query($id: UUID!) {{ cart(id: $id) {{ {CART_FIELDS} }} }}"), json!({"id": id})).await["cart"]
        .clone()
}

/// `value` with every object key in snake_case: a GraphQL object as REST writes it.
fn snake_case(value: &Value) -> Value {
    match value {
        Value::Object(object) => Value::Object(
            object
                .iter()
                .map(|(key, value)| {
                    let mut snake = String::new();
                    for c in key.chars() {
                        if c.is_ascii_uppercase() {
                            snake.push('_');
                        }
                        snake.push(c.to_ascii_lowercase());
                    }
                    (snake, snake_case(value))
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(snake_case).collect()),
        other => other.clone(),
    }
}

async fn rest(app: &TestApp, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
    let mut request = app.client.request(method.clone(), app.url(path));
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("answered");
    assert!(response.status().is_success(), "{method} {path}: {}", response.status());
    if response.status() == StatusCode::NO_CONTENT { Value::Null } else { response.json().await.expect("json") }
}

// ------------------------------------------------------------------ queries

async fn queries_page_the_catalog_and_read_carts(app: &TestApp) {
    let green = create_product(app, "Green tea", 450).await;
    assert_eq!(green["name"], "Green tea");
    assert_eq!((green["price"].as_i64(), green["currency"].as_str()), (Some(450), Some("EUR")));
    assert_eq!(green["description"], Value::Null);
    assert_eq!(green["createdAt"], green["updatedAt"]);
    let black = create_product(app, "Black tea", 500).await;
    let cake = create_product(app, "Cake", 300).await;

    let page = |first: i64, after: Value, query: Value| {
        let text = "query($first: Int, $after: String, $query: String) {
            products(first: $first, after: $after, query: $query) {
                edges { cursor node { id name } } nodes { id name price } pageInfo { hasNextPage endCursor } } }";
        async move { data(app, text, json!({"first": first, "after": after, "query": query})).await["products"].clone() }
    };
    let first = page(2, Value::Null, Value::Null).await;
    let ids: Vec<&Value> = first["nodes"].as_array().expect("nodes").iter().map(|n| &n["id"]).collect();
    assert_eq!(ids, [&green["id"], &black["id"]], "oldest first");
    assert_eq!(first["edges"][1]["node"]["id"], black["id"], "edges and nodes agree");
    assert_eq!(first["pageInfo"]["hasNextPage"], true);
    assert_eq!(first["pageInfo"]["endCursor"], first["edges"][1]["cursor"], "endCursor: the last edge's cursor");
    let last = page(2, first["pageInfo"]["endCursor"].clone(), Value::Null).await;
    assert_eq!(last["nodes"], json!([{"id": cake["id"], "name": "Cake", "price": 300}]));
    assert_eq!(last["pageInfo"]["hasNextPage"], false);
    let teas = page(20, Value::Null, json!("TEA")).await;
    assert_eq!(teas["nodes"].as_array().map(Vec::len), Some(2), "a case-insensitive substring");
    let none = page(20, Value::Null, json!("coffee")).await;
    assert_eq!(none["pageInfo"], json!({"hasNextPage": false, "endCursor": null}), "an empty page has no cursor");
    let default = data(app, "{ products { nodes { id } } }", json!({})).await;
    assert_eq!(default["products"]["nodes"].as_array().map(Vec::len), Some(3), "first defaults to 20");

    let product = format!("query($id: UUID!) {{ product(id: $id) {{ {PRODUCT_FIELDS} }} }}");
    assert_eq!(data(app, &product, json!({"id": green["id"]})).await["product"], green);
    let unknown = "00000000-0000-4000-8000-000000000000";
    assert_eq!(data(app, &product, json!({"id": unknown})).await, json!({"product": null}), "null, no error");
    assert_eq!(
        data(app, "query($id: UUID!) { cart(id: $id) { id } }", json!({"id": unknown})).await["cart"],
        Value::Null
    );

    let from_rest =
        rest(app, reqwest::Method::GET, &format!("/api/v1/products/{}", green["id"].as_str().expect("id")), None).await;
    assert_eq!(snake_case(&green), from_rest, "the same product, the same timestamps' text");

    for first in [0, 101, -1] {
        let reply = gql(app, "query($n: Int) { products(first: $n) { nodes { id } } }", json!({"n": first})).await;
        error(&reply, "MALFORMED_REQUEST");
    }
    let reply = gql(app, r#"{ products(after: "not a cursor") { nodes { id } } }"#, json!({})).await;
    error(&reply, "MALFORMED_REQUEST");

    // The root fields run concurrently; the answer keeps the document's order.
    let query = format!(
        r#"{{ z: products {{ nodes {{ id }} }} y: cart(id: "{unknown}") {{ id }} x: __typename w: product(id: "{unknown}") {{ id }} }}"#
    );
    let text = app.client.post(app.url("/graphql")).json(&json!({"query": query})).send().await.expect("answered");
    let text = text.text().await.expect("text");
    let at = |key: &str| text.find(&format!("\"{key}\":")).unwrap_or_else(|| panic!("{key} in {text}"));
    assert!(at("z") < at("y") && at("y") < at("x") && at("x") < at("w"), "{text}");
}

async fn cursors_are_the_same_text_in_rest_and_graphql(app: &TestApp) {
    for (name, price) in [("Tea", 1), ("Cake", 2), ("Cocoa", 3)] {
        create_product(app, name, price).await;
    }
    let page = rest(app, reqwest::Method::GET, "/api/v1/products?limit=1", None).await;
    let next = page["next_cursor"].as_str().expect("a next page");
    let query = "query($after: String) { products(first: 1, after: $after) { nodes { name } pageInfo { endCursor } } }";
    let second = data(app, query, json!({"after": next})).await;
    assert_eq!(second["products"]["nodes"][0]["name"], "Cake", "REST's next_cursor works as after");
    let end = second["products"]["pageInfo"]["endCursor"].as_str().expect("a cursor");
    let third = rest(app, reqwest::Method::GET, &format!("/api/v1/products?limit=1&cursor={end}"), None).await;
    assert_eq!(third["items"][0]["name"], "Cocoa", "GraphQL's endCursor works as REST's cursor");
}

// ---------------------------------------------------------------- mutations

async fn cart_mutations_change_carts_as_rest_does(app: &TestApp) {
    let tea = create_product(app, "Tea", 450).await;
    let cake = create_product(app, "Cake", 300).await;
    let cart = create_cart(app).await;
    assert_eq!((cart["version"].as_i64(), cart["items"].as_array().map(Vec::len)), (Some(0), Some(0)));
    assert!(cart["expiresAt"].as_str() > cart["createdAt"].as_str(), "{cart}");
    let id = &cart["id"];

    let added = cart_mutation(app, "addToCart", json!({"cartId": id, "productId": tea["id"]})).await;
    let added = &added["data"]["addToCart"];
    assert_eq!(added["items"][0]["quantity"], 1, "quantity defaults to 1");
    let added = cart_mutation(app, "addToCart", json!({"cartId": id, "productId": tea["id"], "quantity": 2})).await;
    let added = &added["data"]["addToCart"];
    assert_eq!(
        added["items"],
        json!([{"productId": tea["id"], "name": "Tea", "unitPrice": 450, "quantity": 3, "lineTotal": 1350}])
    );
    assert_eq!(added["version"], 2);

    let set =
        cart_mutation(app, "setItemQuantity", json!({"cartId": id, "productId": cake["id"], "quantity": 4})).await;
    let set = &set["data"]["setItemQuantity"];
    let names: Vec<&str> = set["items"].as_array().expect("items").iter().filter_map(|i| i["name"].as_str()).collect();
    assert_eq!(names, ["Tea", "Cake"], "oldest line first; set creates a line");
    assert_eq!(
        (set["totalQuantity"].as_i64(), set["subtotal"].as_i64(), set["version"].as_i64()),
        (Some(7), Some(2550), Some(3))
    );
    let again =
        cart_mutation(app, "setItemQuantity", json!({"cartId": id, "productId": cake["id"], "quantity": 4})).await;
    assert_eq!(again["data"]["setItemQuantity"]["version"], 3, "a mutation that changes nothing keeps the version");
    assert_eq!(again["data"]["setItemQuantity"]["updatedAt"], set["updatedAt"]);
    let zero =
        cart_mutation(app, "setItemQuantity", json!({"cartId": id, "productId": cake["id"], "quantity": 0})).await;
    assert_eq!(zero["data"]["setItemQuantity"]["items"].as_array().map(Vec::len), Some(1), "0 removes the line");

    let stale =
        cart_mutation(app, "removeFromCart", json!({"cartId": id, "productId": tea["id"], "expectedVersion": 3})).await;
    assert_eq!(error(&stale, "PRECONDITION_FAILED")["extensions"]["currentVersion"], 4);
    assert_eq!(stale["data"], Value::Null);
    let removed =
        cart_mutation(app, "removeFromCart", json!({"cartId": id, "productId": tea["id"], "expectedVersion": 4})).await;
    assert_eq!(removed["data"]["removeFromCart"]["items"], json!([]));
    let missing = cart_mutation(app, "removeFromCart", json!({"cartId": id, "productId": tea["id"]})).await;
    error(&missing, "NOT_FOUND");

    cart_mutation(app, "addToCart", json!({"cartId": id, "productId": cake["id"]})).await;
    let cleared = cart_mutation(app, "clearCart", json!({"cartId": id})).await;
    let cleared = &cleared["data"]["clearCart"];
    assert_eq!((cleared["items"].clone(), cleared["version"].as_i64()), (json!([]), Some(7)));
    let rest_view = rest(app, reqwest::Method::GET, &format!("/api/v1/carts/{}", id.as_str().expect("id")), None).await;
    assert_eq!(snake_case(&read_cart(app, id).await), rest_view, "the same cart through both APIs");

    let stale =
        gql(app, "mutation($id: UUID!) { deleteCart(cartId: $id, expectedVersion: 1) }", json!({"id": id})).await;
    assert_eq!(error(&stale, "PRECONDITION_FAILED")["extensions"]["currentVersion"], 7);
    let deleted =
        data(app, "mutation($id: UUID!) { deleteCart(cartId: $id, expectedVersion: 7) }", json!({"id": id})).await;
    assert_eq!(deleted["deleteCart"], *id, "the deleted cart's id");
    assert_eq!(data(app, "query($id: UUID!) { cart(id: $id) { id } }", json!({"id": id})).await["cart"], Value::Null);
    let gone = cart_mutation(app, "clearCart", json!({"cartId": id})).await;
    error(&gone, "NOT_FOUND");
}

async fn catalog_mutations_create_patch_and_delete(app: &TestApp) {
    let query = format!("mutation($p: ProductInput!) {{ createProduct(productInfo: $p) {{ {PRODUCT_FIELDS} }} }}");
    let created = data(app, &query, json!({"p": {"name": "  Tea  ", "description": "Loose leaf", "price": 450}})).await;
    let tea = created["createProduct"].clone();
    assert_eq!((tea["name"].as_str(), tea["description"].as_str()), (Some("Tea"), Some("Loose leaf")), "trimmed");
    let update = format!(
        "mutation($id: UUID!, $patch: ProductPatch!) {{ updateProductInfo(id: $id, productInfo: $patch) {{ {PRODUCT_FIELDS} }} }}"
    );
    let renamed = data(app, &update, json!({"id": tea["id"], "patch": {"name": "Green tea"}})).await;
    let renamed = &renamed["updateProductInfo"];
    assert_eq!(
        (renamed["name"].as_str(), renamed["description"].as_str()),
        (Some("Green tea"), Some("Loose leaf")),
        "absent: unchanged"
    );
    assert_eq!(renamed["price"], 450);
    let cleared = data(app, &update, json!({"id": tea["id"], "patch": {"description": null}})).await;
    assert_eq!(cleared["updateProductInfo"]["description"], Value::Null, "null clears the description");

    let nulls = gql(app, &update, json!({"id": tea["id"], "patch": {"name": null, "price": null}})).await;
    assert_eq!(fields(error(&nulls, "VALIDATION_FAILED")), ["productInfo.name", "productInfo.price"]);
    let unknown = "00000000-0000-4000-8000-000000000000";
    let judged_first = gql(app, &update, json!({"id": unknown, "patch": {"price": -1}})).await;
    assert_eq!(fields(error(&judged_first, "VALIDATION_FAILED")), ["productInfo.price"], "input before id, as PATCH");
    let not_found = gql(app, &update, json!({"id": unknown, "patch": {"price": 1}})).await;
    error(&not_found, "NOT_FOUND");

    let cart = create_cart(app).await;
    cart_mutation(app, "addToCart", json!({"cartId": cart["id"], "productId": tea["id"], "quantity": 2})).await;
    let delete = "mutation($id: UUID!) { deleteProduct(id: $id) }";
    assert_eq!(data(app, delete, json!({"id": tea["id"]})).await["deleteProduct"], tea["id"]);
    assert_eq!(read_cart(app, &cart["id"]).await["items"], json!([]), "its cart lines went with it");
    error(&gql(app, delete, json!({"id": tea["id"]})).await, "NOT_FOUND");
    let set =
        cart_mutation(app, "setItemQuantity", json!({"cartId": cart["id"], "productId": tea["id"], "quantity": 1}))
            .await;
    error(&set, "NOT_FOUND");
}

// ------------------------------------------------------------------- errors

async fn errors_carry_a_code_the_problem_type_and_every_bad_field(app: &TestApp) {
    let create = "mutation($p: ProductInput!) { createProduct(productInfo: $p) { id } }";
    let bad = json!({"p": {"name": " \u{7} ", "description": "d".repeat(2001), "price": 1_000_000_001}});
    let reply = gql(app, create, bad).await;
    let refused = error(&reply, "VALIDATION_FAILED");
    assert_eq!(refused["extensions"]["type"], format!("{PROBLEMS}validation"));
    assert_eq!(fields(refused), ["productInfo.name", "productInfo.description", "productInfo.price"]);
    assert_eq!(refused["path"], json!(["createProduct"]));
    assert_eq!(reply["data"], Value::Null, "a failed mutation field is null");
    let none = data(app, "{ products { nodes { id } } }", json!({})).await;
    assert_eq!(none["products"]["nodes"], json!([]), "nothing was created");

    // Refused when the document is validated: nothing runs, and `data` is absent.
    let wrong_types = [
        r#"mutation { createProduct(productInfo: {name: "Tea", price: 19.99}) { id } }"#,
        r#"{ cart(id: "not-a-uuid") { id } }"#,
        r#"{ cart(id: "00000000-0000-4000-8000-000000000000") { nonsense } }"#,
        "{ products { nodes { id } ",
        "mutation { createCart { id } } mutation { createCart { id } }",
    ];
    for query in wrong_types {
        let reply = gql(app, query, json!({})).await;
        assert!(reply.get("data").is_none(), "{query}: {reply}");
        let errors = reply["errors"].as_array().expect("errors");
        assert!(errors.iter().all(|e| e["extensions"]["code"] == "MALFORMED_REQUEST"), "{query}: {reply}");
        assert!(errors.iter().all(|e| e["extensions"]["type"] == format!("{PROBLEMS}malformed-request")));
    }
    let variable = gql(app, create, json!({"p": {"name": "Tea", "price": 19.99}})).await;
    error(&variable, "MALFORMED_REQUEST");
    assert!(variable.get("data").is_none(), "a variable of the wrong type is refused before anything runs");
    let id =
        gql(app, "mutation($id: UUID!) { createCart { id } clearCart(cartId: $id) { id } }", json!({"id": "nope"}))
            .await;
    error(&id, "MALFORMED_REQUEST");
    assert!(id.get("data").is_none(), "a malformed UUID variable: not even the first field runs");

    let tea = create_product(app, "Tea", 450).await;
    let cart = create_cart(app).await;
    let add = |arguments: Value| cart_mutation(app, "addToCart", arguments);
    let zero = add(json!({"cartId": cart["id"], "productId": tea["id"], "quantity": 0})).await;
    assert_eq!(fields(error(&zero, "VALIDATION_FAILED")), ["quantity"]);
    let unknown = add(json!({"cartId": cart["id"], "productId": "00000000-0000-4000-8000-000000000000"})).await;
    assert_eq!(fields(error(&unknown, "VALIDATION_FAILED")), ["productId"], "an unknown product is the input's fault");
    add(json!({"cartId": cart["id"], "productId": tea["id"], "quantity": 999})).await;
    let over = add(json!({"cartId": cart["id"], "productId": tea["id"], "quantity": 1})).await;
    assert_eq!(fields(error(&over, "VALIDATION_FAILED")), ["quantity"], "the line cap");
    assert_eq!(read_cart(app, &cart["id"]).await["version"], 1, "nothing changed");
    let set =
        cart_mutation(app, "setItemQuantity", json!({"cartId": cart["id"], "productId": tea["id"], "quantity": 1000}))
            .await;
    assert_eq!(fields(error(&set, "VALIDATION_FAILED")), ["quantity"]);
}

async fn an_unknown_cart_comes_before_invalid_arguments(app: &TestApp) {
    let unknown = json!("00000000-0000-4000-8000-000000000000");
    let tea = create_product(app, "Tea", 450).await;
    for (mutation, quantity) in [("addToCart", 0), ("setItemQuantity", -1)] {
        let reply =
            cart_mutation(app, mutation, json!({"cartId": unknown, "productId": tea["id"], "quantity": quantity}))
                .await;
        assert_eq!(error(&reply, "NOT_FOUND")["extensions"]["type"], format!("{PROBLEMS}not-found"), "{mutation}");
    }
    let reply = cart_mutation(app, "addToCart", json!({"cartId": unknown, "productId": unknown})).await;
    error(&reply, "NOT_FOUND");
}

async fn totals_above_two_to_the_31_are_exact(app: &TestApp) {
    let gold = create_product(app, "Gold bar", 1_000_000_000).await;
    let cart = create_cart(app).await;
    let reply =
        cart_mutation(app, "addToCart", json!({"cartId": cart["id"], "productId": gold["id"], "quantity": 999})).await;
    let cart = &reply["data"]["addToCart"];
    assert_eq!(cart["items"][0]["lineTotal"].as_i64(), Some(999_000_000_000));
    assert_eq!(cart["subtotal"].as_i64(), Some(999_000_000_000), "a Long, beyond Int's 2^31 - 1");
    assert_eq!(cart["totalQuantity"].as_i64(), Some(999));
}

// ------------------------------------------------------------------- limits

/// The introspection query GraphiQL 4 sends (graphql-js `getIntrospectionQuery`
/// with descriptions and deprecated input values): exactly 15 levels deep.
const GRAPHIQL_INTROSPECTION: &str = "query IntrospectionQuery {
  __schema {
    queryType { name kind } mutationType { name kind } subscriptionType { name kind }
    types { ...FullType }
    directives { name description isRepeatable locations args(includeDeprecated: true) { ...InputValue } }
  }
}
fragment FullType on __Type {
  kind name description specifiedByURL isOneOf
  fields(includeDeprecated: true) {
    name description args(includeDeprecated: true) { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason
  }
  inputFields(includeDeprecated: true) { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue {
  name description type { ...TypeRef } defaultValue isDeprecated deprecationReason
}
fragment TypeRef on __Type {
  kind name
  ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name
  ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } } }
}";

async fn depth_and_cost_limits_refuse_before_anything_runs(app: &TestApp) {
    let introspected = gql(app, GRAPHIQL_INTROSPECTION, json!({})).await;
    assert!(introspected.get("errors").is_none(), "GraphiQL's own query fits: {introspected}");
    assert_eq!(introspected["data"]["__schema"]["queryType"]["name"], "Query");

    // __schema types fields type, then `ofType`s, then a leaf: 4 + n + 1 levels.
    let nested = |levels: usize| {
        let of_types = levels - 5;
        format!(
            "{{ __schema {{ types {{ fields {{ type {{ {} name {} }} }} }} }} }}",
            "ofType { ".repeat(of_types),
            "} ".repeat(of_types)
        )
    };
    assert!(gql(app, &nested(15), json!({})).await.get("errors").is_none(), "15 levels");
    let deep = gql(app, &nested(16), json!({})).await;
    error(&deep, "MALFORMED_REQUEST");
    assert!(deep.get("data").is_none(), "16 levels: not executed");

    let cart = create_cart(app).await;
    let aliased =
        |field: &str, count: usize| (0..count).map(|i| format!("a{i}: {field}")).collect::<Vec<_>>().join(" ");
    let read = format!(r#"cart(id: "{}") {{ version }}"#, cart["id"].as_str().expect("id"));
    let fifty = data(app, &format!("{{ {} __typename }}", aliased(&read, 50)), json!({})).await;
    assert_eq!(
        fifty.as_object().map(|o| o.len()),
        Some(51),
        "50 fields that read, and __typename, which does not count"
    );
    let over = gql(app, &format!("{{ {} }}", aliased(&read, 51)), json!({})).await;
    error(&over, "MALFORMED_REQUEST");
    assert!(over.get("data").is_none());

    let tea = create_product(app, "Tea", 450).await;
    let add = format!(
        r#"addToCart(cartId: "{}", productId: "{}") {{ version }}"#,
        cart["id"].as_str().expect("id"),
        tea["id"].as_str().expect("id")
    );
    let fragments = format!("mutation {{ ...Adds ...Adds }} fragment Adds on Mutation {{ {} }}", aliased(&add, 26));
    error(&gql(app, &fragments, json!({})).await, "MALFORMED_REQUEST");
    assert_eq!(read_cart(app, &cart["id"]).await["version"], 0, "52 adds through fragments: none ran");
    let adds = data(app, &format!("mutation {{ {} }}", aliased(&add, 3)), json!({})).await;
    assert_eq!(adds["a2"]["version"], 3, "mutations run one after the other");
}

// ---------------------------------------------------------------- retries

fn keyed(key: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert("idempotency-key", key.parse().expect("a header value"));
    headers
}

async fn a_keyed_mutation_applies_once_and_replays_its_body(app: &TestApp) {
    let tea = create_product(app, "Tea", 450).await;
    let cart = create_cart(app).await;
    let add = format!(
        "mutation($c: UUID!, $p: UUID!, $q: Int) {{ addToCart(cartId: $c, productId: $p, quantity: $q) {{ {CART_FIELDS} }} }}"
    );
    let arguments = json!({"c": cart["id"], "p": tea["id"], "q": 2});
    let key = uuid::Uuid::new_v4().to_string();
    let (first_headers, first) = send(app, keyed(&key), &add, arguments.clone()).await;
    assert!(first.get("errors").is_none(), "{first}");
    assert!(first_headers.get("idempotent-replayed").is_none());
    let (again_headers, again) = send(app, keyed(&key), &add, arguments.clone()).await;
    assert_eq!(again, first, "the same body");
    assert_eq!(again_headers["idempotent-replayed"], "true");
    assert_eq!(read_cart(app, &cart["id"]).await["items"][0]["quantity"], 2, "applied once");

    let (_, reused) = send(app, keyed(&key), &add, json!({"c": cart["id"], "p": tea["id"], "q": 3})).await;
    assert_eq!(
        error(&reused, "IDEMPOTENCY_KEY_REUSED")["extensions"]["type"],
        format!("{PROBLEMS}idempotency-key-reused")
    );
    let rest_key = uuid::Uuid::new_v4().to_string();
    let response =
        app.client.post(app.url("/api/v1/carts")).header("idempotency-key", &rest_key).send().await.expect("answered");
    assert_eq!(response.status(), StatusCode::CREATED);
    let (_, across) = send(app, keyed(&rest_key), "mutation { createCart { id } }", json!({})).await;
    error(&across, "IDEMPOTENCY_KEY_REUSED");

    let two = "mutation { a: createCart { id } b: createCart { id } }";
    let (_, refused) = send(app, keyed(&uuid::Uuid::new_v4().to_string()), two, json!({})).await;
    error(&refused, "MALFORMED_REQUEST");
    assert!(refused.get("data").is_none(), "a key goes with one mutation field");
    for document in ["mutation { createCart { id } }", "{ products { nodes { id } } }"] {
        let request = app.client.post(app.url("/graphql")).headers(keyed("short")).json(&json!({"query": document}));
        let response = request.send().await.expect("answered");
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "a malformed key is refused as in REST: {document}");
        assert_eq!(response.headers()[CONTENT_TYPE], "application/problem+json");
    }
    let (headers, read) = send(app, keyed(&rest_key), "{ products { nodes { id } } }", json!({})).await;
    assert!(
        read.get("errors").is_none() && headers.get("idempotent-replayed").is_none(),
        "a key on a query is ignored"
    );

    // A failed mutation keeps nothing: the same request with its key runs again.
    let set_to = |quantity: i64| {
        cart_mutation(
            app,
            "setItemQuantity",
            json!({"cartId": cart["id"], "productId": tea["id"], "quantity": quantity}),
        )
    };
    set_to(999).await;
    let retry_key = uuid::Uuid::new_v4().to_string();
    let one_more = json!({"c": cart["id"], "p": tea["id"], "q": 1});
    let (_, over) = send(app, keyed(&retry_key), &add, one_more.clone()).await;
    error(&over, "VALIDATION_FAILED");
    set_to(1).await;
    let (headers, retried) = send(app, keyed(&retry_key), &add, one_more).await;
    assert_eq!(retried["data"]["addToCart"]["items"][0]["quantity"], 2, "{retried}");
    assert!(headers.get("idempotent-replayed").is_none(), "it ran");

    let create = "mutation { createCart { id } }";
    let cart_key = uuid::Uuid::new_v4().to_string();
    let (_, first) = send(app, keyed(&cart_key), create, json!({})).await;
    let (_, second) = send(app, keyed(&cart_key), create, json!({})).await;
    assert_eq!(first["data"]["createCart"]["id"], second["data"]["createCart"]["id"], "one cart");
}

// ------------------------------------------------------------------ parity

/// One scenario through REST and the same through GraphQL: the carts that
/// result are the same, and after every step each API reads the other's
/// cart as it answered it (same totals, versions and timestamps' text).
async fn rest_and_graphql_drive_the_same_carts(app: &TestApp) {
    use reqwest::Method;
    let tea = rest(app, Method::POST, "/api/v1/products", Some(json!({"name": "Tea", "price": 450}))).await;
    let cake = create_product(app, "Cake", 300).await;
    let scone = rest(app, Method::POST, "/api/v1/products", Some(json!({"name": "Scone", "price": 250}))).await;
    let (tea, cake, scone) = (tea["id"].clone(), cake["id"].clone(), scone["id"].clone());
    let by_rest = rest(app, Method::POST, "/api/v1/carts", None).await["id"].clone();
    let by_graphql = create_cart(app).await["id"].clone();
    let path = |cart: &Value, rest: &str| format!("/api/v1/carts/{}{rest}", cart.as_str().expect("id"));
    let line = |product: &Value| format!("/items/{}", product.as_str().expect("id"));

    let steps: Vec<(Method, String, Option<Value>, &str, Value)> = vec![
        (
            Method::POST,
            "/items".into(),
            Some(json!({"product_id": tea, "quantity": 2})),
            "addToCart",
            json!({"productId": tea, "quantity": 2}),
        ),
        (Method::POST, "/items".into(), Some(json!({"product_id": cake})), "addToCart", json!({"productId": cake})),
        (
            Method::POST,
            "/items".into(),
            Some(json!({"product_id": tea, "quantity": 3})),
            "addToCart",
            json!({"productId": tea, "quantity": 3}),
        ),
        (
            Method::PUT,
            line(&scone),
            Some(json!({"quantity": 4})),
            "setItemQuantity",
            json!({"productId": scone, "quantity": 4}),
        ),
        (
            Method::PUT,
            line(&cake),
            Some(json!({"quantity": 0})),
            "setItemQuantity",
            json!({"productId": cake, "quantity": 0}),
        ),
        (Method::DELETE, line(&scone), None, "removeFromCart", json!({"productId": scone})),
        (
            Method::POST,
            "/items".into(),
            Some(json!({"product_id": scone, "quantity": 1})),
            "addToCart",
            json!({"productId": scone, "quantity": 1}),
        ),
    ];
    for (method, rest_path, body, mutation, mut arguments) in steps {
        let answered_by_rest = rest(app, method, &path(&by_rest, &rest_path), body).await;
        arguments["cartId"] = by_graphql.clone();
        let reply = cart_mutation(app, mutation, arguments).await;
        let answered_by_graphql = reply["data"][mutation].clone();
        assert_eq!(
            snake_case(&read_cart(app, &by_rest).await),
            answered_by_rest,
            "after {mutation}: GraphQL reads REST's cart"
        );
        let read_by_rest = rest(app, Method::GET, &path(&by_graphql, ""), None).await;
        assert_eq!(snake_case(&answered_by_graphql), read_by_rest, "after {mutation}: REST reads GraphQL's cart");
        assert_eq!(same_content(&answered_by_rest), same_content(&read_by_rest), "after {mutation}: the same cart");
    }

    // A price change reaches both carts' live prices; a deleted product leaves both.
    let patch = format!("/api/v1/products/{}", tea.as_str().expect("id"));
    rest(app, Method::PATCH, &patch, Some(json!({"price": 500}))).await;
    let update = "mutation($id: UUID!) { updateProductInfo(id: $id, productInfo: {price: 260}) { price } }";
    data(app, update, json!({"id": scone})).await;
    let (rest_cart, graphql_cart) =
        (rest(app, Method::GET, &path(&by_rest, ""), None).await, snake_case(&read_cart(app, &by_graphql).await));
    assert_eq!(same_content(&rest_cart), same_content(&graphql_cart));
    assert_eq!(rest_cart["subtotal"], 5 * 500 + 260, "live prices");
    rest(app, Method::DELETE, &patch, None).await;
    let (rest_cart, graphql_cart) =
        (rest(app, Method::GET, &path(&by_rest, ""), None).await, snake_case(&read_cart(app, &by_graphql).await));
    assert_eq!(same_content(&rest_cart), same_content(&graphql_cart));
    assert_eq!(rest_cart["subtotal"], 260, "the tea's line left both carts");
}

/// A cart without what differs between two carts: ids and timestamps.
fn same_content(cart: &Value) -> Value {
    let mut cart = cart.clone();
    for key in ["id", "created_at", "updated_at", "expires_at"] {
        cart.as_object_mut().expect("an object").remove(key);
    }
    cart
}

// ------------------------------------------------ per-setting and transport

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_token_guards_catalog_mutations_before_their_input() {
    let mut database = TestDatabase::sqlite();
    database.settings.auth.admin_token = Secret::from("s3cret-token");
    let app = &TestApp::spawn(&database).await;
    let create = "mutation($p: ProductInput!) { createProduct(productInfo: $p) { id } }";
    let unauthorized = gql(app, create, json!({"p": {"name": "", "price": -1}})).await;
    assert_eq!(
        error(&unauthorized, "UNAUTHORIZED")["extensions"]["type"],
        format!("{PROBLEMS}unauthorized"),
        "the token before the rules"
    );
    let wrong_type =
        gql(app, r#"mutation { createProduct(productInfo: {name: "Tea", price: 19.99}) { id } }"#, json!({})).await;
    error(&wrong_type, "MALFORMED_REQUEST");
    let mut admin = HeaderMap::new();
    admin.insert("authorization", "bearer s3cret-token".parse().expect("a value"));
    let (_, created) = send(app, admin, create, json!({"p": {"name": "Tea", "price": 450}})).await;
    let id = created["data"]["createProduct"]["id"].clone();
    assert!(id.is_string(), "{created}");
    for query in [
        "mutation($id: UUID!) { deleteProduct(id: $id) }",
        "mutation($id: UUID!) { updateProductInfo(id: $id, productInfo: {price: 1}) { id } }",
    ] {
        error(&gql(app, query, json!({"id": id})).await, "UNAUTHORIZED");
    }
    let cart = create_cart(app).await;
    let added = cart_mutation(app, "addToCart", json!({"cartId": cart["id"], "productId": id})).await;
    assert_eq!(added["data"]["addToCart"]["version"], 1, "carts need no token");
    assert!(data(app, "{ products { nodes { id } } }", json!({})).await["products"]["nodes"].is_array());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutations_count_against_the_rate_limits_and_queries_do_not() {
    let mut database = TestDatabase::sqlite();
    database.settings.rate_limit.enabled = true;
    database.settings.rate_limit.writes_per_second = 1;
    database.settings.rate_limit.burst = 3;
    database.settings.rate_limit.carts_per_minute = 1;
    let app = &TestApp::spawn(&database).await;
    let reply = gql(app, "mutation { a: createCart { id } b: createCart { id } }", json!({})).await;
    assert!(reply["data"]["a"]["id"].is_string(), "{reply}");
    let limited = error(&reply, "RATE_LIMITED");
    assert_eq!(limited["path"], json!(["b"]));
    assert!((1..=60).contains(&limited["extensions"]["retryAfter"].as_i64().expect("seconds")), "{limited}");
    let cart = reply["data"]["a"]["id"].clone();
    let clear = cart_mutation(app, "clearCart", json!({"cartId": cart})).await;
    assert!(clear.get("errors").is_none(), "the third write of the burst: {clear}");
    error(&cart_mutation(app, "clearCart", json!({"cartId": cart})).await, "RATE_LIMITED");
    for _ in 0..10 {
        assert!(
            gql(app, "{ products { nodes { id } } }", json!({})).await.get("errors").is_none(),
            "reads are not limited"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_introspection_off_the_schema_is_not_shown_in_any_form() {
    let mut database = TestDatabase::sqlite();
    database.settings.graphql.introspection = false;
    let app = &TestApp::spawn(&database).await;
    for query in ["{ __schema { types { name } } }", r#"{ __type(name: "Cart") { name } }"#] {
        let reply = gql(app, query, json!({})).await;
        assert!(reply["errors"].as_array().is_some_and(|errors| !errors.is_empty()), "{reply}");
        assert!(
            reply["errors"].as_array().expect("errors").iter().all(|e| e["extensions"]["code"] == "MALFORMED_REQUEST"),
            "{reply}"
        );
        assert!(!reply.to_string().contains("Product"), "{reply}");
    }
    for path in ["/graphql", "/graphql/schema.graphql", "/graphql/assets/graphiql.min.js"] {
        let response = app.client.get(app.url(path)).send().await.expect("answered");
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }
    assert!(data(app, "{ products { nodes { id } } }", json!({})).await["products"].is_object(), "queries still run");
}

#[tokio::test]
async fn the_transport_refuses_what_is_not_a_graphql_request() {
    let database = TestDatabase::sqlite();
    let app = &TestApp::spawn(&database).await;
    let post = |content_type: &'static str, body: Vec<u8>| {
        app.client.post(app.url("/graphql")).header(CONTENT_TYPE, content_type).body(body).send()
    };
    let cases: [(&str, Vec<u8>, StatusCode, &str); 8] = [
        ("application/json", b"{\"query\": ".to_vec(), StatusCode::BAD_REQUEST, "malformed-request"),
        (
            "application/json",
            br#"[{"query": "{ __typename }"}]"#.to_vec(),
            StatusCode::BAD_REQUEST,
            "malformed-request",
        ),
        ("application/json", b"{}".to_vec(), StatusCode::BAD_REQUEST, "malformed-request"),
        ("application/json", br#"{"query": 5}"#.to_vec(), StatusCode::BAD_REQUEST, "malformed-request"),
        (
            "application/json",
            br#"{"query": "{ __typename }", "variables": "x"}"#.to_vec(),
            StatusCode::BAD_REQUEST,
            "malformed-request",
        ),
        (
            "text/plain",
            br#"{"query": "{ __typename }"}"#.to_vec(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
        ),
        (
            "application/graphql",
            b"{ __typename }".to_vec(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
        ),
        (
            "application/json",
            format!(r#"{{"query": "{{ __typename }}", "pad": "{}"}}"#, "x".repeat(64 * 1024)).into_bytes(),
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload-too-large",
        ),
    ];
    for (content_type, body, status, kind) in cases {
        let response = post(content_type, body).await.expect("answered");
        assert_eq!(response.status(), status, "{content_type} {kind}");
        assert_eq!(response.headers()[CONTENT_TYPE], "application/problem+json");
        assert!(response.headers().contains_key("x-request-id"));
        let problem: Value = response.json().await.expect("a problem");
        assert_eq!(problem["type"], format!("{PROBLEMS}{kind}"));
    }
    let parameters =
        post("application/json; charset=utf-8", br#"{"query": "{ __typename }", "operationName": null}"#.to_vec());
    let response = parameters.await.expect("answered");
    assert_eq!(response.status(), StatusCode::OK, "parameters of the content type are fine");
    assert_eq!(response.headers()["x-request-id"].len(), 36);
    assert_eq!(response.json::<Value>().await.expect("json"), json!({"data": {"__typename": "Query"}}));
    let put =
        app.client.put(app.url("/graphql")).json(&json!({"query": "{ __typename }"})).send().await.expect("answered");
    assert_eq!(put.status(), StatusCode::METHOD_NOT_ALLOWED);

    let named = "query A { __typename } query B { products { nodes { id } } }";
    let chosen = app
        .client
        .post(app.url("/graphql"))
        .json(&json!({"query": named, "operationName": "A"}))
        .send()
        .await
        .expect("answered");
    assert_eq!(chosen.json::<Value>().await.expect("json"), json!({"data": {"__typename": "Query"}}));
    let metrics = app.client.get(app.url("/metrics")).send().await.expect("answered").text().await.expect("text");
    assert!(metrics.contains(r#"route="/graphql",status="200""#), "counted like any route");
    let errors = gql(app, "{ nonsense }", json!({})).await;
    error(&errors, "MALFORMED_REQUEST");
    let metrics = app.client.get(app.url("/metrics")).send().await.expect("answered").text().await.expect("text");
    assert!(metrics.contains(r#"graphql_errors_total{code="MALFORMED_REQUEST"}"#), "errors counted by code: {metrics}");
}

#[tokio::test]
async fn the_sdl_is_served_and_kept_in_docs() {
    let database = TestDatabase::sqlite();
    let app = &TestApp::spawn(&database).await;
    let response = app.client.get(app.url("/graphql/schema.graphql")).send().await.expect("answered");
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()[CONTENT_TYPE].to_str().is_ok_and(|t| t.starts_with("text/plain")));
    let served = response.text().await.expect("text");
    let kept = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/schema.graphql"))
        .expect("docs/schema.graphql");
    assert!(
        served == kept,
        "docs/schema.graphql differs from the schema: run `cargo run -q -- graphql-schema > docs/schema.graphql`"
    );
    for line in
        ["type Cart {", "expiresAt: DateTime!", "scalar Long", "createProduct(productInfo: ProductInput!): Product!"]
    {
        assert!(served.contains(line), "{line}");
    }
}

#[tokio::test]
async fn the_ide_is_served_with_every_asset_from_the_binary() {
    let database = TestDatabase::sqlite();
    let app = &TestApp::spawn(&database).await;
    let page = app.client.get(app.url("/graphql")).send().await.expect("answered");
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.headers()[CONTENT_TYPE].to_str().is_ok_and(|t| t.starts_with("text/html")));
    let html = page.text().await.expect("html");
    assert!(!html.contains("http://") && !html.contains("https://"), "no other host");
    let assets: BTreeSet<&str> = html.split(['"', '\'']).filter(|part| part.starts_with("/graphql/assets/")).collect();
    assert_eq!(assets.len(), 4, "{assets:?}");
    for asset in assets {
        let response = app.client.get(app.url(asset)).send().await.expect("answered");
        assert_eq!(response.status(), StatusCode::OK, "{asset}");
        let kind = if asset.ends_with(".css") { "text/css" } else { "text/javascript" };
        assert_eq!(response.headers()[CONTENT_TYPE], kind, "{asset}");
        assert!(response.bytes().await.expect("bytes").len() > 10_000, "{asset}");
    }
    let missing = app.client.get(app.url("/graphql/assets/nothing.js")).send().await.expect("answered");
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}

// -------------------------------------------------------------- PostgreSQL

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[cfg_attr(not(postgres_tests), ignore = "needs SHOP_TEST_POSTGRES_URL")]
async fn twenty_concurrent_adds_over_two_instances_sum_exactly() {
    let Some(database) = TestDatabase::postgres().await else {
        return;
    };
    let (one, two) = (TestApp::spawn(&database).await, TestApp::spawn(&database).await);
    let tea = create_product(&one, "Tea", 450).await;
    let cart = create_cart(&two).await;
    let adds = (1..=20).map(|quantity| {
        let app = if quantity % 2 == 0 { &one } else { &two };
        cart_mutation(app, "addToCart", json!({"cartId": cart["id"], "productId": tea["id"], "quantity": quantity}))
    });
    for reply in join_all(adds).await {
        assert!(reply.get("errors").is_none(), "{reply}");
    }
    let cart = read_cart(&one, &cart["id"]).await;
    assert_eq!(cart["items"][0]["quantity"], (1..=20).sum::<i64>(), "every add counted once");
    assert_eq!(cart["version"], 20);
}
