//! The command line: `shop [serve]`, `shop migrate …`.

use clap::{Parser, Subcommand};
use migration::{Migrator, MigratorTrait};

use std::sync::Arc;

use shaku::HasComponent;
use shop_application::ports::ProductRepository;
use shop_application::services::CartService;

use crate::app::{Server, StartError, shutdown_signal};
use crate::container::SeaOrmStorage;
use crate::seed::seed_products;
use crate::settings::Settings;

/// The shop service: a product catalog and shopping carts over HTTP.
///
/// Settings come from the defaults below (compiled in), then the profile
/// SHOP_ENV names (`development`, the default; `production`, compiled in; or
/// `<name>`, read from $SHOP_CONFIG_DIR/<name>.toml, ./config by default),
/// then PORT and DATABASE_URL, then SHOP__SECTION__KEY environment variables
/// (e.g. SHOP__DATABASE__URL, SHOP__SERVER__PORT).
#[derive(Debug, Parser)]
#[command(
    name = "shop",
    version,
    about,
    long_about,
    after_help = EXIT_CODES,
    after_long_help = concat!(
        "Exit codes: 0 success; 1 the command failed (database unreachable, migration failed, address in use…); \
         2 bad usage or invalid settings.\n\nThe settings and their defaults (config/default.toml):\n\n",
        include_str!("../../../config/default.toml")
    )
)]
pub struct Cli {
    /// What to do; `serve` if omitted.
    #[command(subcommand)]
    pub command: Option<Command>,
}

const EXIT_CODES: &str = "Exit codes: 0 success; 1 the command failed (database unreachable, migration failed, \
                          address in use…); 2 bad usage or invalid settings. `shop --help` lists the settings.";

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the HTTP API (the default).
    Serve,
    /// Manage the database schema.
    Migrate {
        /// The migration step.
        #[command(subcommand)]
        action: MigrateAction,
    },
    /// Fill the catalog with a realistic demo catalog; safe to run again.
    Seed {
        /// How many demo products should exist.
        #[arg(long, default_value_t = 50)]
        products: usize,
    },
    /// Print the OpenAPI 3.1 description (what GET /openapi.json serves) and exit.
    Openapi,
    /// Print the GraphQL schema in SDL (what GET /graphql/schema.graphql serves) and exit.
    GraphqlSchema,
    /// Exit 0 if this instance's GET /health/ready answers 200 within 2 s, else 1
    /// (for a container's HEALTHCHECK: the image has no curl).
    Healthcheck,
    /// Maintain carts.
    Carts {
        /// What to do.
        #[command(subcommand)]
        action: CartsAction,
    },
}

/// What `shop carts` does.
#[derive(Debug, Clone, Copy, Subcommand)]
pub enum CartsAction {
    /// Delete every expired cart now (`cart.ttl` after its last change), in
    /// batches; the service also does this every minute.
    Purge,
}

/// What `shop migrate` does.
#[derive(Debug, Clone, Copy, Subcommand)]
pub enum MigrateAction {
    /// Apply every pending migration.
    Up,
    /// Roll back the last applied migration.
    Down,
    /// List migrations and whether each is applied.
    Status,
    /// Drop every table, then apply all migrations (destroys data).
    Fresh,
}

/// Runs the command; errors are for `main` to print.
pub async fn run(cli: Cli, mut settings: Settings) -> Result<(), StartError> {
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            settings.check_for_serving()?;
            if settings.auth.admin_token().is_none() {
                tracing::warn!("no auth.admin_token configured: catalog writes are open to anyone (development only)");
            }
            let stop = shutdown_signal();
            let server = Server::build(settings).await?;
            let address = server.local_addr().map_err(StartError::Serve)?;
            tracing::info!(%address, "serving");
            server.run_until(stop).await.map_err(StartError::Serve)
        }
        Command::Seed { products } => {
            let connection = crate::app::open_database(&settings).await?;
            let storage = SeaOrmStorage::over(connection, None).build();
            let repository: &dyn ProductRepository = storage.resolve_ref();
            let seeded = seed_products(repository, products).await.map_err(|e| StartError::Failed(e.to_string()))?;
            output(&format!("{} demo products created, {} already there\n", seeded.created, seeded.existing))
        }
        Command::Carts { action: CartsAction::Purge } => {
            let connection = crate::app::open_database(&settings).await?;
            let storage = Arc::new(SeaOrmStorage::over(connection, None).build());
            let module = crate::container::module_builder(settings, storage).build();
            let carts: &dyn CartService = module.resolve_ref();
            let purged =
                carts.purge_expired(crate::app::SWEEP_BATCH).await.map_err(|e| StartError::Failed(e.to_string()))?;
            output(&format!("{purged} expired carts deleted\n"))
        }
        Command::Openapi => {
            let document = crate::router::openapi(settings.cart.max_line_quantity)
                .to_pretty_json()
                .map_err(|e| StartError::Failed(e.to_string()))?;
            output(&format!("{document}\n"))
        }
        Command::GraphqlSchema => output(&crate::graphql::sdl()),
        Command::Healthcheck => healthcheck(&settings).await,
        Command::Migrate { action } => {
            settings.database.auto_migrate = false;
            // One connection: `fresh` turns SQLite's foreign keys off with a PRAGMA,
            // which holds only for the connection it ran on.
            settings.database.max_connections = 1;
            settings.database.min_connections = 1;
            let connection = crate::app::open_database(&settings).await?;
            let result = match action {
                MigrateAction::Up => Migrator::up(&connection, None).await,
                MigrateAction::Down => Migrator::down(&connection, Some(1)).await,
                MigrateAction::Status => match status(&connection).await {
                    Ok(lines) => return output(&lines),
                    Err(err) => Err(err),
                },
                MigrateAction::Fresh => Migrator::fresh(&connection).await,
            };
            result.map_err(StartError::Migration)
        }
    }
}

/// Asks the instance these settings describe for `/health/ready` over one
/// HTTP/1 connection; a wildcard host (`0.0.0.0`) is asked on loopback.
async fn healthcheck(settings: &Settings) -> Result<(), StartError> {
    use http_body_util::Empty;
    use hyper_util::rt::TokioIo;

    let host = match settings.server.host {
        std::net::IpAddr::V4(ip) if ip.is_unspecified() => std::net::Ipv4Addr::LOCALHOST.into(),
        std::net::IpAddr::V6(ip) if ip.is_unspecified() => std::net::Ipv6Addr::LOCALHOST.into(),
        ip => ip,
    };
    let address = std::net::SocketAddr::new(host, settings.server.port);
    let ask = async {
        let stream = tokio::net::TcpStream::connect(address).await.map_err(|e| e.to_string())?;
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(|e| e.to_string())?;
        tokio::spawn(connection);
        let request = axum::http::Request::get("/health/ready")
            .header(axum::http::header::HOST, address.to_string())
            .body(Empty::<axum::body::Bytes>::new())
            .map_err(|e| e.to_string())?;
        let response = sender.send_request(request).await.map_err(|e| e.to_string())?;
        Ok::<_, String>(response.status())
    };
    let unhealthy = |why: String| StartError::Failed(format!("http://{address}/health/ready: {why}"));
    match tokio::time::timeout(std::time::Duration::from_secs(2), ask).await {
        Ok(Ok(status)) if status.is_success() => output(&format!("http://{address}/health/ready: {status}\n")),
        Ok(Ok(status)) => Err(unhealthy(status.to_string())),
        Ok(Err(why)) => Err(unhealthy(why)),
        Err(_) => Err(unhealthy("no answer within 2 s".into())),
    }
}

/// Each migration and whether it is applied, one per line.
async fn status(connection: &sea_orm::DatabaseConnection) -> Result<String, sea_orm::DbErr> {
    Migrator::install(connection).await?;
    let migrations = Migrator::get_migration_with_status(connection).await?;
    Ok(migrations.iter().map(|migration| format!("{}\t{}\n", migration.name(), migration.status())).collect())
}

/// Writes what a command prints to stdout. A reader that stopped reading
/// (`shop openapi | head`) is no failure of the command.
fn output(text: &str) -> Result<(), StartError> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush()) {
        Err(err) if err.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(StartError::Failed(format!("cannot write to stdout: {err}")))
        }
        _ => Ok(()),
    }
}
