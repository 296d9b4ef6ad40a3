//! Logging, set up once per process. The level comes from `RUST_LOG`
//! (default `info`, with the SQL drivers quieter); the format from `log.format`.
//! Every line of a request carries its span: method, route and request id.

use tracing_subscriber::EnvFilter;

use crate::settings::LogFormat;

/// What is logged without `RUST_LOG`.
const DEFAULT_FILTER: &str = "info,sqlx=warn,sea_orm=warn,sea_orm_migration=warn";

/// Installs the global subscriber. Later calls do nothing (tests call it
/// freely). Answers a warning to log when `RUST_LOG` was not used as given.
pub fn init(format: LogFormat) -> Option<String> {
    let (filter, warning) = filter(std::env::var("RUST_LOG").ok().as_deref());
    // Logs go to stderr: stdout is for what commands print (`shop openapi`, `shop seed`).
    let stderr = std::io::stderr();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&stderr))
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Pretty => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(true).with_span_list(false).try_init(),
    };
    warning
}

/// The filter `RUST_LOG` asks for. One that does not parse, or that enables
/// nothing of the service's own logs (`RUST_LOG=debu` is a target named
/// `debu`), would leave it silent: the default comes first then, with a warning.
fn filter(rust_log: Option<&str>) -> (EnvFilter, Option<String>) {
    let Some(asked) = rust_log.map(str::trim).filter(|text| !text.is_empty()) else {
        return (EnvFilter::new(DEFAULT_FILTER), None);
    };
    match EnvFilter::try_new(asked) {
        Err(err) => {
            let warning = format!("RUST_LOG={asked:?} is not a log filter ({err}); logging at info");
            (EnvFilter::new(DEFAULT_FILTER), Some(warning))
        }
        Ok(filter) if asked.split(',').any(reaches_the_service) => (filter, None),
        Ok(_) => {
            let warning = format!(
                "RUST_LOG={asked:?} enables none of the service's logs (neither a level such as `debug` nor a \
                 target starting with `shop`); logging at info as well"
            );
            (EnvFilter::new(format!("{DEFAULT_FILTER},{asked}")), Some(warning))
        }
    }
}

/// Whether one directive of a filter can enable a log line of the service:
/// a level for everything, a `shop…` target, or a span filter.
fn reaches_the_service(directive: &str) -> bool {
    let directive = directive.trim();
    let target = directive.split(['=', '[']).next().unwrap_or_default();
    let level = ["trace", "debug", "info", "warn", "error", "off"].iter().any(|l| target.eq_ignore_ascii_case(l));
    level || target.starts_with("shop") || directive.starts_with('[')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_filter_that_silences_the_service_by_mistake_falls_back_to_info() {
        for fine in [None, Some(""), Some("debug"), Some("warn,shop::http=debug"), Some("shop=trace"), Some("off")] {
            assert_eq!(filter(fine).1, None, "{fine:?}");
        }
        for mistaken in ["debu", "sqlx=debug", "=info=x"] {
            let (filter, warning) = filter(Some(mistaken));
            assert!(warning.is_some_and(|w| w.contains(mistaken)), "{mistaken}");
            assert!(filter.to_string().contains("info"), "{mistaken}: {filter}");
        }
    }
}
