//! The conditional-request headers of REST: `If-Match` on cart writes,
//! `If-None-Match` on reads, malformed ones answered as problems.

use axum::extract::FromRequestParts;
use axum::http::header::{IF_MATCH, IF_NONE_MATCH};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName};
use shop_application::services::Expected;
use shop_domain::Version;

use crate::edge::ApiError;

/// The versions `If-Match` allows: every `If-Match` field together is one
/// list of entity tags (RFC 9110). A cart's tag is `"<version>"`, compared
/// as an exact string and strongly: `"017"` is not version 17, and a weak
/// tag matches nothing. No header, or `*`: any version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IfMatch(pub Expected);

/// Documents the `If-Match` header of cart writes.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)] // documentation only; `IfMatch` parses the header
pub struct IfMatchHeader {
    /// Change the cart only if it is at this version: `"3"` (the `ETag` of a cart response), or at one of a
    /// list (`"3", "4"`). `*` matches any.
    #[param(
        rename = "If-Match",
        nullable = false,
        pattern = r#"^(\*|(W/)?"[!#-~]*"([ \t]*,[ \t]*(W/)?"[!#-~]*")*)$"#,
        example = "\"3\""
    )]
    if_match: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for IfMatch {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let malformed =
            || ApiError::Malformed("If-Match must be \"*\" or a list of entity tags such as \"3\"".to_owned());
        let Some(tags) = listed_tags(&parts.headers, IF_MATCH, malformed)? else {
            return Ok(Self(Expected::Any));
        };
        if let [EntityTag::Any] = tags.as_slice() {
            return Ok(Self(Expected::Any));
        }
        let mut versions = Vec::new();
        for tag in tags {
            match tag {
                EntityTag::Strong(opaque) => versions.extend(version_tag(opaque)),
                EntityTag::Weak(_) => {}                   // compared strongly: never matches
                EntityTag::Any => return Err(malformed()), // `*` stands alone
            }
        }
        Ok(Self(Expected::OneOf(versions)))
    }
}

/// `If-None-Match` (RFC 9110): every field together is one list of entity
/// tags, compared weakly (`W/"x"` matches `"x"`); `*` matches any current
/// representation. No header: nothing matches.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IfNoneMatch {
    any: bool,
    opaque: Vec<String>,
}

/// Documents the `If-None-Match` header of conditional reads.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)] // documentation only; `IfNoneMatch` parses the header
pub struct IfNoneMatchHeader {
    /// Answer `304 Not Modified` without a body if the current `ETag` is one of these (`*`: any).
    #[param(
        rename = "If-None-Match",
        nullable = false,
        pattern = r#"^(\*|(W/)?"[!#-~]*"([ \t]*,[ \t]*(W/)?"[!#-~]*")*)$"#,
        example = "\"kPYUdtQ1fHbq4GWN\""
    )]
    if_none_match: Option<String>,
}

impl IfNoneMatch {
    /// Whether `etag` (as sent in `ETag`, quoted) is one the client has.
    pub fn matches(&self, etag: &str) -> bool {
        self.any
            || etag
                .strip_prefix('"')
                .and_then(|t| t.strip_suffix('"'))
                .is_some_and(|t| self.opaque.iter().any(|o| o == t))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for IfNoneMatch {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let malformed = || ApiError::Malformed("If-None-Match must be \"*\" or a list of entity tags".to_owned());
        let mut condition = Self::default();
        for tag in listed_tags(&parts.headers, IF_NONE_MATCH, malformed)?.unwrap_or_default() {
            match tag {
                EntityTag::Any => condition.any = true,
                EntityTag::Weak(opaque) | EntityTag::Strong(opaque) => condition.opaque.push(opaque.to_owned()),
            }
        }
        Ok(condition)
    }
}

/// Every `name` field of `headers` together, as one list of entity tags
/// (RFC 9110); `None` without the header. A field that is not such a list,
/// or a header with no tag at all (`If-Match:`, a client's bug, not a
/// version), is refused with `malformed`.
fn listed_tags(
    headers: &HeaderMap,
    name: HeaderName,
    malformed: impl Fn() -> ApiError,
) -> Result<Option<Vec<EntityTag<'_>>>, ApiError> {
    let mut fields = headers.get_all(name).iter().peekable();
    if fields.peek().is_none() {
        return Ok(None);
    }
    let mut tags = Vec::new();
    for field in fields {
        tags.extend(entity_tags(field.to_str().map_err(|_| malformed())?).ok_or_else(&malformed)?);
    }
    if tags.is_empty() {
        return Err(malformed());
    }
    Ok(Some(tags))
}

/// One element of an `If-Match` or `If-None-Match` list.
#[derive(Debug, PartialEq, Eq)]
enum EntityTag<'a> {
    Any,
    Weak(&'a str),
    Strong(&'a str),
}

/// The entity tags of one `If-Match` or `If-None-Match` field (`*`, or `"a", W/"b", …`);
/// `None` if it is not such a list.
fn entity_tags(field: &str) -> Option<Vec<EntityTag<'_>>> {
    let mut tags = Vec::new();
    let mut rest = field.trim();
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('*') {
            tags.push(EntityTag::Any);
            rest = after;
        } else {
            let (weak, quoted) = rest.strip_prefix("W/").map_or((false, rest), |after| (true, after));
            let opaque_and_rest = quoted.strip_prefix('"')?;
            let end = opaque_and_rest.find('"')?;
            let opaque = &opaque_and_rest[..end];
            tags.push(if weak { EntityTag::Weak(opaque) } else { EntityTag::Strong(opaque) });
            rest = &opaque_and_rest[end + 1..];
        }
        rest = rest.trim_start();
        match rest.strip_prefix(',') {
            Some(after) => rest = after.trim_start(),
            None if rest.is_empty() => {}
            None => return None,
        }
    }
    Some(tags)
}

/// The version whose tag is exactly `opaque` (`"17"`, never `"017"` or `"+17"`).
fn version_tag(opaque: &str) -> Option<Version> {
    let number: u64 = opaque.parse().ok()?;
    (number.to_string() == opaque).then_some(Version(number))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entity_tags_are_lists_compared_as_exact_strings() {
        assert_eq!(entity_tags(r#""3""#), Some(vec![EntityTag::Strong("3")]));
        assert_eq!(
            entity_tags(r#" "3" , W/"4",*, "a,b""#),
            Some(vec![EntityTag::Strong("3"), EntityTag::Weak("4"), EntityTag::Any, EntityTag::Strong("a,b")])
        );
        for bad in ["3", r#""3"x"#, r#""3"#, r#""3" "4""#, "W/3"] {
            assert_eq!(entity_tags(bad), None, "{bad}");
        }
        assert_eq!(version_tag("17"), Some(Version(17)));
        for other in ["017", "+17", "17 ", "", "x"] {
            assert_eq!(version_tag(other), None, "{other:?}");
        }
    }
}
