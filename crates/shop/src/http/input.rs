//! Request bodies, read field by field: each body is one struct whose fields
//! are [`Field`]s, so serde never stops at the first bad field; the struct's
//! own `validate` then judges every field and answers one 422 naming each
//! offending one. The same struct, with `#[schema(value_type = …)]` on its
//! fields, is the body's OpenAPI schema.

use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

/// One field of a JSON body as the client sent it: absent, `null`, or a value
/// still to be judged (kept as its JSON text, so a number keeps every digit).
/// Use with `#[serde(default)]`, so that an absent field is [`Field::Absent`].
#[derive(Debug, Default)]
pub enum Field {
    /// Not in the body.
    #[default]
    Absent,
    /// `null`.
    Null,
    /// Any other JSON value.
    Value(Box<RawValue>),
}

impl<'de> Deserialize<'de> for Field {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Option::<Box<RawValue>>::deserialize(deserializer)?.map_or(Self::Null, Self::Value))
    }
}

impl Field {
    /// A field that must be present and not null, read by `parse`.
    pub fn required<T>(&self, name: &str, parse: impl FnOnce(&str) -> Result<T, String>) -> Result<T, String> {
        match self {
            Self::Absent => Err(format!("{name} is required")),
            Self::Null => Err(format!("{name} must not be null")),
            Self::Value(raw) => parse(raw.get()),
        }
    }

    /// A field that may be absent (`None`), but not null.
    pub fn optional<T>(&self, name: &str, parse: impl FnOnce(&str) -> Result<T, String>) -> Result<Option<T>, String> {
        match self {
            Self::Absent => Ok(None),
            _ => self.required(name, parse).map(Some),
        }
    }

    /// A field that may be absent (`None`) or null (`Some(None)`).
    pub fn nullable<T>(&self, parse: impl FnOnce(&str) -> Result<T, String>) -> Result<Option<Option<T>>, String> {
        match self {
            Self::Absent => Ok(None),
            Self::Null => Ok(Some(None)),
            Self::Value(raw) => parse(raw.get()).map(|value| Some(Some(value))),
        }
    }
}

/// A JSON string, from its JSON text.
pub fn string(name: &str, json: &str) -> Result<String, String> {
    match json.starts_with('"') {
        true => serde_json::from_str(json).map_err(|err| format!("{name} is not a valid string: {err}")),
        false => Err(format!("{name} must be a string")),
    }
}

/// A JSON number that is exactly an integer, from its JSON text. As in JSON
/// Schema, `5.0` and `5e2` are integers; a fraction is never rounded away,
/// however small (`0.99999999999999999` is not 1). `"5"` is no number.
pub fn integer(name: &str, json: &str) -> Result<i64, String> {
    exact_integer(json).ok_or_else(|| format!("{name} must be an integer"))
}

/// The integer a JSON number literal denotes, if it is one and fits in `i64`.
fn exact_integer(literal: &str) -> Option<i64> {
    let (mantissa, exponent) = match literal.split_once(['e', 'E']) {
        Some((mantissa, exponent)) => (mantissa, exponent.parse::<i64>().ok()?),
        None => (literal, 0),
    };
    let (negative, unsigned) = mantissa.strip_prefix('-').map_or((false, mantissa), |rest| (true, rest));
    let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let is_digits = |text: &str| text.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !is_digits(whole) || !is_digits(fraction) {
        return None; // not a number: a string, `true`, an object…
    }
    let digits = format!("{whole}{fraction}");
    // The decimal point sits `point` digits from the left of `digits`.
    let point = i64::try_from(whole.len()).ok()?.checked_add(exponent)?;
    let split = point.clamp(0, i64::try_from(digits.len()).ok()?);
    let (integral, fractional) = digits.split_at(usize::try_from(split).ok()?);
    if fractional.bytes().any(|b| b != b'0') {
        return None;
    }
    let integral = integral.trim_start_matches('0');
    if integral.is_empty() {
        return Some(0);
    }
    let trailing_zeros = u32::try_from(point - split).ok()?;
    let value = integral.parse::<i64>().ok()?.checked_mul(10_i64.checked_pow(trailing_zeros)?)?;
    Some(if negative { -value } else { value })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_only_and_never_rounded() {
        for (literal, expected) in [
            ("5", 5),
            ("307.0", 307),
            ("-2.0", -2),
            ("0", 0),
            ("-0", 0),
            ("0.000", 0),
            ("5e2", 500),
            ("1.5e1", 15),
            ("1E+3", 1000),
            ("250e-1", 25),
            ("0e999", 0),
            ("007", 7),
            ("9223372036854775807", i64::MAX),
            ("1000000000", 1_000_000_000),
        ] {
            assert_eq!(exact_integer(literal), Some(expected), "{literal}");
        }
        for literal in [
            "1.5",
            "19.99",
            "0.99999999999999999",
            "1.0000000000000000001",
            "1e300",
            "1e-1",
            "9223372036854775808",
            "\"5\"",
            "true",
            "null",
            "[1]",
            "18446744073709551615",
        ] {
            assert_eq!(exact_integer(literal), None, "{literal}");
        }
        assert_eq!(integer("q", "19.99"), Err("q must be an integer".to_owned()));
    }
}
