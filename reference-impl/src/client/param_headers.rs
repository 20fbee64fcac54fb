//! Custom headers from tool parameters (MCP 2026-07-28 §Streamable HTTP, "Custom Headers
//! from Tool Parameters"): a tool's `inputSchema` may annotate parameters with
//! `x-mcp-header: Name`; a client on the modern wire mirrors each such argument into an
//! `Mcp-Param-Name` header of its `tools/call`, and excludes from `tools/list` every tool
//! whose annotations break the rules.

use crate::{Error, Result};
use base64::Engine as _;
use http::{HeaderName, HeaderValue};
use serde_json::{Map, Value};

/// One annotated parameter: where its value is in the arguments, and the header name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamHeader {
    /// The chain of `properties` keys from the schema root to the parameter.
    pub path: Vec<String>,
    /// The `x-mcp-header` value: the header is `Mcp-Param-{name}`.
    pub name: String,
}

/// Schema keywords whose value is one subschema, an array of them, or a map of them:
/// an `x-mcp-header` inside any of them is not statically reachable.
const SUBSCHEMA: &[&str] = &[
    "items",
    "prefixItems",
    "additionalProperties",
    "unevaluatedItems",
    "unevaluatedProperties",
    "contains",
    "propertyNames",
    "not",
    "if",
    "then",
    "else",
    "oneOf",
    "anyOf",
    "allOf",
];
const SUBSCHEMA_MAPS: &[&str] = &["patternProperties", "$defs", "definitions", "dependentSchemas"];

/// The annotated parameters of a tool's `inputSchema`, or why the tool must be rejected:
/// an annotation that is empty, not an HTTP token, repeated (case-insensitively), on a
/// parameter whose `type` is not `string`, `integer` or `boolean`, or not reachable from
/// the root through `properties` keys alone.
pub fn param_headers(input_schema: &Value) -> std::result::Result<Vec<ParamHeader>, String> {
    let mut found = Vec::new();
    visit(input_schema, Some(&mut Vec::new()), &mut found)?;
    let mut seen: Vec<String> = Vec::new();
    for h in &found {
        let lower = h.name.to_ascii_lowercase();
        if seen.contains(&lower) {
            return Err(format!("x-mcp-header `{}` is used twice (names are case-insensitive)", h.name));
        }
        seen.push(lower);
    }
    Ok(found)
}

/// Walks `schema`; `path` is the `properties` chain to it, `None` once it is not
/// statically reachable.
fn visit(
    schema: &Value,
    path: Option<&mut Vec<String>>,
    found: &mut Vec<ParamHeader>,
) -> std::result::Result<(), String> {
    let Some(object) = schema.as_object() else { return Ok(()) };
    let mut path = path;
    if let Some(name) = object.get("x-mcp-header") {
        let at = path.as_deref().filter(|p| !p.is_empty()).ok_or_else(|| {
            "x-mcp-header on a schema not reachable from the root through `properties` alone".to_string()
        })?;
        found.push(check_annotation(name, object, at)?);
    }
    if let Some(Value::Object(properties)) = object.get("properties") {
        for (key, sub) in properties {
            match path.as_deref_mut() {
                Some(p) => {
                    p.push(key.clone());
                    let r = visit(sub, Some(p), found);
                    p.pop();
                    r?
                }
                None => visit(sub, None, found)?,
            }
        }
    }
    for keyword in SUBSCHEMA {
        match object.get(*keyword) {
            Some(Value::Array(all)) => all.iter().try_for_each(|s| visit(s, None, found))?,
            Some(one) => visit(one, None, found)?,
            None => {}
        }
    }
    for keyword in SUBSCHEMA_MAPS {
        if let Some(Value::Object(map)) = object.get(*keyword) {
            map.values().try_for_each(|s| visit(s, None, found))?;
        }
    }
    Ok(())
}

/// The annotation `name` on the parameter `schema` at `path`, if it obeys the rules.
fn check_annotation(
    name: &Value,
    schema: &Map<String, Value>,
    path: &[String],
) -> std::result::Result<ParamHeader, String> {
    let at = path.join(".");
    let name = name.as_str().ok_or_else(|| format!("x-mcp-header of `{at}` is not a string"))?;
    if name.is_empty() {
        return Err(format!("x-mcp-header of `{at}` is empty"));
    }
    if !name.bytes().all(is_tchar) {
        return Err(format!("x-mcp-header `{name}` of `{at}` is not an HTTP field-name token"));
    }
    match schema.get("type").and_then(Value::as_str) {
        Some("string" | "integer" | "boolean") => {}
        other => {
            return Err(format!(
                "x-mcp-header `{name}` is on `{at}` of type {}; expected string, integer or boolean",
                other.map_or("(none)".to_string(), |t| format!("`{t}`"))
            ));
        }
    }
    Ok(ParamHeader { path: path.to_vec(), name: name.to_string() })
}

/// RFC 9110 §5.6.2 `tchar`.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// The `Mcp-Param-*` headers of a call with `arguments`: each annotated parameter with a
/// value (absent or `null`: no header), as text (`true`/`false`, decimal integers within
/// ±(2^53−1)), encoded by [`header_value`].
pub fn mirror(headers: &[ParamHeader], arguments: &Value) -> Result<Vec<(HeaderName, HeaderValue)>> {
    const SAFE: i64 = (1 << 53) - 1;
    let mut out = Vec::with_capacity(headers.len());
    for h in headers {
        let value = h.path.iter().try_fold(arguments, |v, key| v.get(key));
        let text = match value {
            None | Some(Value::Null) => continue,
            Some(Value::String(s)) => s.clone(),
            Some(Value::Bool(b)) => b.to_string(),
            Some(Value::Number(n)) if n.as_i64().is_some_and(|i| (-SAFE..=SAFE).contains(&i)) => {
                n.to_string()
            }
            Some(other) => {
                return Err(Error::unexpected(
                    "tool argument mirrored into a header",
                    format!("`{}` = {other}", h.path.join(".")),
                    "a string, boolean or integer within ±(2^53-1)",
                ));
            }
        };
        let name = HeaderName::try_from(format!("mcp-param-{}", h.name))
            .map_err(|_| Error::malformed("x-mcp-header", h.name.clone()))?;
        out.push((name, header_value(&text)?));
    }
    Ok(out)
}

/// `value` as a header value: as is when it is printable ASCII with no leading or trailing
/// space and does not look like the encoded form, else `=?base64?…?=` of its UTF-8 (MCP
/// 2026-07-28 §Value Encoding; the same rule as `Mcp-Name`).
pub fn header_value(value: &str) -> Result<HeaderValue> {
    let sentinel = value.starts_with("=?base64?") && value.ends_with("?=");
    let plain = value.bytes().all(|b| (0x20..=0x7e).contains(&b)) && value.trim() == value && !sentinel;
    let text = match plain {
        true => value.to_string(),
        false => format!("=?base64?{}?=", base64::engine::general_purpose::STANDARD.encode(value)),
    };
    HeaderValue::from_str(&text).map_err(|_| Error::malformed("mcp header value", text))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn one(schema: Value) -> std::result::Result<Vec<ParamHeader>, String> {
        param_headers(&json!({"type": "object", "properties": schema}))
    }

    #[test]
    fn annotations_reachable_through_properties_are_read() {
        let h = one(json!({
            "region": {"type": "string", "x-mcp-header": "Region"},
            "opts": {"type": "object", "properties": {"n": {"type": "integer", "x-mcp-header": "N"}}},
            "query": {"type": "string"},
        }))
        .unwrap();
        assert_eq!(h.len(), 2);
        assert!(h.contains(&ParamHeader { path: vec!["opts".into(), "n".into()], name: "N".into() }));
    }

    #[test]
    fn each_broken_rule_rejects_the_tool() {
        for (why, schema) in [
            ("empty", json!({"v": {"type": "string", "x-mcp-header": ""}})),
            ("object", json!({"v": {"type": "object", "x-mcp-header": "V"}})),
            ("array", json!({"v": {"type": "array", "items": {"type": "string"}, "x-mcp-header": "V"}})),
            ("null", json!({"v": {"type": "null", "x-mcp-header": "V"}})),
            ("number", json!({"v": {"type": "number", "x-mcp-header": "V"}})),
            ("space", json!({"v": {"type": "string", "x-mcp-header": "A B"}})),
            ("colon", json!({"v": {"type": "string", "x-mcp-header": "A:B"}})),
            ("non-ascii", json!({"v": {"type": "string", "x-mcp-header": "Régión"}})),
            ("control", json!({"v": {"type": "string", "x-mcp-header": "A\r\nB"}})),
            (
                "same name",
                json!({"a": {"type": "string", "x-mcp-header": "X"}, "b": {"type": "string", "x-mcp-header": "x"}}),
            ),
            ("in items", json!({"v": {"type": "array", "items": {"type": "string", "x-mcp-header": "V"}}})),
            ("in oneOf", json!({"v": {"oneOf": [{"type": "string", "x-mcp-header": "V"}]}})),
        ] {
            assert!(one(schema).is_err(), "{why}");
        }
        assert!(param_headers(&json!({"type": "string", "x-mcp-header": "Root"})).is_err(), "on the root");
    }

    #[test]
    fn values_are_mirrored_and_encoded_when_not_plain() {
        let headers = one(json!({
            "r": {"type": "string", "x-mcp-header": "Region"},
            "p": {"type": "integer", "x-mcp-header": "Priority"},
            "v": {"type": "boolean", "x-mcp-header": "Verbose"},
            "u": {"type": "string", "x-mcp-header": "Greeting"},
            "s": {"type": "string", "x-mcp-header": "Text"},
            "z": {"type": "string", "x-mcp-header": "Gone"},
        }))
        .unwrap();
        let args =
            json!({"r": "us-west1", "p": 42, "v": false, "u": "Hello, 世界", "s": " padded ", "z": null});
        let out: Vec<(String, String)> = mirror(&headers, &args)
            .unwrap()
            .into_iter()
            .map(|(n, v)| (n.to_string(), v.to_str().unwrap().to_string()))
            .collect();
        let get = |n: &str| out.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_str());
        assert_eq!(get("mcp-param-region"), Some("us-west1"));
        assert_eq!(get("mcp-param-priority"), Some("42"));
        assert_eq!(get("mcp-param-verbose"), Some("false"));
        assert_eq!(get("mcp-param-greeting"), Some("=?base64?SGVsbG8sIOS4lueVjA==?="));
        assert_eq!(get("mcp-param-text"), Some("=?base64?IHBhZGRlZCA=?="));
        assert_eq!(get("mcp-param-gone"), None, "null: no header");
        assert_eq!(header_value("=?base64?literal?=").unwrap(), "=?base64?PT9iYXNlNjQ/bGl0ZXJhbD89?=");
        assert_eq!(header_value("line1\nline2").unwrap(), "=?base64?bGluZTEKbGluZTI=?=");
        assert!(mirror(&headers, &json!({"p": 1.5})).is_err(), "not an integer");
        assert!(mirror(&headers, &json!({"p": 9_007_199_254_740_993_i64})).is_err(), "beyond 2^53-1");
    }
}
