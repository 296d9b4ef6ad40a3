//! Timestamps in responses: RFC 3339 in UTC, as chrono's own `Serialize`
//! writes them (`2026-11-24T09:00:00.123Z`), only cheaper.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serializer;

/// For `#[serde(serialize_with = "rfc3339")]`. chrono's `Serialize` formats
/// through `collect_str`, which runs every character it writes through the
/// JSON string escaper one call at a time: that was a third of a catalog
/// page's instructions (100 timestamps, BENCHMARKS.md). Formatting into a
/// string first gives the same text at a fraction of the cost.
pub fn rfc3339<S: Serializer>(at: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&at.to_rfc3339_opts(SecondsFormat::AutoSi, true))
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};
    use serde::Serialize;

    #[derive(Serialize)]
    struct Ours(#[serde(serialize_with = "super::rfc3339")] DateTime<Utc>);

    #[test]
    fn writes_exactly_what_chrono_writes() {
        for nanos in [0, 123_000_000, 123_456_000, 123_456_789, 1_000, 999_999_999] {
            let at = DateTime::from_timestamp(1_764_000_000, nanos).expect("in range");
            let ours = serde_json::to_string(&Ours(at)).expect("serializes");
            assert_eq!(ours, serde_json::to_string(&at).expect("serializes"));
        }
        let whole = DateTime::from_timestamp(1_764_000_000, 0).expect("in range");
        assert_eq!(serde_json::to_string(&Ours(whole)).expect("serializes"), r#""2025-11-24T16:00:00Z""#);
    }
}
