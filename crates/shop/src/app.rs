//! Starting and stopping the service: open the pool, migrate if asked, build
//! the container, bind, serve until a shutdown signal, drain, close the pool.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::{DatabaseConnection, DbErr};
use tokio::net::TcpListener;

use shaku::HasComponent;
use shop_application::idempotency::IdempotencyService;
use shop_application::services::CartService;
use shop_infrastructure::seaorm::{ReplicaPool, connect_replica};

use crate::container::{AppModule, SeaOrmStorage, Storage, module_builder};
use crate::serve::ConnectionLimits;
use crate::settings::{Settings, SettingsError};

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A setting is invalid.
    #[error(transparent)]
    Settings(#[from] SettingsError),
    /// The database could not be opened.
    #[error("cannot open the database {url}: {}", shop_infrastructure::seaorm::describe(source))]
    Database {
        /// The URL, without its password.
        url: String,
        /// The driver's error.
        source: DbErr,
    },
    /// Migrating failed.
    #[error("cannot migrate the database: {0}")]
    Migration(#[source] DbErr),
    /// Serving failed after the start.
    #[error("serving failed: {0}")]
    Serve(#[source] std::io::Error),
    /// A command other than serving failed.
    #[error("{0}")]
    Failed(String),
    /// The address is taken or not ours.
    #[error("cannot listen on {address}: {source}")]
    Bind {
        /// The address.
        address: SocketAddr,
        /// The OS's error.
        source: std::io::Error,
    },
}

/// Opens the pool and, if `database.auto_migrate` is on, applies pending migrations.
pub async fn open_database(settings: &Settings) -> Result<DatabaseConnection, StartError> {
    let new_file = sqlite_file(&settings.database.url).filter(|file| !file.exists());
    let connection = shop_infrastructure::seaorm::connect(&settings.database_options())
        .await
        .map_err(|source| StartError::Database { url: redact(&settings.database.url), source })?;
    if let Some(file) = new_file {
        tracing::info!(file = %file.display(), "created the database file");
    }
    if settings.database.auto_migrate {
        let pending = Migrator::get_pending_migrations(&connection).await.map_err(StartError::Migration)?.len();
        Migrator::up(&connection, None).await.map_err(StartError::Migration)?;
        if pending > 0 {
            tracing::info!(applied = pending, "migrated the database");
        }
    }
    Ok(connection)
}

/// The file of a SQLite URL (`sqlite://shop.db?mode=rwc` → `shop.db`); `None`
/// for another database or one in memory.
fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    let path = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = path.split('?').next().unwrap_or_default();
    (!path.is_empty() && !path.starts_with(":memory:")).then(|| path.into())
}

/// A bound, ready-to-serve instance of the service.
pub struct Server {
    listener: TcpListener,
    router: axum::Router,
    limits: ConnectionLimits,
    module: Arc<AppModule>,
    pools: Vec<DatabaseConnection>,
    shutdown_timeout: Duration,
}

impl Server {
    /// Opens (and, if asked, migrates) the database and binds the address of `settings`.
    pub async fn build(settings: Settings) -> Result<Self, StartError> {
        let connection = open_database(&settings).await?;
        Self::with_connection(settings, connection).await
    }

    /// Over a pool opened (and migrated) by the caller; the writer pool, where
    /// the database has one, is opened here.
    pub async fn with_connection(settings: Settings, connection: DatabaseConnection) -> Result<Self, StartError> {
        let writer = shop_infrastructure::seaorm::connect_writer(&settings.database_options())
            .await
            .map_err(|source| StartError::Database { url: redact(&settings.database.url), source })?;
        Self::with_pools(settings, connection, writer).await
    }

    /// Over the SeaORM storage on these pools and, if the settings name one,
    /// a replica's pool opened here; all are closed when it stops.
    pub async fn with_pools(
        settings: Settings,
        mut connection: DatabaseConnection,
        mut writer: Option<DatabaseConnection>,
    ) -> Result<Self, StartError> {
        let mut replica = connect_replica(&settings.database_options())
            .await
            .map_err(|source| StartError::Database { url: redact(&settings.database.replica_url), source })?;
        for pool in [Some(&mut connection), writer.as_mut(), replica.as_mut()].into_iter().flatten() {
            crate::telemetry::trace_statements(pool);
        }
        let pools = [Some(connection.clone()), writer.clone(), replica.clone()].into_iter().flatten().collect();
        let storage = SeaOrmStorage::with_replica(connection, writer, replica.map(ReplicaPool::new));
        Self::bind(settings, Arc::new(storage.build()), pools).await
    }

    /// Over any storage, such as the in-memory one.
    pub async fn with_storage(settings: Settings, storage: Arc<dyn Storage>) -> Result<Self, StartError> {
        Self::bind(settings, storage, Vec::new()).await
    }

    async fn bind(
        settings: Settings,
        storage: Arc<dyn Storage>,
        pools: Vec<DatabaseConnection>,
    ) -> Result<Self, StartError> {
        let address = SocketAddr::new(settings.server.host, settings.server.port);
        let listener = TcpListener::bind(address).await.map_err(|source| StartError::Bind { address, source })?;
        let server = &settings.server;
        let request_timeout = Duration::from_secs(server.request_timeout_secs);
        let shutdown_timeout = Duration::from_secs(server.shutdown_timeout_secs);
        let limits = ConnectionLimits {
            header_timeout: Duration::from_secs(server.header_timeout_secs),
            keep_alive_timeout: Duration::from_secs(server.keep_alive_timeout_secs),
            max_connections: max_connections(server.max_connections, settings.database.max_connections),
        };
        let module = Arc::new(module_builder(settings, storage).build());
        let router = crate::router::router(module.clone(), request_timeout);
        Ok(Self { listener, router, limits, module, pools, shutdown_timeout })
    }

    /// Where it listens (useful with port 0).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` completes, then stops accepting, gives in-flight
    /// requests `server.shutdown_timeout_secs` to finish, and closes the pool.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        let sweeper = tokio::spawn(sweep(self.module));
        crate::serve::serve(self.listener, self.router, self.limits, shutdown, self.shutdown_timeout).await;
        sweeper.abort();
        for pool in self.pools {
            if let Err(err) = pool.close().await {
                tracing::warn!(error = %err, "closing a database pool failed");
            }
        }
        tracing::info!("stopped");
        Ok(())
    }
}

/// `server.max_connections`, lowered if the open-files limit would not
/// leave the database pool its descriptors.
fn max_connections(setting: u32, database_connections: u32) -> usize {
    let setting = setting as usize;
    let Some(open_files) = crate::serve::raise_open_files_limit() else {
        return setting;
    };
    let room = open_files.saturating_sub(crate::serve::reserved_descriptors(database_connections));
    let room = usize::try_from(room).unwrap_or(usize::MAX).max(1);
    if room < setting {
        tracing::info!(
            open_files,
            connections = room,
            "connections capped below server.max_connections by the open-files limit"
        );
    }
    setting.min(room)
}

/// How often expired records are swept, and the most deleted in one statement.
const SWEEP_EVERY: Duration = Duration::from_secs(60);
pub(crate) const SWEEP_BATCH: u32 = 1000;

/// Deletes expired carts and idempotency keys now and every [`SWEEP_EVERY`],
/// in bounded batches; several instances sweeping at once only share the work.
async fn sweep(module: Arc<AppModule>) {
    let carts: &dyn CartService = module.resolve_ref();
    let keys: &dyn IdempotencyService = module.resolve_ref();
    let mut every = tokio::time::interval(SWEEP_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        swept("carts", carts.purge_expired(SWEEP_BATCH).await);
        swept("idempotency keys", keys.purge_expired(SWEEP_BATCH).await);
    }
}

fn swept(what: &'static str, result: Result<u64, shop_application::StorageError>) {
    match result {
        Ok(0) => {}
        Ok(deleted) => tracing::info!(deleted, what, "expired records deleted"),
        Err(err) => tracing::warn!(error = %err, what, "sweeping expired records failed; trying again later"),
    }
}

/// Resolves on SIGTERM or Ctrl-C (SIGINT). The handlers are installed when
/// this is called, not when the future is first polled, so a signal sent as
/// soon as the service says it is serving is not lost.
pub fn shutdown_signal() -> impl Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{Signal, SignalKind, signal};
        async fn received(signal: Option<Signal>) {
            match signal {
                Some(mut signal) => drop(signal.recv().await),
                None => std::future::pending().await,
            }
        }
        let (terminate, interrupt) = (signal(SignalKind::terminate()).ok(), signal(SignalKind::interrupt()).ok());
        async move {
            tokio::select! {
                () = received(terminate) => {},
                () = received(interrupt) => {},
            }
        }
    }
    #[cfg(not(unix))]
    async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// The URL with any password replaced, fit for logs: in the user part
/// (`user:***@host`) and in the query (`?password=***`).
pub fn redact(url: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(base, query)| (base, Some(query)));
    let base = match (base.find("://"), base.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => match base[scheme_end + 3..at].split_once(':') {
            Some((user, _password)) => format!("{}{user}:***{}", &base[..scheme_end + 3], &base[at..]),
            None => base.to_owned(),
        },
        _ => base.to_owned(),
    };
    let Some(query) = query else {
        return base;
    };
    let pairs: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) if name.eq_ignore_ascii_case("password") => format!("{name}=***"),
            _ => pair.to_owned(),
        })
        .collect();
    format!("{base}?{}", pairs.join("&"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_file_of_a_sqlite_url() {
        let file = |url: &str| super::sqlite_file(url).map(|path| path.display().to_string());
        assert_eq!(file("sqlite://shop.db?mode=rwc").as_deref(), Some("shop.db"));
        assert_eq!(file("sqlite:///var/lib/shop/shop.db").as_deref(), Some("/var/lib/shop/shop.db"));
        assert_eq!(file("sqlite::memory:"), None);
        assert_eq!(file("postgres://db/shop"), None);
    }

    #[test]
    fn redacts_passwords_only() {
        assert_eq!(super::redact("postgres://shop:s3cret@db:5432/shop"), "postgres://shop:***@db:5432/shop");
        assert_eq!(super::redact("postgres://postgres@127.0.0.1/test"), "postgres://postgres@127.0.0.1/test");
        assert_eq!(super::redact("sqlite://shop.db?mode=rwc"), "sqlite://shop.db?mode=rwc");
        assert_eq!(
            super::redact("postgres://shop@db/shop?sslmode=require&Password=s3cret"),
            "postgres://shop@db/shop?sslmode=require&Password=***"
        );
    }
}
