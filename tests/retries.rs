//! Retries never double a change, and an error means nothing happened: the
//! `Idempotency-Key` contract over the real router on SQLite and PostgreSQL,
//! faults injected at each boundary of a keyed write, and (PostgreSQL) two
//! instances sharing keys, a locked table, connections killed while idle,
//! and clients that go away.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::future::join_all;
use reqwest::header::{AUTHORIZATION, ETAG, LOCATION, RETRY_AFTER};
use reqwest::{Response, StatusCode};
use sea_orm::{ConnectionTrait, Database, DbBackend, Statement};
use serde_json::{Value, json};
use shaku::HasComponent;
use shop::container::SeaOrmStorage;
use shop::settings::{Secret, Settings};
use shop_application::StorageError;
use shop_application::idempotency::Completion;
use shop_application::ports::{CartRepository, Saved};
use shop_domain::{Cart, CartId, LineChange};
use shop_tests::{TestApp, TestDatabase};

shop_tests::on_both_databases!(
    a_retried_write_replays_its_first_answer,
    the_same_key_with_another_request_is_422,
    malformed_keys_are_400_and_do_nothing,
    a_failed_write_keeps_nothing,
    ten_concurrent_duplicates_apply_once,
    the_token_is_checked_before_the_key,
    a_failure_after_the_commit_is_replayed_not_redone,
    a_failure_before_the_commit_runs_again,
    a_crash_after_the_claim_blocks_the_key_until_its_lease_runs_out,
);

// ---------------------------------------------------------------- helpers

fn key(name: &str) -> String {
    format!("{name}-{}", uuid::Uuid::new_v4())
}

async fn post(app: &TestApp, path: &str, key: Option<&str>, body: Option<Value>) -> Response {
    let mut request = app.client.post(app.url(path));
    if let Some(key) = key {
        request = request.header("idempotency-key", key);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.expect("answered")
}

/// Status, the headers a key keeps, the replay marker and the body.
async fn parts(response: Response) -> (StatusCode, Option<String>, Option<String>, Option<String>, String) {
    let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let (location, etag, replayed) = (header(LOCATION.as_str()), header(ETAG.as_str()), header("idempotent-replayed"));
    (response.status(), location, etag, replayed, response.text().await.expect("a body"))
}

async fn problem_type(response: Response) -> String {
    let body: Value = response.json().await.expect("a problem");
    body["type"].as_str().unwrap_or_default().trim_start_matches("https://shop.example/problems/").to_owned()
}

async fn product(app: &TestApp, name: &str) -> String {
    let response = post(app, "/api/v1/products", None, Some(json!({"name": name, "price": 450}))).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json::<Value>().await.expect("json")["id"].as_str().expect("id").to_owned()
}

async fn cart(app: &TestApp) -> String {
    let response = post(app, "/api/v1/carts", None, None).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json::<Value>().await.expect("json")["id"].as_str().expect("id").to_owned()
}

async fn quantity(app: &TestApp, cart: &str) -> (i64, i64) {
    let read: Value = app
        .client
        .get(app.url(&format!("/api/v1/carts/{cart}")))
        .send()
        .await
        .expect("answered")
        .json()
        .await
        .expect("json");
    (read["items"][0]["quantity"].as_i64().unwrap_or(0), read["version"].as_i64().expect("version"))
}

// ---------------------------------------------------------------- the contract

async fn a_retried_write_replays_its_first_answer(database: TestDatabase) {
    let app = TestApp::spawn(&database).await;
    let tea = product(&app, "Tea").await;

    let k = key("new-cart");
    let first = parts(post(&app, "/api/v1/carts", Some(&k), None).await).await;
    let again = parts(post(&app, "/api/v1/carts", Some(&k), None).await).await;
    assert_eq!(first.0, StatusCode::CREATED);
    assert_eq!((first.0, &first.1, &first.2, &first.4), (again.0, &again.1, &again.2, &again.4), "the same answer");
    assert_eq!((first.3.as_deref(), again.3.as_deref()), (None, Some("true")));
    let cart: Value = serde_json::from_str(&first.4).expect("json");
    let cart = cart["id"].as_str().expect("id").to_owned();

    let items = format!("/api/v1/carts/{cart}/items");
    let body = json!({"product_id": tea, "quantity": 2});
    let k = key("add");
    let first = parts(post(&app, &items, Some(&k), Some(body.clone())).await).await;
    let again = parts(post(&app, &items, Some(&format!("\"{k}\"")), Some(body)).await).await;
    assert_eq!((first.0, first.2.as_deref()), (StatusCode::OK, Some("\"1\"")));
    assert_eq!((again.0, &again.2, &again.4, again.3.as_deref()), (first.0, &first.2, &first.4, Some("true")));
    assert_eq!(quantity(&app, &cart).await, (2, 1), "added once; a quoted key is the same key");

    let k = key("product");
    let body = json!({"name": "Cake", "price": 300});
    let first = parts(post(&app, "/api/v1/products", Some(&k), Some(body.clone())).await).await;
    let again = parts(post(&app, "/api/v1/products", Some(&k), Some(body)).await).await;
    assert_eq!((first.0, first.1.is_some()), (StatusCode::CREATED, true));
    assert_eq!((again.0, &again.1, &again.4, again.3.as_deref()), (first.0, &first.1, &first.4, Some("true")));
    let page: Value =
        app.client.get(app.url("/api/v1/products?q=cake")).send().await.expect("answered").json().await.expect("json");
    assert_eq!(page["items"].as_array().map(Vec::len), Some(1), "one product made");
}

async fn the_same_key_with_another_request_is_422(database: TestDatabase) {
    let app = TestApp::spawn(&database).await;
    let tea = product(&app, "Tea").await;
    let cart = cart(&app).await;
    let items = format!("/api/v1/carts/{cart}/items");
    let k = key("reused");
    assert_eq!(post(&app, &items, Some(&k), Some(json!({"product_id": tea}))).await.status(), StatusCode::OK);
    for (path, body) in [
        (items.clone(), Some(json!({"product_id": tea, "quantity": 2}))),
        (format!("/api/v1/carts/{}/items", uuid::Uuid::new_v4()), Some(json!({"product_id": tea}))),
        ("/api/v1/carts".to_owned(), None),
    ] {
        let response = post(&app, &path, Some(&k), body).await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "{path}");
        assert_eq!(problem_type(response).await, "idempotency-key-reused");
    }
    assert_eq!(quantity(&app, &cart).await, (1, 1), "nothing else happened");
}

async fn malformed_keys_are_400_and_do_nothing(database: TestDatabase) {
    let app = TestApp::spawn(&database).await;
    let cart = cart(&app).await;
    let tea = product(&app, "Tea").await;
    let items = format!("/api/v1/carts/{cart}/items");
    for bad in ["short-key", &"k".repeat(256), "has a space in it!", "\"short-in-quotes\"", "ключ-ключ-ключ-ключ"]
    {
        let response = post(&app, &items, Some(bad), Some(json!({"product_id": tea}))).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{bad:?}");
        assert_eq!(problem_type(response).await, "malformed-request");
    }
    let twice = app
        .client
        .post(app.url(&items))
        .header("idempotency-key", key("one"))
        .header("idempotency-key", key("two"))
        .json(&json!({"product_id": tea}))
        .send()
        .await
        .expect("answered");
    assert_eq!(twice.status(), StatusCode::BAD_REQUEST, "two fields");
    let huge = format!("{{\"product_id\": \"{tea}\"{}}}", " ".repeat(70_000));
    let response = app
        .client
        .post(app.url(&items))
        .header("idempotency-key", key("huge"))
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(huge)
        .send()
        .await
        .expect("answered");
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE, "the body limit holds with a key too");
    assert_eq!(quantity(&app, &cart).await, (0, 0), "nothing was added");
}

async fn a_failed_write_keeps_nothing(database: TestDatabase) {
    let app = TestApp::spawn(&database).await;
    let tea = product(&app, "Tea").await;
    let cart = cart(&app).await;
    let items = format!("/api/v1/carts/{cart}/items");
    let k = key("failing");
    let bad = json!({"product_id": tea, "quantity": 0});
    for _ in 0..2 {
        let response = post(&app, &items, Some(&k), Some(bad.clone())).await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "runs, and fails, each time");
        assert_eq!(problem_type(response).await, "validation");
    }
    let response = post(&app, &items, Some(&k), Some(json!({"product_id": tea, "quantity": 3}))).await;
    assert_eq!(response.status(), StatusCode::OK, "the key is free for a corrected request");
    assert_eq!(response.headers().get("idempotent-replayed"), None);
    assert_eq!(quantity(&app, &cart).await, (3, 1));
}

async fn ten_concurrent_duplicates_apply_once(database: TestDatabase) {
    let app = TestApp::spawn(&database).await;
    let tea = product(&app, "Tea").await;
    let cart = cart(&app).await;
    let items = format!("/api/v1/carts/{cart}/items");
    let k = key("duplicates");
    let body = json!({"product_id": tea, "quantity": 1});
    let answers =
        join_all((0..10).map(|_| async { parts(post(&app, &items, Some(&k), Some(body.clone())).await).await })).await;
    let applied: Vec<_> = answers.iter().filter(|a| a.0 == StatusCode::OK).collect();
    assert!(!applied.is_empty(), "{answers:?}");
    assert!(applied.iter().all(|a| a.4 == applied[0].4), "every 200 is the same answer");
    assert_eq!(applied.iter().filter(|a| a.3.is_none()).count(), 1, "one ran, the others replayed: {answers:?}");
    for other in answers.iter().filter(|a| a.0 != StatusCode::OK) {
        assert_eq!(other.0, StatusCode::CONFLICT, "the rest found it running: {other:?}");
    }
    assert_eq!(quantity(&app, &cart).await, (1, 1), "applied once");
    let late = parts(post(&app, &items, Some(&k), Some(body)).await).await;
    assert_eq!((late.0, late.3.as_deref(), &late.4), (StatusCode::OK, Some("true"), &applied[0].4));
}

async fn the_token_is_checked_before_the_key(mut database: TestDatabase) {
    database.settings.auth.admin_token = Secret::from("s3cret-token");
    let app = TestApp::spawn(&database).await;
    let k = key("catalog");
    let body = json!({"name": "Tea", "price": 1});
    let create = |token: Option<&'static str>| {
        let mut request = app.client.post(app.url("/api/v1/products")).header("idempotency-key", &k).json(&body);
        if let Some(token) = token {
            request = request.header(AUTHORIZATION, format!("Bearer {token}"));
        }
        request.send()
    };
    assert_eq!(create(Some("s3cret-token")).await.expect("answered").status(), StatusCode::CREATED);
    let stranger = create(None).await.expect("answered");
    assert_eq!(stranger.status(), StatusCode::UNAUTHORIZED, "no replay without the token");
    let replay = create(Some("s3cret-token")).await.expect("answered");
    assert_eq!((replay.status(), replay.headers().contains_key("idempotent-replayed")), (StatusCode::CREATED, true));
}

// ---------------------------------------------------------------- faults at each boundary

/// Where the injected fault strikes a keyed add.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    /// The save fails before anything is written.
    BeforeCommit,
    /// The change and its answer commit, then the answer is lost on its way
    /// (the save reports a failure, as a connection that broke after the
    /// commit would).
    AfterCommit,
    /// The process dies after claiming the key, before the change: no
    /// release, no answer (a panic unwinds past every layer that would clean up).
    Crash,
}

/// The real cart repository, with one fault armed for the next save.
struct Faulty {
    inner: Arc<dyn CartRepository>,
    fault: Fault,
    armed: AtomicBool,
}

#[async_trait]
impl CartRepository for Faulty {
    async fn insert(&self, cart: &Cart, completion: Option<&Completion>) -> Result<(), StorageError> {
        self.inner.insert(cart, completion).await
    }
    async fn get(&self, id: CartId) -> Result<Option<Cart>, StorageError> {
        self.inner.get(id).await
    }
    async fn save(
        &self,
        cart: &Cart,
        change: LineChange,
        completion: Option<&Completion>,
    ) -> Result<Saved, StorageError> {
        if !self.armed.swap(false, Ordering::SeqCst) {
            return self.inner.save(cart, change, completion).await;
        }
        match self.fault {
            Fault::BeforeCommit => Err(StorageError::Unavailable("injected: the save failed before writing".into())),
            Fault::AfterCommit => {
                let saved = self.inner.save(cart, change, completion).await?;
                assert_eq!(saved, Saved::Done, "the change and its answer committed");
                Err(StorageError::Unavailable("injected: the answer was lost after the commit".into()))
            }
            Fault::Crash => panic!("injected: the process dies after claiming the key"),
        }
    }
    async fn delete(&self, cart: &Cart) -> Result<Saved, StorageError> {
        self.inner.delete(cart).await
    }
    async fn purge_expired(&self, expired_before: DateTime<Utc>, limit: u32) -> Result<u64, StorageError> {
        self.inner.purge_expired(expired_before, limit).await
    }
}

/// The service over `database`, its cart repository wrapped in [`Faulty`].
async fn faulty_app(database: &TestDatabase, fault: Fault, settings: Settings) -> TestApp {
    let connection = database.connect().await;
    let writer = shop_infrastructure::seaorm::connect_writer(&settings.database_options()).await.expect("writer");
    let inner: Arc<dyn CartRepository> = SeaOrmStorage::over(connection.clone(), writer.clone()).build().resolve();
    let faulty = Faulty { inner, fault, armed: AtomicBool::new(true) };
    let storage =
        SeaOrmStorage::over(connection, writer).with_component_override::<dyn CartRepository>(Box::new(faulty));
    TestApp::spawn_with_storage(settings, Arc::new(storage.build())).await
}

/// An add whose answer is lost after its commit, then retried with the same
/// key: the retry replays, and the line holds one unit. This is the test a
/// reserve-then-complete design fails: there the answer would be stored
/// after the handler succeeded, so after this failure the claim would be
/// released (or, had the process died, lapse), and the retry would add again.
async fn a_failure_after_the_commit_is_replayed_not_redone(database: TestDatabase) {
    let app = faulty_app(&database, Fault::AfterCommit, database.settings.clone()).await;
    let tea = product(&app, "Tea").await;
    let cart = cart(&app).await;
    let items = format!("/api/v1/carts/{cart}/items");
    let k = key("after-commit");
    let body = json!({"product_id": tea, "quantity": 1});
    assert_eq!(post(&app, &items, Some(&k), Some(body.clone())).await.status(), StatusCode::SERVICE_UNAVAILABLE);
    let retry = parts(post(&app, &items, Some(&k), Some(body)).await).await;
    assert_eq!((retry.0, retry.3.as_deref()), (StatusCode::OK, Some("true")), "the kept answer");
    let answered: Value = serde_json::from_str(&retry.4).expect("json");
    assert_eq!(answered["items"][0]["quantity"], 1);
    assert_eq!(quantity(&app, &cart).await, (1, 1), "applied once");
}

async fn a_failure_before_the_commit_runs_again(database: TestDatabase) {
    let app = faulty_app(&database, Fault::BeforeCommit, database.settings.clone()).await;
    let tea = product(&app, "Tea").await;
    let cart = cart(&app).await;
    let items = format!("/api/v1/carts/{cart}/items");
    let k = key("before-commit");
    let body = json!({"product_id": tea, "quantity": 1});
    assert_eq!(post(&app, &items, Some(&k), Some(body.clone())).await.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(quantity(&app, &cart).await, (0, 0), "nothing was written");
    let retry = parts(post(&app, &items, Some(&k), Some(body)).await).await;
    assert_eq!((retry.0, retry.3), (StatusCode::OK, None), "it ran again");
    assert_eq!(quantity(&app, &cart).await, (1, 1), "applied once");
}

async fn a_crash_after_the_claim_blocks_the_key_until_its_lease_runs_out(database: TestDatabase) {
    let mut settings = database.settings.clone();
    settings.server.request_timeout_secs = 2;
    settings.database.acquire_timeout_secs = 1;
    let lease = settings.idempotency_lease();
    let app = faulty_app(&database, Fault::Crash, settings).await;
    let tea = product(&app, "Tea").await;
    let cart = cart(&app).await;
    let items = format!("/api/v1/carts/{cart}/items");
    let k = key("crash");
    let body = json!({"product_id": tea, "quantity": 1});
    let crashed = app.client.post(app.url(&items)).header("idempotency-key", &k).json(&body).send().await;
    assert!(crashed.map_or(true, |r| r.status().is_server_error()), "no answer, or a 500");
    let claimed_at = Instant::now();
    let busy = post(&app, &items, Some(&k), Some(body.clone())).await;
    assert_eq!(busy.status(), StatusCode::CONFLICT);
    let retry_after: u64 = busy.headers()[RETRY_AFTER].to_str().expect("ascii").parse().expect("seconds");
    assert!((1..=lease.as_secs()).contains(&retry_after), "{retry_after}");
    assert_eq!(problem_type(busy).await, "idempotency-key-in-flight");
    assert_eq!(quantity(&app, &cart).await, (0, 0));
    tokio::time::sleep(lease.saturating_sub(claimed_at.elapsed()) + Duration::from_millis(200)).await;
    let retry = parts(post(&app, &items, Some(&k), Some(body)).await).await;
    assert_eq!((retry.0, retry.3), (StatusCode::OK, None), "the lapsed claim is taken over and runs");
    assert_eq!(quantity(&app, &cart).await, (1, 1), "applied once");
}

// ---------------------------------------------------------------- PostgreSQL only

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[cfg_attr(not(postgres_tests), ignore = "needs SHOP_TEST_POSTGRES_URL")]
async fn a_key_used_on_one_instance_replays_on_another() {
    let Some(database) = TestDatabase::postgres().await else {
        return;
    };
    let (first, second) = (TestApp::spawn(&database).await, TestApp::spawn(&database).await);
    let tea = product(&first, "Tea").await;
    let cart = cart(&first).await;
    let items = format!("/api/v1/carts/{cart}/items");
    let k = key("two-instances");
    let body = json!({"product_id": tea, "quantity": 4});
    let original = parts(post(&first, &items, Some(&k), Some(body.clone())).await).await;
    let replayed = parts(post(&second, &items, Some(&k), Some(body)).await).await;
    assert_eq!(
        (replayed.0, &replayed.2, &replayed.4, replayed.3.as_deref()),
        (original.0, &original.2, &original.4, Some("true"))
    );
    assert_eq!(quantity(&second, &cart).await, (4, 1));
}

/// `LOCK TABLE carts` held by another session for 5 s: an add with a 2 s
/// request timeout answers 503 once the database gave its statement up (the
/// statement timeout is 1 s), the cart is unchanged after the lock is
/// released, and product pages, which never touch `carts`, answer meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[cfg_attr(not(postgres_tests), ignore = "needs SHOP_TEST_POSTGRES_URL")]
async fn a_write_stuck_behind_a_lock_answers_503_and_never_lands() {
    let Some(mut database) = TestDatabase::postgres().await else {
        return;
    };
    database.settings.server.request_timeout_secs = 2;
    database.settings.database.acquire_timeout_secs = 1;
    let app = TestApp::spawn(&database).await;
    let tea = product(&app, "Tea").await;
    let cart = cart(&app).await;
    let items = format!("/api/v1/carts/{cart}/items");
    assert_eq!(
        post(&app, &items, None, Some(json!({"product_id": tea, "quantity": 267}))).await.status(),
        StatusCode::OK
    );

    let locker = Database::connect(&database.settings.database.url).await.expect("a second session");
    locker
        .execute_unprepared("SET search_path = homework; BEGIN; LOCK TABLE carts IN ACCESS EXCLUSIVE MODE")
        .await
        .expect("locked");
    let started = Instant::now();
    let pages = async {
        let mut statuses = Vec::new();
        while started.elapsed() < Duration::from_secs(3) {
            statuses.push(app.client.get(app.url("/api/v1/products")).send().await.expect("answered").status());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        statuses
    };
    let add = post(&app, &items, None, Some(json!({"product_id": tea, "quantity": 5})));
    let (add, pages) = tokio::join!(add, pages);
    let waited = started.elapsed();
    assert_eq!(add.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(waited < Duration::from_secs(4), "{waited:?}");
    assert!(pages.iter().all(|s| *s == StatusCode::OK), "product pages kept answering: {pages:?}");
    tokio::time::sleep(Duration::from_secs(5).saturating_sub(started.elapsed())).await;
    locker.execute_unprepared("COMMIT").await.expect("unlocked");
    // Time for a statement left waiting on the lock to run and commit, as one
    // did before statements had a timeout (quantity 272, version 2).
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(quantity(&app, &cart).await, (267, 1), "the timed-out add never landed");
}

/// Every pooled connection killed while idle (a database restart, as the
/// pool sees it): the next requests get fresh connections, and none fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[cfg_attr(not(postgres_tests), ignore = "needs SHOP_TEST_POSTGRES_URL")]
async fn connections_killed_while_idle_cost_no_request() {
    let Some(database) = TestDatabase::postgres().await else {
        return;
    };
    let app = TestApp::spawn(&database).await;
    let cart = cart(&app).await;
    join_all((0..20).map(|_| app.client.get(app.url(&format!("/api/v1/carts/{cart}"))).send())).await;
    tokio::time::sleep(Duration::from_millis(1500)).await; // idle, past the ping threshold
    let admin = Database::connect(&database.settings.database.url).await.expect("an admin session");
    let name = database.settings.database.url.rsplit('/').next().expect("a database name").to_owned();
    let killed = admin
        .query_all_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
            [name.into()],
        ))
        .await
        .expect("terminated");
    assert!(!killed.is_empty(), "the pool had connections to kill");
    let started = Instant::now();
    let statuses = join_all((0..20).map(|i| {
        let path = if i % 2 == 0 { format!("/api/v1/carts/{cart}") } else { "/health/ready".to_owned() };
        let request = app.client.get(app.url(&path)).send();
        async move { request.await.expect("answered").status() }
    }))
    .await;
    assert!(statuses.iter().all(|s| *s == StatusCode::OK), "{statuses:?}");
    assert!(started.elapsed() < Duration::from_secs(1), "ready within a second: {:?}", started.elapsed());
}

/// A client that gives up mid-request is counted, and its request leaves
/// nothing behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[cfg_attr(not(postgres_tests), ignore = "needs SHOP_TEST_POSTGRES_URL")]
async fn a_client_that_goes_away_is_counted() {
    let Some(database) = TestDatabase::postgres().await else {
        return;
    };
    let app = TestApp::spawn(&database).await;
    let cart = cart(&app).await;
    let locker = Database::connect(&database.settings.database.url).await.expect("a second session");
    locker
        .execute_unprepared("SET search_path = homework; BEGIN; LOCK TABLE carts IN ACCESS EXCLUSIVE MODE")
        .await
        .expect("locked");
    let impatient =
        app.client.get(app.url(&format!("/api/v1/carts/{cart}"))).timeout(Duration::from_millis(300)).send().await;
    assert!(impatient.is_err(), "the client gave up");
    tokio::time::sleep(Duration::from_millis(300)).await;
    locker.execute_unprepared("COMMIT").await.expect("unlocked");
    let metrics = app.client.get(app.url("/metrics")).send().await.expect("answered").text().await.expect("text");
    let abandoned = metrics
        .lines()
        .find(|line| line.starts_with(r#"http_requests_abandoned_total{method="GET",route="/api/v1/carts/{cart_id}"}"#))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|n| n.parse::<f64>().ok());
    assert!(abandoned.is_some_and(|n| n >= 1.0), "{metrics}");
}

/// A keyed request whose client went away (its handler is dropped) changed
/// nothing, and its key is free at once: the retry runs, it does not wait
/// for the claim's lease.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[cfg_attr(not(postgres_tests), ignore = "needs SHOP_TEST_POSTGRES_URL")]
async fn an_abandoned_keyed_request_frees_its_key() {
    let Some(database) = TestDatabase::postgres().await else {
        return;
    };
    let app = TestApp::spawn(&database).await;
    let tea = product(&app, "Tea").await;
    let cart = cart(&app).await;
    let items = format!("/api/v1/carts/{cart}/items");
    let k = key("abandoned");
    let body = json!({"product_id": tea, "quantity": 1});
    let locker = Database::connect(&database.settings.database.url).await.expect("a second session");
    locker
        .execute_unprepared("SET search_path = homework; BEGIN; LOCK TABLE carts IN ACCESS EXCLUSIVE MODE")
        .await
        .expect("locked");
    let impatient = app
        .client
        .post(app.url(&items))
        .header("idempotency-key", &k)
        .json(&body)
        .timeout(Duration::from_millis(300))
        .send()
        .await;
    assert!(impatient.is_err(), "the client gave up");
    locker.execute_unprepared("COMMIT").await.expect("unlocked");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let retry = parts(post(&app, &items, Some(&k), Some(body)).await).await;
    assert_eq!((retry.0, retry.3), (StatusCode::OK, None), "the retry ran, at once");
    assert_eq!(quantity(&app, &cart).await, (1, 1), "applied once");
}
