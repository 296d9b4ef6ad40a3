//! The catalog's opaque page cursor, the same text in REST (`next_cursor`)
//! and GraphQL (`endCursor`).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::DateTime;
use shop_application::ports::ProductCursor;
use shop_domain::ProductId;
use uuid::Uuid;

use super::ApiError;

/// The opaque cursor: the position's creation time (µs) and id, base64url.
pub fn encode_cursor(cursor: ProductCursor) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}:{}", cursor.created_at.timestamp_micros(), cursor.id.0.simple()))
}

/// The position a cursor of [`encode_cursor`] names; a 400 for any other text.
pub fn decode_cursor(text: &str) -> Result<ProductCursor, ApiError> {
    let malformed = || ApiError::Malformed("cursor is not one this service issued".to_owned());
    let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| malformed())?;
    let decoded = String::from_utf8(bytes).map_err(|_| malformed())?;
    let (micros, id) = decoded.split_once(':').ok_or_else(malformed)?;
    let created_at = micros.parse().ok().and_then(DateTime::from_timestamp_micros).ok_or_else(malformed)?;
    let id = Uuid::try_parse(id).map_err(|_| malformed())?;
    Ok(ProductCursor { created_at, id: ProductId(id) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trip_and_garbage() {
        let cursor = ProductCursor {
            created_at: DateTime::from_timestamp_micros(1_700_000_000_123_456).expect("valid"),
            id: ProductId(Uuid::new_v4()),
        };
        assert_eq!(decode_cursor(&encode_cursor(cursor)).ok(), Some(cursor));
        for garbage in ["", "abc", "!!!", &URL_SAFE_NO_PAD.encode("12:nope")] {
            assert!(decode_cursor(garbage).is_err(), "{garbage:?}");
        }
    }
}
