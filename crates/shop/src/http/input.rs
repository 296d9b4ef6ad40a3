//! Reading request bodies field by field, so that a 422 names every offending
//! field at once, and "absent" stays distinct from `null`.

use serde_json::{Map, Value};

use super::problem::{ApiError, FieldError};

/// The fields of a JSON object body, and the errors found so far.
pub struct Fields<'a> {
    object: &'a Map<String, Value>,
    errors: Vec<FieldError>,
}

impl<'a> Fields<'a> {
    /// The fields of `body`, which must be a JSON object.
    pub fn of(body: &'a Value) -> Result<Self, ApiError> {
        match body {
            Value::Object(object) => Ok(Self { object, errors: Vec::new() }),
            _ => Err(ApiError::invalid_field("body", "the body must be a JSON object")),
        }
    }

    /// A field that must be present and not null, read by `parse`.
    pub fn required<T>(&mut self, name: &str, parse: impl FnOnce(&Value) -> Result<T, String>) -> Option<T> {
        match self.object.get(name) {
            None => self.error(name, format!("{name} is required")),
            Some(Value::Null) => self.error(name, format!("{name} must not be null")),
            Some(value) => self.check(name, parse(value)),
        }
    }

    /// A field that may be absent (`None`); when present, read by `parse`
    /// (which sees `null` too).
    pub fn optional<T>(&mut self, name: &str, parse: impl FnOnce(&Value) -> Result<T, String>) -> Option<Option<T>> {
        match self.object.get(name) {
            None => Some(None),
            Some(value) => self.check(name, parse(value)).map(Some),
        }
    }

    /// The 422 naming every field with an error; else `built`, the value made
    /// from the fields (which is `Some`, as every absent field was reported).
    pub fn finish<T>(self, built: Option<T>) -> Result<T, ApiError> {
        if !self.errors.is_empty() {
            return Err(ApiError::invalid(self.errors));
        }
        built.ok_or_else(|| ApiError::Internal("a field was refused without an error".into()))
    }

    fn check<T>(&mut self, name: &str, result: Result<T, String>) -> Option<T> {
        result.map_err(|message| self.errors.push(FieldError::new(name, message))).ok()
    }

    fn error<T>(&mut self, name: &str, message: String) -> Option<T> {
        self.errors.push(FieldError::new(name, message));
        None
    }
}

/// A JSON string.
pub fn string<'v>(name: &str, value: &'v Value) -> Result<&'v str, String> {
    value.as_str().ok_or_else(|| format!("{name} must be a string"))
}

/// A JSON integer. As in JSON Schema, `5.0` is the integer 5; `19.99`, `"5"`
/// and integers beyond what a double holds exactly are refused.
pub fn integer(name: &str, value: &Value) -> Result<i64, String> {
    const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
    let integral = |x: f64| x.fract() == 0.0 && x.abs() < EXACT;
    match (value.as_i64(), value.as_f64()) {
        (Some(n), _) => Ok(n),
        (None, Some(x)) if integral(x) => Ok(x as i64),
        _ => Err(format!("{name} must be an integer")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn collects_every_error_and_tells_null_from_absent() {
        let body = json!({"name": null, "price": 19.99});
        let mut fields = Fields::of(&body).expect("object");
        assert_eq!(fields.required("name", |v| string("name", v).map(str::to_owned)), None);
        assert_eq!(fields.required("price", |v| integer("price", v)), None);
        assert_eq!(fields.optional("description", |v| Ok(v.clone())), Some(None));
        match fields.finish(Some(())) {
            Err(ApiError::Validation { errors, .. }) => {
                let names: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
                assert_eq!(names, ["name", "price"]);
            }
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn integers_only() {
        assert_eq!(integer("q", &json!(5)), Ok(5));
        assert_eq!(integer("q", &json!(307.0)), Ok(307));
        assert_eq!(integer("q", &json!(-2.0)), Ok(-2));
        for bad in [json!(1.5), json!(19.99), json!(1e300), json!("5"), json!(18446744073709551615u64), json!(true)] {
            assert!(integer("q", &bad).is_err(), "{bad}");
        }
    }
}
