//! PostgreSQL in production: the schema, atomic writes from many clients over
//! two service instances sharing one database, and outages.
//! Skipped (with a notice) without `SHOP_TEST_POSTGRES_URL`, failing under CI.

use std::io::Write;
use std::time::{Duration, Instant};

use futures::future::join_all;
use reqwest::StatusCode;
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use serde_json::{Value, json};
use shop_tests::{TcpProxy, TestApp, TestDatabase};

/// Reports a figure past the test harness's capture, for the record.
fn report(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

async fn create_product(app: &TestApp) -> Value {
    let response = app
        .client
        .post(app.url("/api/v1/products"))
        .json(&json!({"name": "Tea", "price": 450}))
        .send()
        .await
        .expect("answered");
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json().await.expect("json")
}

async fn create_cart(app: &TestApp) -> String {
    let response = app.client.post(app.url("/api/v1/carts")).send().await.expect("answered");
    assert_eq!(response.status(), StatusCode::CREATED);
    let cart: Value = response.json().await.expect("json");
    cart["id"].as_str().expect("id").to_owned()
}

/// Two service instances (two servers, two pools) sharing one fresh database.
async fn two_instances() -> Option<(TestDatabase, TestApp, TestApp)> {
    let database = TestDatabase::postgres().await?;
    let first = TestApp::spawn(&database).await;
    let second = TestApp::spawn(&database).await;
    Some((database, first, second))
}

async fn read_cart(app: &TestApp, cart: &str) -> Value {
    app.client
        .get(app.url(&format!("/api/v1/carts/{cart}")))
        .send()
        .await
        .expect("answered")
        .json()
        .await
        .expect("json")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(postgres_tests), ignore = "needs SHOP_TEST_POSTGRES_URL")]
async fn tables_and_migrations_live_in_schema_homework() {
    let Some(database) = TestDatabase::postgres().await else {
        return;
    };
    let connection = database.connect().await;
    let query = "SELECT table_schema, table_name FROM information_schema.tables \
                 WHERE table_name IN ('products', 'carts', 'product_cart_association', 'seaql_migrations') \
                 ORDER BY table_name";
    let rows = connection.query_all_raw(Statement::from_string(DbBackend::Postgres, query)).await.expect("query");
    let found: Vec<(String, String)> = rows
        .iter()
        .map(|row| (row.try_get("", "table_schema").expect("schema"), row.try_get("", "table_name").expect("name")))
        .collect();
    let expected: Vec<(String, String)> = ["carts", "product_cart_association", "products", "seaql_migrations"]
        .iter()
        .map(|table| ("homework".to_owned(), (*table).to_owned()))
        .collect();
    assert_eq!(found, expected, "every table in homework, none in public");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[cfg_attr(not(postgres_tests), ignore = "needs SHOP_TEST_POSTGRES_URL")]
async fn two_instances_sum_200_concurrent_adds_exactly() {
    let Some((_database, first, second)) = two_instances().await else {
        return;
    };
    let product = create_product(&first).await;
    let cart = create_cart(&second).await;
    let body = json!({"product_id": product["id"], "quantity": 1});
    let started = Instant::now();
    let statuses = join_all((0..200).map(|i| {
        let app = if i % 2 == 0 { &first } else { &second };
        let request = app.client.post(app.url(&format!("/api/v1/carts/{cart}/items"))).json(&body);
        async move { request.send().await.expect("answered").status() }
    }))
    .await;
    assert!(statuses.iter().all(|s| *s == StatusCode::OK), "{statuses:?}");
    let read = read_cart(&first, &cart).await;
    assert_eq!(read["items"][0]["quantity"], 200);
    assert_eq!(read["version"], 200);
    assert_eq!(read["items"].as_array().map(Vec::len), Some(1), "no duplicate line");
    report(&format!(
        "FIGURE concurrent adds: 200 requests over 2 instances in {:?}: quantity {}, version {}",
        started.elapsed(),
        read["items"][0]["quantity"],
        read["version"]
    ));
}

/// A write answers with a cart as it was at one version, even while other
/// writes race it on the same cart: n adds of n different products (quantity
/// 1) to an empty cart, over two instances, must each answer a cart with as
/// many lines as its version, its own product among them.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[cfg_attr(not(postgres_tests), ignore = "needs SHOP_TEST_POSTGRES_URL")]
async fn every_concurrent_add_answers_a_consistent_cart() {
    let Some((_database, first, second)) = two_instances().await else {
        return;
    };
    let cart = create_cart(&first).await;
    let mut products = Vec::new();
    for _ in 0..60 {
        products.push(create_product(&first).await);
    }
    let answers = join_all(products.iter().enumerate().map(|(i, product)| {
        let app = if i % 2 == 0 { &first } else { &second };
        let body = json!({"product_id": product["id"], "quantity": 1});
        let request = app.client.post(app.url(&format!("/api/v1/carts/{cart}/items"))).json(&body);
        async move {
            let response = request.send().await.expect("answered");
            assert_eq!(response.status(), StatusCode::OK);
            response.json::<Value>().await.expect("json")
        }
    }))
    .await;
    for (answer, product) in answers.iter().zip(&products) {
        let version = answer["version"].as_u64().expect("version");
        let items = answer["items"].as_array().expect("items");
        assert_eq!(items.len() as u64, version, "version {version} answered with {} lines: {answer}", items.len());
        assert_eq!(answer["total_quantity"], version);
        assert!(items.iter().any(|item| item["product_id"] == product["id"]), "own line missing: {answer}");
    }
    assert_eq!(read_cart(&first, &cart).await["version"], 60);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[cfg_attr(not(postgres_tests), ignore = "needs SHOP_TEST_POSTGRES_URL")]
async fn concurrent_adds_never_cross_the_cap() {
    let Some((_database, first, second)) = two_instances().await else {
        return;
    };
    let product = create_product(&first).await;
    let cart = create_cart(&first).await;
    let product_id = product["id"].as_str().expect("id");
    let line = first.url(&format!("/api/v1/carts/{cart}/items/{product_id}"));
    let set = first.client.put(line).json(&json!({"quantity": 990})).send().await.expect("answered");
    assert_eq!(set.status(), StatusCode::OK);
    let statuses = join_all((0..60).map(|i| {
        let app = if i % 2 == 0 { &first } else { &second };
        let quantity = 1 + i % 3; // 1, 2 or 3 units
        let request = app
            .client
            .post(app.url(&format!("/api/v1/carts/{cart}/items")))
            .json(&json!({"product_id": product_id, "quantity": quantity}));
        async move { (quantity, request.send().await.expect("answered").status()) }
    }))
    .await;
    let added: i64 = statuses.iter().filter(|(_, s)| *s == StatusCode::OK).map(|(q, _)| q).sum();
    let refused = statuses.iter().filter(|(_, s)| *s == StatusCode::UNPROCESSABLE_ENTITY).count();
    assert_eq!(
        refused + statuses.iter().filter(|(_, s)| *s == StatusCode::OK).count(),
        60,
        "only 200 or 422: {statuses:?}"
    );
    let read = read_cart(&first, &cart).await;
    let quantity = read["items"][0]["quantity"].as_i64().expect("quantity");
    assert!(quantity <= 999, "the cap held: {quantity}");
    assert_eq!(quantity, 990 + added, "every accepted add counted, no refused one did");
    assert!(refused > 0 && quantity >= 997, "the line filled up to the cap: {quantity}");
    report(&format!("FIGURE cap: 60 concurrent adds from 990: final {quantity}, {refused} refused with 422"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[cfg_attr(not(postgres_tests), ignore = "needs SHOP_TEST_POSTGRES_URL")]
async fn concurrent_if_match_writes_let_exactly_one_win() {
    let Some((_database, first, second)) = two_instances().await else {
        return;
    };
    let product = create_product(&first).await;
    let cart = create_cart(&first).await;
    let statuses = join_all((0..30).map(|i| {
        let app = if i % 2 == 0 { &first } else { &second };
        let request = app
            .client
            .post(app.url(&format!("/api/v1/carts/{cart}/items")))
            .header("if-match", "\"0\"")
            .json(&json!({"product_id": product["id"], "quantity": 1 + i % 5}));
        async move { request.send().await.expect("answered").status() }
    }))
    .await;
    let winners = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    let losers = statuses.iter().filter(|s| **s == StatusCode::PRECONDITION_FAILED).count();
    assert_eq!((winners, losers), (1, 29), "{statuses:?}");
    assert_eq!(read_cart(&first, &cart).await["version"], 1);
    report(&format!("FIGURE If-Match: 30 concurrent writes at version 0: {winners} succeeded, {losers} got 412"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[cfg_attr(not(postgres_tests), ignore = "needs SHOP_TEST_POSTGRES_URL")]
async fn an_outage_gives_fast_503s_and_recovers_by_itself() {
    let Some(database) = TestDatabase::postgres().await else {
        return;
    };
    database.connect().await; // migrated directly, not through the proxy
    let proxy = TcpProxy::start(database.server_address()).await;
    let mut settings = database.settings_through(&proxy);
    settings.database.auto_migrate = false;
    settings.database.acquire_timeout_secs = 2;
    settings.database.connect_timeout_secs = 2;
    let connection = shop_infrastructure::seaorm::connect(&settings.database_options()).await.expect("connect");
    let app = TestApp::spawn_with_connection(settings, connection).await;
    let product = create_product(&app).await;
    let cart = create_cart(&app).await;
    let get = |path: String| {
        let request = app.client.get(app.url(&path)).timeout(Duration::from_secs(10));
        async move { request.send().await.expect("answered within 10 s") }
    };

    proxy.cut();
    let cut_at = Instant::now();
    let response = get(format!("/api/v1/carts/{cart}")).await;
    let first_503 = cut_at.elapsed();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let problem: Value = response.json().await.expect("problem");
    assert_eq!(problem["type"], "https://shop.example/problems/service-unavailable");
    assert!(first_503 < Duration::from_secs(3), "bounded by the acquire timeout: {first_503:?}");
    let query = json!({"query": format!(r#"{{ cart(id: "{cart}") {{ version }} }}"#)});
    let request = app.client.post(app.url("/graphql")).json(&query).timeout(Duration::from_secs(10));
    let reply: Value = request.send().await.expect("answered").json().await.expect("json");
    assert_eq!(reply["errors"][0]["extensions"]["code"], "SERVICE_UNAVAILABLE", "{reply}");
    assert_eq!(reply["errors"][0]["extensions"]["type"], "https://shop.example/problems/service-unavailable");
    for path in [format!("/api/v1/products/{}", product["id"].as_str().expect("id")), "/health/ready".to_owned()] {
        let started = Instant::now();
        assert_eq!(get(path).await.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(started.elapsed() < Duration::from_secs(3));
    }
    assert_eq!(get("/health/live".to_owned()).await.status(), StatusCode::OK, "the process keeps serving");

    proxy.restore();
    let restored_at = Instant::now();
    loop {
        if get(format!("/api/v1/carts/{cart}")).await.status() == StatusCode::OK {
            break;
        }
        assert!(restored_at.elapsed() < Duration::from_secs(15), "recovers by itself");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let recovered = restored_at.elapsed();
    assert_eq!(get("/health/ready".to_owned()).await.status(), StatusCode::OK);
    report(&format!(
        "FIGURE outage: first 503 after {first_503:?}; recovered {recovered:?} after the database returned"
    ));
}

/// Behind a pooler the service sends no session settings, so it starts only
/// where the server gives them, and otherwise says in one line what is off
/// and which statement fixes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(postgres_tests), ignore = "needs SHOP_TEST_POSTGRES_URL")]
async fn behind_a_pooler_the_service_starts_only_on_the_server_settings_it_needs() {
    let Some(mut database) = TestDatabase::postgres().await else {
        return;
    };
    database.settings.database.behind_pooler = true;
    database.give_session_settings().await; // search_path = homework, statement_timeout = 27000ms
    let given = database.settings.database_options();
    shop_infrastructure::seaorm::connect(&given).await.expect("the server gives what the service needs");

    let mut wanted = given.clone();
    wanted.schema = "elsewhere".to_owned();
    wanted.statement_timeout = Duration::from_secs(1);
    let refused = shop_infrastructure::seaorm::connect(&wanted).await.expect_err("settings the server does not give");
    let message = shop_infrastructure::seaorm::describe(&refused);
    let name = database.settings.database.url.rsplit('/').next().expect("a database name");
    for part in [
        "search_path is `homework`, needs `elsewhere`",
        "statement_timeout is 27000 ms, needs 1..=1000 ms",
        &format!("ALTER ROLE \"postgres\" IN DATABASE \"{name}\" SET search_path = elsewhere;"),
        "SET statement_timeout = '1000ms'",
        "connect_query",
    ] {
        assert!(message.contains(part), "{part:?} in {message:?}");
    }
    assert!(!message.contains('\n'), "one line: {message:?}");
}

/// Reads on the standby, with its replay paused: a product just created is
/// still found (a miss asks the primary), a page and a changed product are
/// the standby's (they trail the write, as docs/API.md says), a cart is the
/// primary's; once replay resumes, the standby catches up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(replica_tests), ignore = "needs SHOP_TEST_REPLICA_URL (tests/replica/pair.sh)")]
async fn catalog_reads_on_the_replica_trail_writes_and_a_miss_asks_the_primary() {
    let Some(database) = TestDatabase::postgres().await else {
        return;
    };
    let name = database.settings.database.url.rsplit('/').next().expect("a database name").to_owned();
    let primary = sea_orm::Database::connect(&database.settings.database.url).await.expect("the primary");
    // Commits must not wait for a standby whose replay this test pauses.
    primary.execute_unprepared(&format!("ALTER DATABASE {name} SET synchronous_commit = local")).await.expect("set");
    let app = TestApp::spawn(&database).await;
    let standby = sea_orm::Database::connect(&database.settings.database.replica_url).await.expect("the standby");
    let replay = async |action: &str| {
        standby.execute_unprepared(&format!("SELECT pg_wal_replay_{action}()")).await.expect("replay control");
    };
    let get = async |path: &str| -> Value {
        let response = app.client.get(app.url(path)).send().await.expect("answered");
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        response.json().await.expect("json")
    };
    let names = |page: &Value| -> Vec<String> {
        page["items"].as_array().expect("items").iter().map(|p| p["id"].as_str().expect("id").to_owned()).collect()
    };
    let until = async |path: &str, seen: &dyn Fn(&Value) -> bool| -> Duration {
        let started = Instant::now();
        while !seen(&get(path).await) {
            assert!(started.elapsed() < Duration::from_secs(10), "{path} caught up");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        started.elapsed()
    };

    replay("pause").await;
    let tea = create_product(&app).await;
    let tea_id = tea["id"].as_str().expect("id").to_owned();
    let by_id = get(&format!("/api/v1/products/{tea_id}")).await;
    let page_while_paused = names(&get("/api/v1/products").await);
    replay("resume").await;
    assert_eq!(by_id["id"], tea["id"], "a miss on the standby is asked of the primary");
    assert!(page_while_paused.is_empty(), "the page came from the paused standby: {page_while_paused:?}");
    let caught_up = until("/api/v1/products", &|page| names(page) == [tea_id.clone()]).await;

    let cart = create_cart(&app).await;
    replay("pause").await;
    let patch = app.client.patch(app.url(&format!("/api/v1/products/{tea_id}"))).json(&json!({"price": 500}));
    assert_eq!(patch.send().await.expect("answered").status(), StatusCode::OK);
    let stale = get(&format!("/api/v1/products/{tea_id}")).await;
    let add = app.client.post(app.url(&format!("/api/v1/carts/{cart}/items")));
    let added = add.json(&json!({"product_id": tea_id, "quantity": 2})).send().await.expect("answered");
    let added_status = added.status();
    let added: Value = added.json().await.expect("the cart");
    let cart_read = read_cart(&app, &cart).await;
    replay("resume").await;
    assert_eq!(stale["price"], 450, "a changed product trails the write on the standby");
    assert_eq!(added_status, StatusCode::OK);
    assert_eq!(added["items"][0]["unit_price"], 500, "a write reads the product on the primary: {added}");
    assert_eq!(cart_read["items"][0]["unit_price"], 500, "carts read the primary: {cart_read}");
    let patched = until(&format!("/api/v1/products/{tea_id}"), &|product| product["price"] == 500).await;
    report(&format!("FIGURE replica: caught up {caught_up:?} and {patched:?} after replay resumed"));
}

/// A standby that stops answering costs catalog reads nothing but a moment:
/// they go to the primary, readiness says so, and reads return to the
/// standby when it answers again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(replica_tests), ignore = "needs SHOP_TEST_REPLICA_URL (tests/replica/pair.sh)")]
async fn when_the_replica_does_not_answer_catalog_reads_go_to_the_primary() {
    let Some(mut database) = TestDatabase::postgres().await else {
        return;
    };
    let proxy = TcpProxy::start(database.replica_address()).await;
    database.settings.database.replica_url = shop_tests::through(&database.settings.database.replica_url, &proxy);
    // Down at start, it does not stop the start.
    proxy.cut();
    let app = TestApp::spawn(&database).await;
    let ready = async || -> Value {
        let response = app.client.get(app.url("/health/ready")).send().await.expect("answered");
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.expect("json")
    };
    let tea = create_product(&app).await;
    let path = format!("/api/v1/products/{}", tea["id"].as_str().expect("id"));
    let response = app.client.get(app.url(&path)).send().await.expect("answered");
    assert_eq!(response.status(), StatusCode::OK, "from the primary");
    assert_eq!(ready().await["pools"], json!({"primary": "up", "replica": "down"}));
    proxy.restore();
    let restored_at = Instant::now();
    while ready().await["pools"]["replica"] != "up" {
        assert!(restored_at.elapsed() < Duration::from_secs(10), "the replica is asked once it answers");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    proxy.cut();
    let cut_at = Instant::now();
    for path in [path.as_str(), "/api/v1/products"] {
        let response = app.client.get(app.url(path)).send().await.expect("answered");
        assert_eq!(response.status(), StatusCode::OK, "{path} from the primary");
    }
    let fell_back = cut_at.elapsed();
    assert!(fell_back < Duration::from_secs(3), "{fell_back:?}");
    assert_eq!(ready().await["pools"], json!({"primary": "up", "replica": "down"}));

    proxy.restore();
    let restored_at = Instant::now();
    while ready().await["pools"]["replica"] != "up" {
        assert!(restored_at.elapsed() < Duration::from_secs(10), "the replica is asked again");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    report(&format!("FIGURE replica down: reads on the primary after {fell_back:?}"));
}

/// A standby cancels a read that conflicts with what it replays (40001,
/// "conflict with recovery"); a retry gets past it, so the answer is a 503
/// problem with Retry-After, never a 500. The same SQLSTATE is raised here
/// on purpose, by a view in place of the table that each catalog read
/// selects from (on the standby too, where there is one).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(postgres_tests), ignore = "needs SHOP_TEST_POSTGRES_URL")]
async fn a_read_cancelled_by_recovery_answers_a_retryable_503() {
    let Some(database) = TestDatabase::postgres().await else {
        return;
    };
    let app = TestApp::spawn(&database).await;
    let tea = create_product(&app).await;
    let primary = sea_orm::Database::connect(&database.settings.database.url).await.expect("the primary");
    primary
        .execute_unprepared(
            "SET search_path = homework; ALTER TABLE products RENAME TO products_kept; \
             CREATE FUNCTION conflict() RETURNS SETOF products_kept LANGUAGE plpgsql AS $$ BEGIN \
             RAISE EXCEPTION 'canceling statement due to conflict with recovery' USING ERRCODE = '40001'; END $$; \
             CREATE VIEW products AS SELECT * FROM conflict()",
        )
        .await
        .expect("a view that raises 40001");
    for path in [format!("/api/v1/products/{}", tea["id"].as_str().expect("id")), "/api/v1/products".to_owned()] {
        let response = app.client.get(app.url(&path)).send().await.expect("answered");
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE, "{path}");
        assert_eq!(response.headers()["retry-after"], "1");
        let problem: Value = response.json().await.expect("problem");
        assert_eq!(problem["type"], "https://shop.example/problems/service-unavailable");
    }
}
