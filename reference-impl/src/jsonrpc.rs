//! JSON-RPC 2.0 messages as MCP uses them: requests, notifications, responses and error
//! objects, with parsing that maps every defect to its JSON-RPC error code.
//!
//! MCP narrows JSON-RPC 2.0 in two ways this module enforces: an `id` is a string or an
//! integer, never `null` (MCP 2025-11-25 §Messages), and `params` is an object or array
//! when present (JSON-RPC 2.0 §4.2).
//!
//! ```
//! use mcp_authz_reference::jsonrpc::{self, Message, Parsed};
//! let parsed = jsonrpc::parse(br#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#).unwrap();
//! let Parsed::Single(Message::Request(r)) = parsed else { panic!() };
//! assert_eq!(r.method, "ping");
//! let err = jsonrpc::parse(b"{not json").unwrap_err();
//! assert_eq!(err.outcome.unwrap_err().code, jsonrpc::PARSE_ERROR);
//! ```

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The `jsonrpc` member every message carries.
pub const VERSION: &str = "2.0";
/// Invalid JSON was received (JSON-RPC 2.0 §5.1).
pub const PARSE_ERROR: i64 = -32700;
/// The JSON sent is not a valid request object.
pub const INVALID_REQUEST: i64 = -32600;
/// The method does not exist or is not available.
pub const METHOD_NOT_FOUND: i64 = -32601;
/// Invalid method parameters.
pub const INVALID_PARAMS: i64 = -32602;
/// Internal JSON-RPC error.
pub const INTERNAL_ERROR: i64 = -32603;

/// A request id: a string or an integer (MCP forbids `null`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Id {
    /// An integer id.
    Number(i64),
    /// A string id.
    String(String),
}

/// A request: a call that expects a response.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// The id the response must echo.
    pub id: Id,
    /// The method called.
    pub method: String,
    /// The parameters, an object or array when present.
    pub params: Option<Value>,
}

/// A notification: a call without `id`, never answered.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    /// The method called.
    pub method: String,
    /// The parameters, an object or array when present.
    pub params: Option<Value>,
}

/// A JSON-RPC error object (JSON-RPC 2.0 §5.1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorObject {
    /// The error code (see the constants of this module).
    pub code: i64,
    /// A short description.
    pub message: String,
    /// Additional information.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

impl ErrorObject {
    /// An error object without `data`.
    pub fn new(code: i64, message: impl Into<String>) -> Self {
        ErrorObject { code, message: message.into(), data: None }
    }
}

/// A response: the result or error of a request. `id` is `None` (serialized as `null`)
/// only for errors about a message whose id could not be read.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    /// The id of the request answered.
    pub id: Option<Id>,
    /// The result, or the error.
    pub outcome: Result<Value, ErrorObject>,
}

impl Response {
    /// A successful response.
    pub fn result(id: Id, result: Value) -> Self {
        Response { id: Some(id), outcome: Ok(result) }
    }

    /// An error response.
    pub fn error(id: Option<Id>, code: i64, message: impl Into<String>) -> Self {
        Response { id, outcome: Err(ErrorObject::new(code, message)) }
    }

    /// The response as a JSON value.
    pub fn to_value(&self) -> Value {
        let mut m = Map::new();
        m.insert("jsonrpc".into(), VERSION.into());
        m.insert("id".into(), self.id.as_ref().map_or(Value::Null, id_value));
        match &self.outcome {
            Ok(v) => m.insert("result".into(), v.clone()),
            Err(e) => m.insert("error".into(), serde_json::to_value(e).unwrap_or(Value::Null)),
        };
        Value::Object(m)
    }
}

impl Serialize for Response {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match &self.outcome {
            // As `to_value` gives it (members in name order), without copying the result.
            Ok(result) => {
                let mut m = s.serialize_map(Some(3))?;
                m.serialize_entry("id", &self.id)?;
                m.serialize_entry("jsonrpc", VERSION)?;
                m.serialize_entry("result", result)?;
                m.end()
            }
            Err(_) => self.to_value().serialize(s),
        }
    }
}

impl Request {
    /// The request as a JSON value.
    pub fn to_value(&self) -> Value {
        let mut m = Map::new();
        m.insert("jsonrpc".into(), VERSION.into());
        m.insert("id".into(), id_value(&self.id));
        m.insert("method".into(), self.method.clone().into());
        if let Some(p) = &self.params {
            m.insert("params".into(), p.clone());
        }
        Value::Object(m)
    }
}

impl Serialize for Request {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        // As `to_value` gives it (members in name order), without copying the params.
        let mut m = s.serialize_map(Some(if self.params.is_some() { 4 } else { 3 }))?;
        m.serialize_entry("id", &self.id)?;
        m.serialize_entry("jsonrpc", VERSION)?;
        m.serialize_entry("method", &self.method)?;
        if let Some(p) = &self.params {
            m.serialize_entry("params", p)?;
        }
        m.end()
    }
}

fn id_value(id: &Id) -> Value {
    match id {
        Id::Number(n) => Value::from(*n),
        Id::String(s) => Value::from(s.clone()),
    }
}

/// Any one JSON-RPC message.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// A request.
    Request(Request),
    /// A notification.
    Notification(Notification),
    /// A response (to a request the receiver sent).
    Response(Response),
}

/// What a body holds: one message, or a batch (an array), each element parsed on its own.
#[derive(Debug, Clone, PartialEq)]
pub enum Parsed {
    /// A single message.
    Single(Message),
    /// A batch; each element is a message or the error response it earns.
    Batch(Vec<Result<Message, Response>>),
}

/// Parses a body. Invalid JSON or UTF-8 gives a `-32700` response; a JSON value that is no
/// message (or an empty batch) gives `-32600`.
pub fn parse(body: &[u8]) -> Result<Parsed, Response> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| Response::error(None, PARSE_ERROR, format!("parse error: {e}")))?;
    parse_value(value)
}

/// Parses an already decoded JSON value, like [`parse`].
pub fn parse_value(value: Value) -> Result<Parsed, Response> {
    match value {
        Value::Array(items) if items.is_empty() => Err(Response::error(
            None,
            INVALID_REQUEST,
            "invalid request: received an empty batch, expected at least one message",
        )),
        Value::Array(items) => Ok(Parsed::Batch(items.into_iter().map(Message::from_value).collect())),
        v => Message::from_value(v).map(Parsed::Single),
    }
}

fn invalid(id: Option<Id>, detail: impl std::fmt::Display) -> Response {
    Response::error(id, INVALID_REQUEST, format!("invalid request: {detail}"))
}

impl Message {
    /// Reads one message from a JSON value; a defect earns a `-32600` response carrying
    /// the message's id when it could be read.
    pub fn from_value(value: Value) -> Result<Message, Response> {
        let Value::Object(mut m) = value else {
            return Err(invalid(None, format!("received {}, expected a json object", kind(&value))));
        };
        let id = match m.remove("id") {
            None => None,
            Some(v) => Some(match v {
                Value::String(s) => Id::String(s),
                Value::Number(n) => match n.as_i64() {
                    Some(i) => Id::Number(i),
                    None => {
                        return Err(invalid(
                            None,
                            format!("id: received {n}, expected a string or an integer"),
                        ));
                    }
                },
                other => {
                    return Err(invalid(
                        None,
                        format!("id: received {}, expected a string or an integer", kind(&other)),
                    ));
                }
            }),
        };
        match m.remove("jsonrpc") {
            Some(Value::String(v)) if v == VERSION => {}
            Some(other) => return Err(invalid(id, format!("jsonrpc: received {other}, expected \"2.0\""))),
            None => return Err(invalid(id, "jsonrpc: missing, expected \"2.0\"")),
        }
        if let Some(method) = m.remove("method") {
            let Value::String(method) = method else {
                return Err(invalid(id, format!("method: received {}, expected a string", kind(&method))));
            };
            let params = match m.remove("params") {
                None => None,
                Some(p @ (Value::Object(_) | Value::Array(_))) => Some(p),
                Some(other) => {
                    return Err(invalid(
                        id,
                        format!("params: received {}, expected an object or an array", kind(&other)),
                    ));
                }
            };
            return Ok(match id {
                Some(id) => Message::Request(Request { id, method, params }),
                None => Message::Notification(Notification { method, params }),
            });
        }
        let outcome = match (m.remove("result"), m.remove("error")) {
            (Some(r), None) => Ok(r),
            (None, Some(e)) => Err(serde_json::from_value::<ErrorObject>(e)
                .map_err(|e| invalid(id.clone(), format!("error: {e}")))?),
            (Some(_), Some(_)) => return Err(invalid(id, "received both result and error, expected one")),
            (None, None) => return Err(invalid(id, "received neither method nor result nor error")),
        };
        Ok(Message::Response(Response { id, outcome }))
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn code(r: Result<Parsed, Response>) -> (Option<Id>, i64) {
        let r = r.unwrap_err();
        (r.id, r.outcome.unwrap_err().code)
    }

    #[test]
    fn request_notification_response() {
        let req = parse(br#"{"jsonrpc":"2.0","id":"a","method":"tools/list","params":{}}"#).unwrap();
        assert_eq!(
            req,
            Parsed::Single(Message::Request(Request {
                id: Id::String("a".into()),
                method: "tools/list".into(),
                params: Some(json!({}))
            }))
        );
        let n = parse(br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#).unwrap();
        assert!(matches!(n, Parsed::Single(Message::Notification(_))));
        let r = parse(br#"{"jsonrpc":"2.0","id":3,"result":{"ok":true}}"#).unwrap();
        assert_eq!(r, Parsed::Single(Message::Response(Response::result(Id::Number(3), json!({"ok":true})))));
        let e = parse(br#"{"jsonrpc":"2.0","id":3,"error":{"code":-32601,"message":"no"}}"#).unwrap();
        assert_eq!(
            e,
            Parsed::Single(Message::Response(Response::error(Some(Id::Number(3)), METHOD_NOT_FOUND, "no")))
        );
    }

    #[test]
    fn parse_errors_are_32700() {
        assert_eq!(code(parse(b"{")), (None, PARSE_ERROR));
        assert_eq!(code(parse(b"")), (None, PARSE_ERROR));
        assert_eq!(code(parse(b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"\xff\"}")), (None, PARSE_ERROR));
    }

    #[test]
    fn invalid_requests_are_32600_with_id_when_readable() {
        let one = Some(Id::Number(1));
        assert_eq!(code(parse(b"[]")), (None, INVALID_REQUEST));
        assert_eq!(code(parse(b"42")), (None, INVALID_REQUEST));
        assert_eq!(code(parse(br#"{"jsonrpc":"2.0","id":null,"method":"ping"}"#)), (None, INVALID_REQUEST));
        assert_eq!(code(parse(br#"{"jsonrpc":"2.0","id":1.5,"method":"ping"}"#)), (None, INVALID_REQUEST));
        assert_eq!(
            code(parse(br#"{"jsonrpc":"1.0","id":1,"method":"ping"}"#)),
            (one.clone(), INVALID_REQUEST)
        );
        assert_eq!(code(parse(br#"{"id":1,"method":"ping"}"#)), (one.clone(), INVALID_REQUEST));
        assert_eq!(code(parse(br#"{"jsonrpc":"2.0","id":1,"method":7}"#)), (one.clone(), INVALID_REQUEST));
        assert_eq!(
            code(parse(br#"{"jsonrpc":"2.0","id":1,"method":"x","params":"s"}"#)),
            (one.clone(), INVALID_REQUEST)
        );
        assert_eq!(code(parse(br#"{"jsonrpc":"2.0","id":1}"#)), (one.clone(), INVALID_REQUEST));
        assert_eq!(
            code(parse(br#"{"jsonrpc":"2.0","id":1,"result":1,"error":{"code":1,"message":"m"}}"#)),
            (one, INVALID_REQUEST)
        );
    }

    #[test]
    fn batch_elements_are_parsed_one_by_one() {
        let Parsed::Batch(items) = parse(br#"[{"jsonrpc":"2.0","id":1,"method":"ping"}, 5]"#).unwrap() else {
            panic!("expected a batch")
        };
        assert!(matches!(items[0], Ok(Message::Request(_))));
        assert_eq!(items[1].as_ref().unwrap_err().outcome.as_ref().unwrap_err().code, INVALID_REQUEST);
    }

    #[test]
    fn serialization() {
        let r = Response::error(None, PARSE_ERROR, "bad");
        assert_eq!(
            serde_json::to_value(&r).unwrap(),
            json!({"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"bad"}})
        );
        let q = Request { id: Id::Number(1), method: "ping".into(), params: None };
        assert_eq!(serde_json::to_value(&q).unwrap(), json!({"jsonrpc":"2.0","id":1,"method":"ping"}));
        let round =
            Message::from_value(Response::result(Id::String("x".into()), json!({})).to_value()).unwrap();
        assert_eq!(round, Message::Response(Response::result(Id::String("x".into()), json!({}))));
    }
}
