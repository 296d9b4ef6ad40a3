//! The database engine (the pooled connection) and the session factory.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use sea_orm::error::SqlxError;
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, RuntimeErr,
    Statement, TransactionTrait,
};
use shaku::{Component, Interface};

/// How to reach the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseOptions {
    /// `sqlite://shop.db?mode=rwc` or `postgres://user@host:5432/db`.
    pub url: String,
    /// PostgreSQL schema that holds every table (ignored on SQLite).
    pub schema: String,
    /// The most pooled connections.
    pub max_connections: u32,
    /// Connections kept open even when idle.
    pub min_connections: u32,
    /// How long opening a connection may take.
    pub connect_timeout: Duration,
    /// How long a request may wait for a pooled connection before it gets 503.
    pub acquire_timeout: Duration,
    /// The longest a statement may run (PostgreSQL's `statement_timeout`) or
    /// wait for a lock (SQLite's busy timeout) before the database gives it up.
    pub statement_timeout: Duration,
    /// Log every SQL statement (at debug level).
    pub log_statements: bool,
    /// PostgreSQL is reached through a pooler in transaction mode (PgBouncer):
    /// see [`connect`].
    pub behind_pooler: bool,
    /// A streaming standby of the same database for catalog reads (see
    /// [`connect_replica`]).
    pub replica_url: Option<String>,
}

/// How long a pooled connection may sit idle before it is pinged on its next use.
const IDLE_BEFORE_PING: Duration = Duration::from_secs(1);

/// Opens the connection pool described by `options`.
///
/// On PostgreSQL every pooled connection uses `options.schema` as its search
/// path, so unqualified table names (and the migrations' table) live there.
///
/// Behind a pooler in transaction mode a session setting reaches whichever
/// server connection the pooler picked, and a startup parameter is dropped
/// or refused, so nothing is sent per session: the server side must give
/// the search path and a statement timeout itself (`ALTER ROLE … SET`, or
/// PgBouncer's `connect_query`), and one connection checks that it does
/// before the pool is handed out. Named prepared statements stay on, which
/// PgBouncer ≥ 1.21 keeps apart per client (`max_prepared_statements`).
///
/// On SQLite the file is opened in WAL mode with a busy timeout, so readers
/// don't block the writer and writers wait instead of failing.
pub async fn connect(options: &DatabaseOptions) -> Result<DatabaseConnection, DbErr> {
    open_pool(options, options.max_connections).await
}

/// For a SQLite file, a second pool of one connection that every write goes
/// through; `None` for other databases, where the main pool writes.
///
/// SQLite admits one writer at a time. Writers on several pooled connections
/// queue in SQLite's busy handler, which sleeps in steps of up to 100 ms (p99
/// of 0.6 s in the benchmark); one writer connection queues them in the pool
/// instead, in order and without sleeping. Readers keep the main pool (WAL).
pub async fn connect_writer(options: &DatabaseOptions) -> Result<Option<DatabaseConnection>, DbErr> {
    let file = options.url.starts_with("sqlite:") && !is_in_memory(&options.url);
    if file {
        open_pool(&DatabaseOptions { min_connections: 1, ..options.clone() }, 1).await.map(Some)
    } else {
        Ok(None)
    }
}

/// The pool on `options.replica_url`, if one is set: a hot standby that
/// catalog reads go to. A standby that cannot be reached at start does not
/// stop the service: the pool then connects when it can, and until then
/// catalog reads go to the primary (see [`ReplicaPool`]).
pub async fn connect_replica(options: &DatabaseOptions) -> Result<Option<DatabaseConnection>, DbErr> {
    let Some(url) = &options.replica_url else {
        return Ok(None);
    };
    let replica = DatabaseOptions {
        url: url.clone(),
        // A read that the primary can serve does not wait long for the standby.
        acquire_timeout: options.acquire_timeout.min(REPLICA_ACQUIRE_TIMEOUT),
        connect_timeout: options.connect_timeout.min(REPLICA_ACQUIRE_TIMEOUT),
        ..options.clone()
    };
    let pool = match open_pool(&replica, replica.max_connections).await {
        Ok(pool) => pool,
        Err(err) if crate::seaorm::is_unreachable(&err) => {
            tracing::warn!(error = %describe(&err), "the replica does not answer; catalog reads go to the primary until it does");
            let mut lazy = connect_options(&replica, replica.max_connections);
            lazy.connect_lazy(true).min_connections(0);
            Database::connect(lazy).await?
        }
        Err(err) => return Err(err),
    };
    Ok(Some(pool))
}

/// How long a request waits for a replica connection before it reads on the primary.
const REPLICA_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(1);

/// How long catalog reads stay on the primary after the replica could not be reached.
const REPLICA_RETRY_AFTER_MS: u64 = 5_000;

/// The replica's pool, and whether it is worth asking: after a read could not
/// reach it, reads go to the primary for [`REPLICA_RETRY_AFTER_MS`], then one
/// tries the replica again (no background task; a readiness probe that
/// reaches it ends the wait early).
#[derive(Debug)]
pub struct ReplicaPool {
    pool: DatabaseConnection,
    opened: Instant,
    /// Milliseconds after `opened` before which the replica is not asked.
    down_until_ms: AtomicU64,
}

impl ReplicaPool {
    /// Over an opened (or lazily connecting) pool on the standby.
    pub fn new(pool: DatabaseConnection) -> Self {
        Self { pool, opened: Instant::now(), down_until_ms: 0.into() }
    }

    /// The pool, unless the replica was found unreachable a moment ago.
    pub fn answering(&self) -> Option<&DatabaseConnection> {
        (self.elapsed_ms() >= self.down_until_ms.load(Ordering::Relaxed)).then_some(&self.pool)
    }

    /// The pool, whatever its state (for the readiness probe).
    pub fn pool(&self) -> &DatabaseConnection {
        &self.pool
    }

    /// Marks the replica unreachable (`false`) for a while, or answering again.
    pub fn set_answering(&self, answering: bool) {
        let until = if answering { 0 } else { self.elapsed_ms() + REPLICA_RETRY_AFTER_MS };
        let previous = self.down_until_ms.swap(until, Ordering::Relaxed);
        if !answering && previous <= self.elapsed_ms() {
            tracing::warn!(
                for_ms = REPLICA_RETRY_AFTER_MS,
                "the replica does not answer: catalog reads go to the primary"
            );
        }
    }

    fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.opened.elapsed().as_millis()).unwrap_or(u64::MAX)
    }
}

fn is_in_memory(url: &str) -> bool {
    url.starts_with("sqlite::memory:") || url.contains("mode=memory")
}

/// How the service's pools connect: sizes, timeouts, and the session settings
/// (sent unless `behind_pooler`).
fn connect_options(options: &DatabaseOptions, max_connections: u32) -> ConnectOptions {
    let lock_wait = options.statement_timeout;
    let mut connect = ConnectOptions::new(options.url.clone());
    connect
        .max_connections(max_connections)
        .min_connections(options.min_connections.min(max_connections))
        .connect_timeout(options.connect_timeout)
        .acquire_timeout(options.acquire_timeout)
        // A ping before every acquire doubles the round trips; only a connection
        // that sat idle is checked, so one the server dropped meanwhile (a
        // restart) is replaced before a request meets it.
        .test_before_acquire_if_idle_for(IDLE_BEFORE_PING)
        .sqlx_logging(options.log_statements)
        .sqlx_logging_level(log::LevelFilter::Debug)
        .map_sqlx_sqlite_opts(move |sqlite| {
            sqlite
                .journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                .busy_timeout(lock_wait)
                .foreign_keys(true)
        });
    if options.behind_pooler {
        // sqlx's one optional startup parameter; the service reads no floats.
        connect.map_sqlx_postgres_opts(|postgres| postgres.extra_float_digits(None));
    } else {
        connect.statement_timeout(options.statement_timeout).set_schema_search_path(options.schema.clone());
    }
    if is_in_memory(&options.url) {
        // An in-memory SQLite database lives only while a connection is open.
        connect.min_connections(1).idle_timeout(None).max_lifetime(None);
    }
    connect
}

async fn open_pool(options: &DatabaseOptions, max_connections: u32) -> Result<DatabaseConnection, DbErr> {
    let pool = match Database::connect(connect_options(options, max_connections)).await {
        Err(DbErr::Conn(RuntimeErr::SqlxError(err))) if matches!(*err, SqlxError::PoolTimedOut) => {
            return Err(why_no_connection(options).await.unwrap_or(DbErr::Conn(RuntimeErr::SqlxError(err))));
        }
        opened => opened?,
    };
    if options.behind_pooler && pool.get_database_backend() == DbBackend::Postgres {
        check_server_settings(&pool, options).await?;
    }
    Ok(pool)
}

/// Behind a pooler, the settings the service would otherwise send per
/// session must come from the server: its search path exactly the schema,
/// and a statement timeout no longer than the service's (so a statement is
/// given up before its request answers). One line says what is off and the
/// statement that fixes it.
async fn check_server_settings(pool: &DatabaseConnection, options: &DatabaseOptions) -> Result<(), DbErr> {
    let query = "SELECT current_user::text, current_database()::text, current_setting('search_path'), \
                 (SELECT setting::bigint FROM pg_settings WHERE name = 'statement_timeout')";
    let row = pool
        .query_one_raw(Statement::from_string(DbBackend::Postgres, query))
        .await?
        .ok_or_else(|| DbErr::Custom("the server settings query returned no row".to_owned()))?;
    let (user, database, search_path, timeout_ms): (String, String, String, i64) = row.try_get_many_by_index()?;
    let needed_ms = i64::try_from(options.statement_timeout.as_millis()).unwrap_or(i64::MAX);
    let schema = &options.schema;
    let mut wrong = Vec::new();
    if search_path.split(',').map(|name| name.trim().trim_matches('"')).ne([schema.as_str()]) {
        wrong.push(format!("search_path is `{search_path}`, needs `{schema}`"));
    }
    if timeout_ms == 0 || timeout_ms > needed_ms {
        wrong.push(format!("statement_timeout is {timeout_ms} ms, needs 1..={needed_ms} ms"));
    }
    if wrong.is_empty() {
        return Ok(());
    }
    Err(DbErr::Custom(format!(
        "behind a pooler (database.behind_pooler) the server must give the session settings: {}. Run \
         `ALTER ROLE \"{user}\" IN DATABASE \"{database}\" SET search_path = {schema}; ALTER ROLE \"{user}\" IN \
         DATABASE \"{database}\" SET statement_timeout = '{needed_ms}ms'` (or set both in PgBouncer's connect_query)",
        wrong.join("; ")
    )))
}

/// A pool that timed out while opening hides why it got no connection
/// ("pool timed out"); one connection opened directly says (refused,
/// unknown host, no such database, authentication).
async fn why_no_connection(options: &DatabaseOptions) -> Option<DbErr> {
    use sea_orm::sqlx::{Connection, PgConnection, SqliteConnection};
    let url = options.url.as_str();
    let direct = async {
        if url.starts_with("sqlite:") {
            SqliteConnection::connect(url).await.map(drop)
        } else {
            PgConnection::connect(url).await.map(drop)
        }
    };
    match tokio::time::timeout(options.connect_timeout, direct).await {
        Ok(Err(err)) => Some(DbErr::Conn(RuntimeErr::SqlxError(Arc::new(err)))),
        Ok(Ok(())) | Err(_) => None,
    }
}

/// `error` for a person starting the service: the driver's reason without
/// its wrapping ("Connection Error: error returned from database: …"), and
/// what to do about a database that does not exist.
pub fn describe(error: &DbErr) -> String {
    if let DbErr::Custom(message) = error {
        return message.clone();
    }
    let (DbErr::Conn(RuntimeErr::SqlxError(driver))
    | DbErr::Exec(RuntimeErr::SqlxError(driver))
    | DbErr::Query(RuntimeErr::SqlxError(driver))) = error
    else {
        return error.to_string();
    };
    match driver.as_ref() {
        SqlxError::Database(database) if database.code().as_deref() == Some("3D000") => {
            format!("{}; create it first (`createdb <name>`, or CREATE DATABASE)", database.message())
        }
        SqlxError::Database(database) => database.message().to_owned(),
        SqlxError::Io(io) => io.to_string(),
        SqlxError::PoolTimedOut => "no connection within database.connect_timeout_secs".to_owned(),
        other => other.to_string(),
    }
}

/// The database engine: the connection pools of the process (the original's
/// `database_engine`).
pub trait DatabaseEngine: Interface {
    /// The pooled connection (cheap to clone; clones share the pool).
    fn connection(&self) -> &DatabaseConnection;

    /// Where writes go: the one-connection writer pool on a SQLite file, else
    /// the main pool (see [`connect_writer`]).
    fn writer(&self) -> &DatabaseConnection;

    /// The standby for catalog reads, if one is configured.
    fn replica(&self) -> Option<&ReplicaPool>;
}

/// [`DatabaseEngine`] holding SeaORM pools; they are opened before the
/// container is built and passed in as the component's parameters.
#[derive(Component)]
#[shaku(interface = DatabaseEngine)]
pub struct SeaOrmDatabaseEngine {
    /// The connection pool.
    connection: DatabaseConnection,
    /// The writer pool, if the database has one (a SQLite file).
    writer: Option<DatabaseConnection>,
    /// The standby's pool, if one is configured.
    replica: Option<ReplicaPool>,
}

impl DatabaseEngine for SeaOrmDatabaseEngine {
    fn connection(&self) -> &DatabaseConnection {
        &self.connection
    }

    fn writer(&self) -> &DatabaseConnection {
        self.writer.as_ref().unwrap_or(&self.connection)
    }

    fn replica(&self) -> Option<&ReplicaPool> {
        self.replica.as_ref()
    }
}

/// The original's `session_factory` (SQLAlchemy's `sessionmaker`): what the
/// repositories hold instead of a connection. It hands out the connection a
/// statement should run on (the readers' pool or the writer) and opens
/// transactions on the writer, so the choice of pool, and on a SQLite file
/// the one-writer rule, live here and not in every repository.
#[async_trait]
pub trait SessionFactory: Interface {
    /// The connection for reads that are one statement.
    fn connection(&self) -> &DatabaseConnection;
    /// The connection for writes that are one statement (atomic by themselves).
    fn writer(&self) -> &DatabaseConnection;
    /// The standby for reads that may trail the last write (the catalog's),
    /// if one is configured and was not found unreachable a moment ago.
    fn replica(&self) -> Option<&DatabaseConnection>;
    /// A read on [`Self::replica`] could not reach it: reads go to the
    /// primary for a while.
    fn replica_unreachable(&self);
    /// Begins a (writing) transaction; dropping it without commit rolls it back.
    async fn begin(&self) -> Result<DatabaseTransaction, DbErr>;
}

/// [`SessionFactory`] over the injected [`DatabaseEngine`].
#[derive(Component)]
#[shaku(interface = SessionFactory)]
pub struct SeaOrmSessionFactory {
    #[shaku(inject)]
    engine: std::sync::Arc<dyn DatabaseEngine>,
}

#[async_trait]
impl SessionFactory for SeaOrmSessionFactory {
    fn connection(&self) -> &DatabaseConnection {
        self.engine.connection()
    }

    fn writer(&self) -> &DatabaseConnection {
        self.engine.writer()
    }

    fn replica(&self) -> Option<&DatabaseConnection> {
        self.engine.replica().and_then(ReplicaPool::answering)
    }

    fn replica_unreachable(&self) {
        if let Some(replica) = self.engine.replica() {
            replica.set_answering(false);
        }
    }

    async fn begin(&self) -> Result<DatabaseTransaction, DbErr> {
        self.engine.writer().begin().await
    }
}
