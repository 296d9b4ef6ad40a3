//! Settings, layered like zero2prod's: the compiled-in `config/default.toml`,
//! then the profile `SHOP_ENV` names (`production` is compiled in too; any
//! other `<name>` is `$SHOP_CONFIG_DIR/<name>.toml`, by default in `./config`,
//! and must exist), then the platform's `PORT` and `DATABASE_URL`, then
//! environment variables `SHOP__SECTION__KEY`. A bad value stops the start
//! with one line naming it.

use std::net::IpAddr;

use ipnet::IpNet;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use config::{Config, Environment, File, FileFormat};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer};
use shop_domain::{CartLimits, Currency, MaxLineQuantity, MaxLines};
use shop_infrastructure::seaorm::DatabaseOptions;

const DEFAULTS: &str = include_str!("../../../config/default.toml");
/// The production profile, compiled in: it must not depend on where the binary runs.
const PRODUCTION: &str = include_str!("../../../config/production.toml");

/// Every setting of the service.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// `[server]`
    pub server: ServerSettings,
    /// `[database]`
    pub database: DatabaseSettings,
    /// `[shop]`
    pub shop: ShopSettings,
    /// `[cart]`
    pub cart: CartSettings,
    /// `[log]`
    pub log: LogSettings,
    /// `[auth]`
    pub auth: AuthSettings,
    /// `[idempotency]`
    pub idempotency: IdempotencySettings,
    /// `[rate_limit]`
    pub rate_limit: RateLimitSettings,
    /// `[graphql]`
    pub graphql: GraphQlSettings,
    /// `[telemetry]`
    pub telemetry: TelemetrySettings,
    /// The profile these settings were loaded for (`SHOP_ENV`).
    #[serde(skip)]
    pub profile: String,
}

/// `[server]`: where and how the HTTP server listens.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    /// Address to bind, `127.0.0.1` by default.
    pub host: IpAddr,
    /// Port to bind, 8080 by default; 0 picks a free one.
    pub port: u16,
    /// Seconds a request may take.
    pub request_timeout_secs: u64,
    /// Seconds in-flight requests get to finish at shutdown.
    pub shutdown_timeout_secs: u64,
    /// Seconds a client gets to send a request's head.
    pub header_timeout_secs: u64,
    /// Seconds an idle keep-alive connection is kept open.
    pub keep_alive_timeout_secs: u64,
    /// The most connections open at once; more wait to be accepted.
    pub max_connections: u32,
    /// Proxies (addresses or networks, `10.0.0.0/8`) whose `X-Forwarded-For`
    /// names the client; from any other peer, the peer is the client.
    #[serde(deserialize_with = "networks")]
    pub trusted_proxies: Vec<IpNet>,
    /// Origins (`https://app.example`) whose browser pages may call the API
    /// (CORS); `*` for any; empty, the default, for none.
    #[serde(deserialize_with = "origins")]
    pub cors_allowed_origins: Vec<String>,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            host: IpAddr::from([127, 0, 0, 1]),
            port: 8080,
            request_timeout_secs: 30,
            shutdown_timeout_secs: 20,
            header_timeout_secs: 10,
            keep_alive_timeout_secs: 60,
            max_connections: 10_000,
            trusted_proxies: Vec::new(),
            cors_allowed_origins: Vec::new(),
        }
    }
}

/// `[database]`: which database, and the pool.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    /// `sqlite://…` or `postgres://…`.
    pub url: String,
    /// PostgreSQL schema of the tables.
    pub schema: String,
    /// Apply pending migrations at start.
    pub auto_migrate: bool,
    /// Pool size.
    pub max_connections: u32,
    /// Connections kept open.
    pub min_connections: u32,
    /// Seconds to open a connection.
    pub connect_timeout_secs: u64,
    /// Seconds to wait for a pooled connection.
    pub acquire_timeout_secs: u64,
    /// Log every statement at debug level.
    pub log_statements: bool,
    /// PostgreSQL is reached through PgBouncer in transaction mode.
    pub behind_pooler: bool,
    /// A hot standby for catalog reads (`postgres://…`); empty for none.
    pub replica_url: String,
}

impl DatabaseSettings {
    /// Whether the URL names a PostgreSQL database.
    pub fn is_postgres(&self) -> bool {
        is_postgres_url(&self.url)
    }
}

fn is_postgres_url(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// `[shop]`
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShopSettings {
    /// The currency, from its ISO 4217 code.
    #[serde(deserialize_with = "currency")]
    pub currency: Currency,
}

/// `[cart]`
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CartSettings {
    /// The per-line cap.
    #[serde(deserialize_with = "max_line_quantity")]
    pub max_line_quantity: MaxLineQuantity,
    /// The most lines (distinct products) a cart may hold.
    #[serde(deserialize_with = "max_lines")]
    pub max_lines: MaxLines,
    /// How long a cart lives after its last change (`30d`, `12h`, `90s`).
    #[serde(with = "humantime_serde")]
    pub ttl: Duration,
}

impl CartSettings {
    /// The cap of units and the cap of lines, together.
    pub fn limits(&self) -> CartLimits {
        CartLimits { max_line_quantity: self.max_line_quantity, max_lines: self.max_lines }
    }
}

/// Addresses (`10.0.0.1`) or networks (`10.0.0.0/8`).
fn networks<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<IpNet>, D::Error> {
    Vec::<String>::deserialize(deserializer)?
        .iter()
        .map(|text| {
            let text = text.trim();
            text.parse::<IpNet>().or_else(|_| text.parse::<IpAddr>().map(IpNet::from)).map_err(|_| {
                D::Error::custom(format!("`{text}` is neither an address nor a network such as 10.0.0.0/8"))
            })
        })
        .collect()
}

/// `*`, or origins as browsers send them: `scheme://host[:port]`, nothing after.
fn origins<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    Vec::<String>::deserialize(deserializer)?
        .into_iter()
        .map(|text| {
            let text = text.trim().to_owned();
            let uri = text.parse::<axum::http::Uri>().ok();
            let origin = uri.as_ref().and_then(|uri| Some((uri.scheme_str()?, uri.authority()?)));
            match origin {
                _ if text == "*" => Ok(text),
                Some((scheme @ ("http" | "https"), authority)) if text == format!("{scheme}://{authority}") => Ok(text),
                _ => Err(D::Error::custom(format!(
                    "`{text}` is not an origin such as https://app.example (no path, no trailing slash) or *"
                ))),
            }
        })
        .collect()
}

/// Settings are parsed into the domain's own types once, here; a value the
/// domain refuses stops the start with the domain's reason.
fn currency<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Currency, D::Error> {
    Currency::new(&String::deserialize(deserializer)?).map_err(D::Error::custom)
}

fn max_lines<'de, D: Deserializer<'de>>(deserializer: D) -> Result<MaxLines, D::Error> {
    let max = u32::deserialize(deserializer)?;
    MaxLines::new(max)
        .ok_or_else(|| D::Error::custom(format!("must be between 1 and {}, got {max}", MaxLines::CEILING)))
}

fn max_line_quantity<'de, D: Deserializer<'de>>(deserializer: D) -> Result<MaxLineQuantity, D::Error> {
    let max = u32::deserialize(deserializer)?;
    MaxLineQuantity::new(max)
        .ok_or_else(|| D::Error::custom(format!("must be between 1 and {}, got {max}", MaxLineQuantity::CEILING)))
}

/// `[idempotency]`: retried writes with an `Idempotency-Key`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdempotencySettings {
    /// How long a write's answer is kept for replays (`24h`, `90m`, …).
    #[serde(with = "humantime_serde")]
    pub ttl: Duration,
}

/// `[rate_limit]`: per client address, on writes.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitSettings {
    /// Whether writes are limited at all.
    pub enabled: bool,
    /// Writes per second a client may sustain.
    pub writes_per_second: u32,
    /// Writes a client may send at once, beyond the sustained rate.
    pub burst: u32,
    /// Carts a client may create per minute.
    pub carts_per_minute: u32,
}

/// `[graphql]`
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GraphQlSettings {
    /// Whether introspection, the SDL endpoint and the IDE are served.
    pub introspection: bool,
}

/// `[log]`
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    /// Output format.
    pub format: LogFormat,
}

/// `[telemetry]`: OpenTelemetry traces, off unless an endpoint is set.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelemetrySettings {
    /// Base URL of an OTLP/HTTP collector (`http://127.0.0.1:4318`); traces
    /// go to its `/v1/traces`. Empty: no traces.
    #[serde(deserialize_with = "collector")]
    pub otlp_endpoint: String,
}

impl TelemetrySettings {
    /// Where traces go, if anywhere.
    pub fn otlp_endpoint(&self) -> Option<&str> {
        (!self.otlp_endpoint.is_empty()).then_some(self.otlp_endpoint.as_str())
    }
}

/// Empty, or an `http://` URL (`https://` needs TLS, which the exporter is built without).
fn collector<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    let text = String::deserialize(deserializer)?.trim().trim_end_matches('/').to_owned();
    let uri = text.parse::<axum::http::Uri>().ok();
    match uri.as_ref().map(|uri| (uri.scheme_str(), uri.authority())) {
        _ if text.is_empty() => Ok(text),
        Some((Some("http"), Some(_))) => Ok(text),
        _ => Err(D::Error::custom(format!(
            "`{text}` is not an OTLP/HTTP collector URL such as http://127.0.0.1:4318 (plain http: run an \
             OpenTelemetry Collector beside the service for TLS)"
        ))),
    }
}

/// `[auth]`
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    /// The bearer token catalog writes need; empty means writes are open.
    pub admin_token: Secret,
}

impl AuthSettings {
    /// The configured token, if any.
    pub fn admin_token(&self) -> Option<&Secret> {
        (!self.admin_token.expose().is_empty()).then_some(&self.admin_token)
    }
}

/// A value that must never reach a log: `Debug` prints `***`.
#[derive(Clone, Default, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// The secret itself, for the one place that compares it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// How log lines look.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Pretty,
    /// One JSON object per line, for log collectors.
    Json,
}

impl TryFrom<String> for LogFormat {
    type Error = String;

    fn try_from(name: String) -> Result<Self, String> {
        match name.as_str() {
            "pretty" => Ok(Self::Pretty),
            "json" => Ok(Self::Json),
            _ => Err(format!("must be `pretty` or `json`, not `{name}`")),
        }
    }
}

/// A setting that stops the start.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// A file or variable could not be read or parsed.
    #[error("invalid configuration: {0}")]
    Load(#[from] config::ConfigError),
    /// `SHOP_ENV` names a profile that is neither built in nor a file.
    #[error(
        "SHOP_ENV={profile}: no profile of that name (built in: development, production; \
         others are read from {path}, which does not exist)"
    )]
    UnknownProfile {
        /// The name.
        profile: String,
        /// Where its file was looked for.
        path: String,
    },
    /// A value has the right type but is not acceptable.
    #[error("invalid setting `{key}`: {reason}")]
    Invalid {
        /// The setting, as `section.key`.
        key: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}

impl Settings {
    /// Loads the settings for the profile named by `SHOP_ENV`, with the
    /// process's environment variables on top.
    pub fn load() -> Result<Self, SettingsError> {
        let vars: HashMap<String, String> = std::env::vars().collect();
        let profile = vars.get("SHOP_ENV").map_or("development", String::as_str);
        let dir = vars.get("SHOP_CONFIG_DIR").map_or_else(|| PathBuf::from("config"), PathBuf::from);
        Self::load_from(&dir, profile, &vars)
    }

    /// The compiled-in defaults alone, ignoring files and the environment.
    pub fn defaults() -> Result<Self, SettingsError> {
        Self::load_from(Path::new("/nonexistent"), "development", &HashMap::new())
    }

    /// Loads the compiled-in defaults, then the profile `profile` (a file
    /// `{dir}/{profile}.toml` unless built in), then `vars`: `PORT` and
    /// `DATABASE_URL` (the platform conventions), then `SHOP__…`.
    pub fn load_from(dir: &Path, profile: &str, vars: &HashMap<String, String>) -> Result<Self, SettingsError> {
        let overlay = match profile {
            "development" => String::new(),
            "production" => PRODUCTION.to_owned(),
            name => {
                let path = dir.join(format!("{name}.toml"));
                std::fs::read_to_string(&path).map_err(|_| SettingsError::UnknownProfile {
                    profile: name.to_owned(),
                    path: std::path::absolute(&path).unwrap_or(path).display().to_string(),
                })?
            }
        };
        let platform: HashMap<String, String> = [("PORT", "server__port"), ("DATABASE_URL", "database__url")]
            .into_iter()
            .filter_map(|(var, key)| vars.get(var).map(|value| (key.to_owned(), value.clone())))
            .collect();
        let mut settings: Self = Config::builder()
            .add_source(File::from_str(DEFAULTS, FileFormat::Toml))
            .add_source(File::from_str(&overlay, FileFormat::Toml))
            .add_source(Environment::default().separator("__").try_parsing(true).source(Some(platform)))
            .add_source(
                Environment::with_prefix("SHOP")
                    .prefix_separator("__")
                    .separator("__")
                    .try_parsing(true)
                    .list_separator(",")
                    .with_list_parse_key("server.trusted_proxies")
                    .with_list_parse_key("server.cors_allowed_origins")
                    .source(Some(vars.clone())),
            )
            .build()?
            .try_deserialize()?;
        settings.profile = profile.to_owned();
        settings.validate()?;
        Ok(settings)
    }

    /// What serving in production needs besides valid settings: a shared
    /// database, the admin token, migrations as their own step. Commands
    /// that serve nothing (`openapi`, `migrate`, …) do not need them.
    pub fn check_for_serving(&self) -> Result<(), SettingsError> {
        if self.profile != "production" {
            return Ok(());
        }
        if self.auth.admin_token().is_none() {
            return invalid("auth.admin_token", "is required in production (SHOP__AUTH__ADMIN_TOKEN)");
        }
        if !self.database.is_postgres() {
            return invalid(
                "database.url",
                "must name a PostgreSQL database in production (SHOP__DATABASE__URL or DATABASE_URL)",
            );
        }
        if self.database.auto_migrate {
            return invalid("database.auto_migrate", "must be false in production: run `shop migrate up` first");
        }
        Ok(())
    }

    fn validate(&self) -> Result<(), SettingsError> {
        let db = &self.database;
        if !(db.is_postgres() || db.url.starts_with("sqlite:")) {
            return invalid("database.url", "must start with sqlite:, postgres:// or postgresql://");
        }
        let replica_fits = db.is_postgres() && is_postgres_url(&db.replica_url);
        if !db.replica_url.is_empty() && !replica_fits {
            return invalid("database.replica_url", "must name a PostgreSQL standby of a PostgreSQL database.url");
        }
        if db.max_connections == 0 {
            return invalid("database.max_connections", "must be at least 1");
        }
        if db.min_connections > db.max_connections {
            return invalid("database.min_connections", "must not exceed database.max_connections");
        }
        if db.schema.is_empty() || !db.schema.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return invalid("database.schema", "must be a plain identifier (letters, digits, _)");
        }
        for (key, value) in [
            ("server.header_timeout_secs", self.server.header_timeout_secs),
            ("server.keep_alive_timeout_secs", self.server.keep_alive_timeout_secs),
            ("server.max_connections", u64::from(self.server.max_connections)),
        ] {
            if value == 0 {
                return invalid(key, "must be at least 1");
            }
        }
        if self.server.request_timeout_secs <= db.acquire_timeout_secs {
            // What is left of a request after waiting for a connection is its statements' time.
            return invalid("server.request_timeout_secs", "must be longer than database.acquire_timeout_secs");
        }
        if self.idempotency.ttl < Duration::from_secs(1) {
            return invalid("idempotency.ttl", "must be at least 1s");
        }
        if self.cart.ttl < Duration::from_secs(1) {
            return invalid("cart.ttl", "must be at least 1s");
        }
        let limits = &self.rate_limit;
        for (key, value) in [
            ("rate_limit.writes_per_second", limits.writes_per_second),
            ("rate_limit.burst", limits.burst),
            ("rate_limit.carts_per_minute", limits.carts_per_minute),
        ] {
            if value == 0 {
                return invalid(key, "must be at least 1");
            }
        }
        Ok(())
    }
}

impl Settings {
    /// The database adapter's view of these settings. A statement gets what
    /// is left of the request's time once it waited for a connection
    /// (`server.request_timeout_secs` − `database.acquire_timeout_secs`):
    /// the database gives it up before the request times out, so a request
    /// that answers 503 for its time leaves no statement behind to commit later.
    pub fn database_options(&self) -> DatabaseOptions {
        let db = &self.database;
        let request_timeout = Duration::from_secs(self.server.request_timeout_secs);
        let acquire_timeout = Duration::from_secs(db.acquire_timeout_secs);
        DatabaseOptions {
            url: db.url.clone(),
            schema: db.schema.clone(),
            max_connections: db.max_connections,
            min_connections: db.min_connections,
            connect_timeout: Duration::from_secs(db.connect_timeout_secs),
            acquire_timeout,
            statement_timeout: request_timeout.saturating_sub(acquire_timeout),
            log_statements: db.log_statements,
            behind_pooler: db.behind_pooler,
            replica_url: (!db.replica_url.is_empty()).then(|| db.replica_url.clone()),
        }
    }

    /// How long an idempotency key's claim holds: longer than any request
    /// that holds it can run, with a margin for clocks of other instances.
    pub fn idempotency_lease(&self) -> Duration {
        Duration::from_secs(self.server.request_timeout_secs) + Duration::from_secs(2)
    }
}

fn invalid(key: &'static str, reason: &str) -> Result<(), SettingsError> {
    Err(SettingsError::Invalid { key, reason: reason.to_owned() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn vars(vars: &[(&str, &str)]) -> HashMap<String, String> {
        vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn load(pairs: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        Settings::load_from(Path::new("/nonexistent"), "development", &vars(pairs))
    }

    #[test]
    fn defaults_need_no_configuration() {
        let settings = load(&[]).expect("defaults are valid");
        assert_eq!(settings.server.port, 8080);
        assert_eq!(settings.server.host.to_string(), "127.0.0.1");
        assert_eq!(settings.database.url, "sqlite://shop.db?mode=rwc");
        assert!(settings.database.auto_migrate);
        assert_eq!(settings.cart.max_line_quantity.get(), 999);
        assert_eq!(settings.cart.max_lines.get(), 100);
        assert_eq!(settings.cart.ttl, Duration::from_secs(30 * 24 * 3600));
        assert_eq!(settings.log.format, LogFormat::Pretty);
    }

    #[test]
    fn environment_overrides_defaults() {
        let settings =
            load(&[("SHOP__SERVER__PORT", "9000"), ("SHOP__LOG__FORMAT", "json"), ("SHOP__SHOP__CURRENCY", "USD")])
                .expect("valid");
        assert_eq!(settings.server.port, 9000);
        assert_eq!(settings.log.format, LogFormat::Json);
        assert_eq!(settings.shop.currency.code(), "USD");
    }

    #[test]
    fn production_is_built_in_and_refuses_to_serve_without_its_requirements() {
        // No directory: the production profile does not depend on where the binary runs.
        let production =
            |pairs: &[(&str, &str)]| Settings::load_from(Path::new("/nonexistent"), "production", &vars(pairs));
        let complete = [("SHOP__AUTH__ADMIN_TOKEN", "s3cret"), ("SHOP__DATABASE__URL", "postgres://shop@db/shop")];
        let settings = production(&complete).expect("complete production settings");
        assert_eq!(settings.log.format, LogFormat::Json);
        assert!(!settings.database.auto_migrate && !settings.graphql.introspection);
        assert!(settings.check_for_serving().is_ok());
        let message = |pairs: &[(&str, &str)]| {
            production(pairs).expect("loads: only serving needs these").check_for_serving().err().map(|e| e.to_string())
        };
        assert!(message(&complete[1..]).is_some_and(|m| m.contains("auth.admin_token")));
        assert!(message(&complete[..1]).is_some_and(|m| m.contains("database.url")));
        let migrating = [complete[0], complete[1], ("SHOP__DATABASE__AUTO_MIGRATE", "true")];
        assert!(message(&migrating).is_some_and(|m| m.contains("database.auto_migrate")));
        assert!(load(&[]).expect("development").check_for_serving().is_ok());
    }

    #[test]
    fn an_unknown_profile_stops_the_start_naming_where_it_was_looked_for() {
        let error = Settings::load_from(Path::new("/etc/shop"), "prodution", &vars(&[])).err().map(|e| e.to_string());
        let error = error.unwrap_or_default();
        assert!(error.contains("SHOP_ENV=prodution") && error.contains("/etc/shop/prodution.toml"), "{error}");
        let dir = tempfile::tempdir().expect("a folder");
        std::fs::write(dir.path().join("staging.toml"), "[server]\nport = 7000\n").expect("written");
        let staging = Settings::load_from(dir.path(), "staging", &vars(&[])).expect("a profile from its file");
        assert_eq!((staging.server.port, staging.profile.as_str()), (7000, "staging"));
    }

    #[test]
    fn the_platform_port_and_database_url_yield_to_the_shop_forms() {
        let platform = load(&[("PORT", "5000"), ("DATABASE_URL", "postgres://db/shop")]).expect("valid");
        assert_eq!((platform.server.port, platform.database.url.as_str()), (5000, "postgres://db/shop"));
        let both = load(&[("PORT", "5000"), ("SHOP__SERVER__PORT", "6000")]).expect("valid");
        assert_eq!(both.server.port, 6000);
    }

    #[test]
    fn the_token_never_shows_in_debug_output() {
        let settings = load(&[("SHOP__AUTH__ADMIN_TOKEN", "s3cret-token")]).expect("valid");
        assert_eq!(settings.auth.admin_token().map(Secret::expose), Some("s3cret-token"));
        assert!(!format!("{settings:?}").contains("s3cret-token"));
        assert!(load(&[]).expect("valid").auth.admin_token().is_none());
    }

    #[test]
    fn trusted_proxies_are_addresses_or_networks() {
        let settings = load(&[("SHOP__SERVER__TRUSTED_PROXIES", "10.0.0.0/8, 192.0.2.7")]).expect("valid");
        let expected: Vec<IpNet> = vec!["10.0.0.0/8".parse().expect("net"), "192.0.2.7/32".parse().expect("net")];
        assert_eq!(settings.server.trusted_proxies, expected);
        let message = load(&[("SHOP__SERVER__TRUSTED_PROXIES", "10.0.0.0/8,proxy.local")]).err().map(|e| e.to_string());
        assert!(message.is_some_and(|m| m.contains("server.trusted_proxies") && m.contains("proxy.local")));
    }

    #[test]
    fn cors_origins_are_origins_as_browsers_send_them() {
        let origins = "https://app.example, http://localhost:3000";
        let settings = load(&[("SHOP__SERVER__CORS_ALLOWED_ORIGINS", origins)]).expect("valid");
        assert_eq!(settings.server.cors_allowed_origins, ["https://app.example", "http://localhost:3000"]);
        assert!(load(&[]).expect("valid").server.cors_allowed_origins.is_empty());
        for bad in ["https://app.example/", "app.example", "ftp://app.example", "https://app.example/shop"] {
            let message = load(&[("SHOP__SERVER__CORS_ALLOWED_ORIGINS", bad)]).err().map(|e| e.to_string());
            assert!(message.is_some_and(|m| m.contains("server.cors_allowed_origins")), "{bad}");
        }
    }

    #[test]
    fn a_bad_value_names_its_setting() {
        let message = |vars: &[(&str, &str)]| load(vars).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(message(&[("SHOP__SERVER__PORT", "http")]).contains("server.port"));
        assert!(message(&[("SHOP__SHOP__CURRENCY", "euro")]).contains("shop.currency"));
        assert!(message(&[("SHOP__CART__MAX_LINE_QUANTITY", "0")]).contains("cart.max_line_quantity"));
        assert!(message(&[("SHOP__CART__MAX_LINES", "1001")]).contains("cart.max_lines"));
        assert!(message(&[("SHOP__CART__TTL", "soon")]).contains("cart.ttl"));
        assert!(message(&[("SHOP__CART__TTL", "0s")]).contains("cart.ttl"));
        assert!(message(&[("SHOP__DATABASE__URL", "mysql://x")]).contains("database.url"));
        let replica = "postgres://standby/shop";
        assert!(message(&[("SHOP__DATABASE__REPLICA_URL", replica)]).contains("database.replica_url"), "on SQLite");
        let on_postgres =
            [("SHOP__DATABASE__URL", "postgres://primary/shop"), ("SHOP__DATABASE__REPLICA_URL", replica)];
        assert!(load(&on_postgres).is_ok());
        let format = message(&[("SHOP__LOG__FORMAT", "xml")]);
        assert!(format.contains("log.format") && format.contains("`pretty` or `json`"), "{format}");
    }
}
