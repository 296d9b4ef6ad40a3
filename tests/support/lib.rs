//! Test harness shared by the end-to-end suites: throwaway databases (a SQLite
//! file in a temporary folder, or a fresh PostgreSQL database per test) and the
//! real service started on port 0.
//!
//! PostgreSQL tests use `SHOP_TEST_POSTGRES_URL` (an account that may create
//! databases, e.g. `postgres://postgres@127.0.0.1:5432/postgres`). Without it
//! they are compiled as ignored tests (`build.rs`), so the summary counts them
//! as ignored, except under CI (`CI` set), where they run and fail.
//! Each PostgreSQL test carries
//! `#[cfg_attr(not(postgres_tests), ignore = "needs SHOP_TEST_POSTGRES_URL")]`.
//!
//! With `SHOP_TEST_REPLICA_URL` (a hot standby of that server, such as
//! `tests/replica/pair.sh` starts), every service reads its catalog from the
//! test database's copy on the standby (`database.replica_url`); the
//! replica's own tests run only then (`cfg(replica_tests)`).
//!
//! With `SHOP_TEST_BEHIND_POOLER=true` that URL is a pooler in transaction
//! mode (PgBouncer): every service then runs with `database.behind_pooler`,
//! and each test database carries the session settings the service needs
//! (`ALTER DATABASE … SET`), as an operator would give them.

mod proxy;

pub use proxy::TcpProxy;

use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Once};

use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use shop::app::Server;
use shop::container::Storage;
use shop::settings::Settings;
use tempfile::TempDir;
use tokio::sync::oneshot;

/// A database that exists for one test.
pub struct TestDatabase {
    /// Settings pointing at it (everything else at its defaults, port 0).
    pub settings: Settings,
    _dir: Option<TempDir>,
    postgres: Option<(String, String)>, // (admin URL, database name) to drop afterwards
}

impl TestDatabase {
    /// A new SQLite file in a temporary folder.
    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("shop.db").display());
        Self { settings: settings_for(url), _dir: Some(dir), postgres: None }
    }

    /// A new, empty PostgreSQL database, or `None` (with a notice) when no
    /// server is configured outside CI.
    pub async fn postgres() -> Option<Self> {
        let admin_url = postgres_admin_url()?;
        let name = format!("shop_test_{}", uuid::Uuid::new_v4().simple());
        let admin = Database::connect(&admin_url)
            .await
            .unwrap_or_else(|e| panic!("cannot reach PostgreSQL at SHOP_TEST_POSTGRES_URL={admin_url}: {e}"));
        admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await.expect("CREATE DATABASE");
        admin.close().await.ok();
        let url = replace_database(&admin_url, &name);
        let mut settings = settings_for(url);
        settings.database.behind_pooler = behind_pooler();
        if let Some(standby) = std::env::var("SHOP_TEST_REPLICA_URL").ok().filter(|url| !url.is_empty()) {
            settings.database.replica_url = replace_database(&standby, &name);
        }
        let database = Self { settings, _dir: None, postgres: Some((admin_url, name)) };
        database.give_session_settings().await;
        Some(database)
    }

    /// Behind a pooler, the server side gives what the service would set per
    /// session: the search path, and the statement timeout of the current
    /// settings (tests shorten it before they connect). New server
    /// connections of the database take them.
    pub async fn give_session_settings(&self) {
        let Some((admin_url, name)) = self.postgres.as_ref().filter(|_| self.settings.database.behind_pooler) else {
            return;
        };
        let options = self.settings.database_options();
        let admin = Database::connect(admin_url).await.expect("an admin session");
        admin
            .execute_unprepared(&format!(
                "ALTER DATABASE {name} SET search_path = {}; ALTER DATABASE {name} SET statement_timeout = '{}ms'",
                options.schema,
                options.statement_timeout.as_millis()
            ))
            .await
            .expect("ALTER DATABASE … SET");
        admin.close().await.ok();
    }

    /// The pool, migrated, as the service would open it.
    pub async fn connect(&self) -> DatabaseConnection {
        self.give_session_settings().await;
        let connection =
            shop_infrastructure::seaorm::connect(&self.settings.database_options()).await.expect("connect");
        Migrator::up(&connection, None).await.expect("migrate");
        connection
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some((admin_url, name)) = self.postgres.take() else {
            return;
        };
        // Drop runs outside async; a helper thread with its own runtime does the async work.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            runtime.block_on(async {
                let admin = Database::connect(&admin_url).await.ok()?;
                admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await.ok()?;
                admin.close().await.ok()
            })
        })
        .join();
    }
}

impl TestDatabase {
    /// The `host:port` of the database server (PostgreSQL).
    pub fn server_address(&self) -> SocketAddr {
        address_of(&self.settings.database.url)
    }

    /// Settings that reach this database through `proxy` instead, and no
    /// replica: what cutting the proxy shows is the primary's outage.
    pub fn settings_through(&self, proxy: &TcpProxy) -> Settings {
        let mut settings = self.settings.clone();
        settings.database.url = through(&settings.database.url, proxy);
        settings.database.replica_url.clear();
        settings
    }

    /// The `host:port` of the replica (`SHOP_TEST_REPLICA_URL`).
    pub fn replica_address(&self) -> SocketAddr {
        address_of(&self.settings.database.replica_url)
    }
}

/// `url` with its `host:port` replaced by the proxy's.
pub fn through(url: &str, proxy: &TcpProxy) -> String {
    let (before, _, after) = split_url(url);
    format!("{before}{}{after}", proxy.address)
}

fn address_of(url: &str) -> SocketAddr {
    let (_, host_port, _) = split_url(url);
    std::net::ToSocketAddrs::to_socket_addrs(host_port)
        .ok()
        .and_then(|mut addresses| addresses.next())
        .expect("the database URL's host:port resolves")
}

/// `postgres://user@host:port/db` → (`postgres://user@`, `host:port`, `/db`).
fn split_url(url: &str) -> (&str, &str, &str) {
    let authority_start = url.find("://").map_or(0, |i| i + 3);
    let host_start = url[authority_start..].rfind('@').map_or(authority_start, |i| authority_start + i + 1);
    let host_end = url[host_start..].find(['/', '?']).map_or(url.len(), |i| host_start + i);
    (&url[..host_start], &url[host_start..host_end], &url[host_end..])
}

fn settings_for(url: String) -> Settings {
    let mut settings = Settings::defaults().expect("defaults are valid");
    settings.database.url = url;
    settings.server.port = 0;
    settings
}

/// Whether `SHOP_TEST_BEHIND_POOLER` says the PostgreSQL URL is a pooler.
fn behind_pooler() -> bool {
    std::env::var("SHOP_TEST_BEHIND_POOLER").is_ok_and(|value| value == "true" || value == "1")
}

/// The admin URL from `SHOP_TEST_POSTGRES_URL`; `None` (skip) only outside CI.
pub fn postgres_admin_url() -> Option<String> {
    match std::env::var("SHOP_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var_os("CI").is_some() => {
            panic!("CI is set but SHOP_TEST_POSTGRES_URL is not: the PostgreSQL tests must run in CI")
        }
        _ => {
            static NOTICE: Once = Once::new();
            NOTICE.call_once(|| {
                // Written past the test harness's capture, so it shows in a passing run.
                let _ = writeln!(
                    std::io::stderr(),
                    "\nNOTICE: PostgreSQL tests SKIPPED. To run them: \
                     SHOP_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres cargo test --workspace\n"
                );
            });
            None
        }
    }
}

fn replace_database(url: &str, database: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let base = match base.rfind('/') {
        Some(slash) if slash > base.find("://").map_or(0, |i| i + 2) => &base[..slash],
        _ => base,
    };
    match query {
        Some(query) => format!("{base}/{database}?{query}"),
        None => format!("{base}/{database}"),
    }
}

/// The service running on a free port of 127.0.0.1, stopped when dropped.
pub struct TestApp {
    /// `http://127.0.0.1:port`
    pub base: String,
    /// A client for it.
    pub client: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    handle: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl TestApp {
    /// Starts the service on `database`, migrated first.
    pub async fn spawn(database: &TestDatabase) -> Self {
        Self::spawn_with_connection(database.settings.clone(), database.connect().await).await
    }

    /// Starts the service with these settings over this pool (the writer pool
    /// is opened from the settings).
    pub async fn spawn_with_connection(settings: Settings, connection: DatabaseConnection) -> Self {
        Self::start(Server::with_connection(settings, connection).await.expect("the server starts"))
    }

    /// Starts the service over the given pools (the writer pool too, for tests that watch it).
    pub async fn spawn_with_pools(
        settings: Settings,
        connection: DatabaseConnection,
        writer: Option<DatabaseConnection>,
    ) -> Self {
        Self::start(Server::with_pools(settings, connection, writer).await.expect("the server starts"))
    }

    /// Starts the service over any storage, such as the in-memory one.
    pub async fn spawn_with_storage(settings: Settings, storage: Arc<dyn Storage>) -> Self {
        Self::start(Server::with_storage(settings, storage).await.expect("the server starts"))
    }

    fn start(server: Server) -> Self {
        let address = server.local_addr().expect("bound");
        let (stop, stopped) = oneshot::channel();
        let handle = tokio::spawn(server.run_until(async move {
            let _ = stopped.await;
        }));
        Self {
            base: format!("http://{address}"),
            client: reqwest::Client::new(),
            stop: Some(stop),
            handle: Some(handle),
        }
    }

    /// The absolute URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Stops accepting, drains and waits for the server to finish.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(handle) = self.handle.take() {
            let _ = handle.await;
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A new SQLite file (`Some`, to stand beside [`postgres_database`]).
pub async fn sqlite_database() -> Option<TestDatabase> {
    Some(TestDatabase::sqlite())
}

/// A new PostgreSQL database, as [`TestDatabase::postgres`].
pub async fn postgres_database() -> Option<TestDatabase> {
    TestDatabase::postgres().await
}

/// The service on a new SQLite file, with the file.
pub async fn served_on_sqlite() -> Option<(TestApp, TestDatabase)> {
    let database = TestDatabase::sqlite();
    Some((TestApp::spawn(&database).await, database))
}

/// The service on a new PostgreSQL database, with the database; `None`
/// (with a notice) when no server is configured outside CI.
pub async fn served_on_postgres() -> Option<(TestApp, TestDatabase)> {
    let database = TestDatabase::postgres().await?;
    Some((TestApp::spawn(&database).await, database))
}

/// For each `case(app: &TestApp)`, one test on SQLite (`sqlite::case`) and
/// one on PostgreSQL (`postgres::case`), each with its own service and database.
#[macro_export]
macro_rules! on_both_databases_served {
    ($($case:ident),* $(,)?) => {
        $crate::on_both_databases!(@on sqlite served_on_sqlite, ignored if any(): $($case),*; |(app, _database)| &app);
        $crate::on_both_databases!(
            @on postgres served_on_postgres, ignored if not(postgres_tests): $($case),*; |(app, _database)| &app
        );
    };
}

/// For each `case(database: TestDatabase)`, one test on a new SQLite file
/// (`sqlite::case`) and one on a new PostgreSQL database (`postgres::case`).
#[macro_export]
macro_rules! on_both_databases {
    ($($case:ident),* $(,)?) => {
        $crate::on_both_databases!(@on sqlite sqlite_database, ignored if any(): $($case),*; |database| database);
        $crate::on_both_databases!(
            @on postgres postgres_database, ignored if not(postgres_tests): $($case),*; |database| database
        );
    };
    (@on $backend:ident $open:ident, ignored if $ignored:meta: $($case:ident),*; |$opened:pat_param| $argument:expr) => {
        mod $backend {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[cfg_attr($ignored, ignore = "needs SHOP_TEST_POSTGRES_URL")]
                async fn $case() {
                    if let Some($opened) = $crate::$open().await {
                        super::$case($argument).await;
                    }
                }
            )*
        }
    };
}
