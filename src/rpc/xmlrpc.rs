//! The XML-RPC codec, both directions: method calls and responses (values and faults)
//! as the reference reads and writes them.
//!
//! Pure functions over bytes and a [`Value`] tree. Encoding reproduces Python's
//! `xmlrpc.client.dumps` byte layout; decoding accepts what the reference's lenient
//! request reader accepts (a `<value>` without a type is a string) and refuses what
//! could hurt us: document type declarations (so no entity expansion), nesting deeper
//! than [`MAX_DEPTH`], malformed XML.

use quick_xml::events::Event;
use quick_xml::Reader;

/// Deepest element nesting accepted in a document.
pub const MAX_DEPTH: usize = 64;

/// An XML-RPC value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `<int>`/`<i4>` (and `<i8>` when decoding responses).
    Int(i64),
    /// `<boolean>`.
    Bool(bool),
    /// `<string>`, or a `<value>` without a type element.
    String(String),
    /// `<double>`.
    Double(f64),
    /// `<dateTime.iso8601>`, kept as its text (`20260101T10:00:00`).
    DateTime(String),
    /// `<base64>`, decoded.
    Base64(Vec<u8>),
    /// `<array>`.
    Array(Vec<Value>),
    /// `<struct>`, members in document order.
    Struct(Vec<(String, Value)>),
    /// `<nil/>`.
    Nil,
}

impl Value {
    /// A string value.
    pub fn string(s: impl Into<String>) -> Value {
        Value::String(s.into())
    }

    /// A struct from `(name, value)` pairs.
    pub fn structure<I, K>(members: I) -> Value
    where
        I: IntoIterator<Item = (K, Value)>,
        K: Into<String>,
    {
        Value::Struct(members.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    /// The member `name` of a struct.
    pub fn member(&self, name: &str) -> Option<&Value> {
        match self {
            Value::Struct(members) => members.iter().find(|(k, _)| k == name).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The text of a string value.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The number of an int value.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// The truth of a boolean value.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The items of an array value.
    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(items) => Some(items),
            _ => None,
        }
    }
}

/// A fault response: `faultCode` and `faultString`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    /// The numeric code (see `rpc.md` §2).
    pub code: i64,
    /// `NAME` or `NAME: detail`.
    pub string: String,
}

/// Why a document could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// Not well-formed XML, or not the expected document.
    Malformed(String),
    /// A `<!DOCTYPE …>` declaration (refused: entity expansion is an attack vector).
    DocType,
    /// Nesting deeper than [`MAX_DEPTH`].
    TooDeep,
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DecodeError::Malformed(why) => write!(f, "malformed XML-RPC document: {why}"),
            DecodeError::DocType => f.write_str("document type declarations are not accepted"),
            DecodeError::TooDeep => write!(f, "nesting deeper than {MAX_DEPTH} levels"),
        }
    }
}

impl std::error::Error for DecodeError {}

/// A decoded method call.
#[derive(Debug, Clone, PartialEq)]
pub struct MethodCall {
    /// `<methodName>`, if the document had a non-empty one.
    pub method: Option<String>,
    /// The parameters (empty when `<params>` is missing).
    pub params: Vec<Value>,
}

/// A generic element tree, built with limits, from which the XML-RPC shapes are read.
#[derive(Debug, Clone, PartialEq)]
struct Element {
    name: String,
    text: String,
    children: Vec<Element>,
}

fn parse_tree(body: &[u8]) -> Result<Element, DecodeError> {
    let mut reader = Reader::from_reader(body);
    reader.config_mut().trim_text(false);
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let malformed = |e: &dyn std::fmt::Display| DecodeError::Malformed(e.to_string());
    let mut buf = Vec::new();
    loop {
        let event = reader
            .read_event_into(&mut buf)
            .map_err(|e| malformed(&e))?;
        match event {
            Event::Start(start) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(DecodeError::TooDeep);
                }
                let name = String::from_utf8_lossy(start.name().as_ref()).into_owned();
                stack.push(Element {
                    name,
                    text: String::new(),
                    children: Vec::new(),
                });
            }
            Event::Empty(empty) => {
                let name = String::from_utf8_lossy(empty.name().as_ref()).into_owned();
                let element = Element {
                    name,
                    text: String::new(),
                    children: Vec::new(),
                };
                match stack.last_mut() {
                    Some(parent) => parent.children.push(element),
                    None if root.is_none() => root = Some(element),
                    None => return Err(DecodeError::Malformed("two root elements".into())),
                }
            }
            Event::End(_) => {
                let Some(done) = stack.pop() else {
                    return Err(DecodeError::Malformed("unbalanced end tag".into()));
                };
                match stack.last_mut() {
                    Some(parent) => parent.children.push(done),
                    None if root.is_none() => root = Some(done),
                    None => return Err(DecodeError::Malformed("two root elements".into())),
                }
            }
            Event::Text(text) => {
                let text = text.unescape().map_err(|e| malformed(&e))?;
                match stack.last_mut() {
                    Some(open) => open.text.push_str(&text),
                    None if text.trim().is_empty() => {}
                    None => return Err(DecodeError::Malformed("text outside the root".into())),
                }
            }
            Event::CData(data) => {
                let text = String::from_utf8_lossy(&data).into_owned();
                match stack.last_mut() {
                    Some(open) => open.text.push_str(&text),
                    None => return Err(DecodeError::Malformed("CDATA outside the root".into())),
                }
            }
            Event::DocType(_) => return Err(DecodeError::DocType),
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Eof => break,
        }
        buf.clear();
    }
    if !stack.is_empty() {
        return Err(DecodeError::Malformed("unclosed element".into()));
    }
    root.ok_or_else(|| DecodeError::Malformed("empty document".into()))
}

fn child<'a>(element: &'a Element, name: &str) -> Option<&'a Element> {
    element.children.iter().find(|c| c.name == name)
}

fn decode_value(value: &Element) -> Result<Value, DecodeError> {
    let Some(typed) = value.children.first() else {
        return Ok(Value::String(value.text.clone()));
    };
    let bad = |what: &str| DecodeError::Malformed(format!("bad {what}: {:?}", typed.text));
    Ok(match typed.name.as_str() {
        "int" | "i4" | "i8" => Value::Int(typed.text.trim().parse().map_err(|_| bad("int"))?),
        "boolean" => Value::Bool(typed.text.trim() == "1"),
        "string" => Value::String(typed.text.clone()),
        "double" => Value::Double(typed.text.trim().parse().map_err(|_| bad("double"))?),
        "dateTime.iso8601" => Value::DateTime(typed.text.trim().to_string()),
        "base64" => {
            use base64::Engine;
            let compact: String = typed.text.split_whitespace().collect();
            Value::Base64(
                base64::engine::general_purpose::STANDARD
                    .decode(compact)
                    .map_err(|_| bad("base64"))?,
            )
        }
        "nil" => Value::Nil,
        "array" => {
            let data = child(typed, "data").ok_or_else(|| bad("array"))?;
            Value::Array(
                data.children
                    .iter()
                    .filter(|c| c.name == "value")
                    .map(decode_value)
                    .collect::<Result<_, _>>()?,
            )
        }
        "struct" => {
            let mut members = Vec::new();
            for member in typed.children.iter().filter(|c| c.name == "member") {
                let name = child(member, "name")
                    .map(|n| n.text.clone())
                    .unwrap_or_default();
                let value = child(member, "value").ok_or_else(|| bad("struct member"))?;
                members.push((name, decode_value(value)?));
            }
            Value::Struct(members)
        }
        other => {
            return Err(DecodeError::Malformed(format!(
                "unknown value type <{other}>"
            )))
        }
    })
}

/// Decodes a `<methodCall>` request body.
pub fn decode_call(body: &[u8]) -> Result<MethodCall, DecodeError> {
    let root = parse_tree(body)?;
    if root.name != "methodCall" {
        return Err(DecodeError::Malformed(format!(
            "expected <methodCall>, found <{}>",
            root.name
        )));
    }
    let method = child(&root, "methodName")
        .map(|m| m.text.clone())
        .filter(|m| !m.is_empty());
    let mut params = Vec::new();
    if let Some(list) = child(&root, "params") {
        for param in list.children.iter().filter(|c| c.name == "param") {
            let value = child(param, "value")
                .ok_or_else(|| DecodeError::Malformed("<param> without <value>".into()))?;
            params.push(decode_value(value)?);
        }
    }
    Ok(MethodCall { method, params })
}

/// Decodes a `<methodResponse>`: the returned value, or the fault.
pub fn decode_response(body: &[u8]) -> Result<Result<Value, Fault>, DecodeError> {
    let root = parse_tree(body)?;
    if root.name != "methodResponse" {
        return Err(DecodeError::Malformed(format!(
            "expected <methodResponse>, found <{}>",
            root.name
        )));
    }
    if let Some(fault) = child(&root, "fault") {
        let value = child(fault, "value")
            .ok_or_else(|| DecodeError::Malformed("<fault> without <value>".into()))?;
        let value = decode_value(value)?;
        let code = value.member("faultCode").and_then(Value::as_int);
        let string = value.member("faultString").and_then(Value::as_str);
        return match (code, string) {
            (Some(code), Some(string)) => Ok(Err(Fault {
                code,
                string: string.to_string(),
            })),
            _ => Err(DecodeError::Malformed(
                "fault without faultCode/faultString".into(),
            )),
        };
    }
    let value = child(&root, "params")
        .and_then(|p| child(p, "param"))
        .and_then(|p| child(p, "value"))
        .ok_or_else(|| DecodeError::Malformed("response without a value".into()))?;
    Ok(Ok(decode_value(value)?))
}

/// Escapes text the way Python's xmlrpc module does: only `&`, `<` and `>`.
fn escape(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
}

/// Python's `repr()` of a float, which is what `<double>` carries.
fn python_float(x: f64) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let text = format!("{x:?}");
    if let Some((mantissa, exponent)) = text.split_once('e') {
        let (sign, digits) = match exponent.strip_prefix('-') {
            Some(d) => ('-', d),
            None => ('+', exponent),
        };
        return format!("{mantissa}e{sign}{digits:0>2}");
    }
    text
}

fn encode_value(value: &Value, out: &mut String) {
    match value {
        Value::Int(i) => {
            out.push_str("<value><int>");
            out.push_str(&i.to_string());
            out.push_str("</int></value>\n");
        }
        Value::Bool(b) => {
            out.push_str(if *b {
                "<value><boolean>1</boolean></value>\n"
            } else {
                "<value><boolean>0</boolean></value>\n"
            });
        }
        Value::String(s) => {
            out.push_str("<value><string>");
            escape(s, out);
            out.push_str("</string></value>\n");
        }
        Value::Double(x) => {
            out.push_str("<value><double>");
            out.push_str(&python_float(*x));
            out.push_str("</double></value>\n");
        }
        Value::DateTime(text) => {
            out.push_str("<value><dateTime.iso8601>");
            escape(text, out);
            out.push_str("</dateTime.iso8601></value>\n");
        }
        Value::Base64(bytes) => {
            use base64::Engine;
            out.push_str("<value><base64>\n");
            out.push_str(&base64::engine::general_purpose::STANDARD.encode(bytes));
            out.push_str("\n</base64></value>\n");
        }
        Value::Array(items) => {
            out.push_str("<value><array><data>\n");
            for item in items {
                encode_value(item, out);
            }
            out.push_str("</data></array></value>\n");
        }
        Value::Struct(members) => {
            out.push_str("<value><struct>\n");
            for (name, v) in members {
                out.push_str("<member>\n<name>");
                escape(name, out);
                out.push_str("</name>\n");
                encode_value(v, out);
                out.push_str("</member>\n");
            }
            out.push_str("</struct></value>\n");
        }
        Value::Nil => out.push_str("<value><nil/></value>"),
    }
}

const XML_HEADER: &str = "<?xml version='1.0'?>\n";

/// A `<methodResponse>` carrying `value`.
pub fn encode_response(value: &Value) -> String {
    let mut out = String::from(XML_HEADER);
    out.push_str("<methodResponse>\n<params>\n<param>\n");
    encode_value(value, &mut out);
    out.push_str("</param>\n</params>\n</methodResponse>\n");
    out
}

/// A `<methodResponse>` carrying a fault.
pub fn encode_fault(fault: &Fault) -> String {
    let mut out = String::from(XML_HEADER);
    out.push_str("<methodResponse>\n<fault>\n");
    encode_value(
        &Value::structure([
            ("faultCode", Value::Int(fault.code)),
            ("faultString", Value::string(fault.string.clone())),
        ]),
        &mut out,
    );
    out.push_str("</fault>\n</methodResponse>\n");
    out
}

/// A `<methodCall>` as Python's client sends it.
pub fn encode_call(method: &str, params: &[Value]) -> String {
    let mut out = String::from(XML_HEADER);
    out.push_str("<methodCall>\n<methodName>");
    escape(method, &mut out);
    out.push_str("</methodName>\n<params>\n");
    for p in params {
        out.push_str("<param>\n");
        encode_value(p, &mut out);
        out.push_str("</param>\n");
    }
    out.push_str("</params>\n</methodCall>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responses_match_python_layout() {
        let value = Value::structure([
            ("name", Value::string("a<b&c")),
            ("pid", Value::Int(42)),
            ("ok", Value::Bool(true)),
            ("list", Value::Array(vec![Value::Double(1.5), Value::Nil])),
        ]);
        let want = "<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n\
            <value><struct>\n<member>\n<name>name</name>\n<value><string>a&lt;b&amp;c</string></value>\n</member>\n\
            <member>\n<name>pid</name>\n<value><int>42</int></value>\n</member>\n\
            <member>\n<name>ok</name>\n<value><boolean>1</boolean></value>\n</member>\n\
            <member>\n<name>list</name>\n<value><array><data>\n<value><double>1.5</double></value>\n<value><nil/></value></data></array></value>\n</member>\n\
            </struct></value>\n</param>\n</params>\n</methodResponse>\n";
        assert_eq!(encode_response(&value), want);
        let fault = encode_fault(&Fault {
            code: 10,
            string: "BAD_NAME: x".into(),
        });
        assert_eq!(
            fault,
            "<?xml version='1.0'?>\n<methodResponse>\n<fault>\n<value><struct>\n<member>\n<name>faultCode</name>\n\
             <value><int>10</int></value>\n</member>\n<member>\n<name>faultString</name>\n\
             <value><string>BAD_NAME: x</string></value>\n</member>\n</struct></value>\n</fault>\n</methodResponse>\n"
        );
    }

    #[test]
    fn round_trips() {
        let values = [
            Value::Int(-3),
            Value::Bool(false),
            Value::string("tab\t and é and ]]>"),
            Value::Double(0.1),
            Value::Base64(b"\x00\xffbytes".to_vec()),
            Value::DateTime("20260101T10:00:00".into()),
            Value::Array(vec![]),
            Value::structure([("", Value::Array(vec![Value::Int(1)]))]),
        ];
        for v in values {
            assert_eq!(
                decode_response(encode_response(&v).as_bytes()),
                Ok(Ok(v.clone())),
                "{v:?}"
            );
            let call = decode_call(encode_call("ns.m", std::slice::from_ref(&v)).as_bytes());
            assert_eq!(
                call,
                Ok(MethodCall {
                    method: Some("ns.m".into()),
                    params: vec![v.clone()]
                })
            );
        }
    }

    #[test]
    fn lenient_requests_like_the_reference() {
        let cases: &[(&str, Option<&str>, Vec<Value>)] = &[
            (
                "<methodCall><methodName>a.b</methodName></methodCall>",
                Some("a.b"),
                vec![],
            ),
            (
                "<methodCall><methodName>a.b</methodName><params><param><value>bare</value></param>\
                 <param><value><i4>7</i4></value></param><param><value><boolean>yes</boolean></value></param></params></methodCall>",
                Some("a.b"),
                vec![Value::string("bare"), Value::Int(7), Value::Bool(false)],
            ),
            (
                "<methodCall><methodName></methodName></methodCall>",
                None,
                vec![],
            ),
            ("<methodCall/>", None, vec![]),
        ];
        for (body, method, params) in cases {
            assert_eq!(
                decode_call(body.as_bytes()),
                Ok(MethodCall {
                    method: method.map(String::from),
                    params: params.clone()
                }),
                "{body}"
            );
        }
    }

    #[test]
    fn refuses_hostile_or_broken_documents() {
        let bomb = "<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a 'aaaa'><!ENTITY b '&a;&a;&a;'>]>\
                    <methodCall><methodName>&b;</methodName></methodCall>";
        assert_eq!(decode_call(bomb.as_bytes()), Err(DecodeError::DocType));
        let deep = format!(
            "<methodCall><methodName>a.b</methodName><params><param>{}{}</param></params></methodCall>",
            "<value><array><data>".repeat(40),
            "</data></array></value>".repeat(40)
        );
        assert_eq!(decode_call(deep.as_bytes()), Err(DecodeError::TooDeep));
        for broken in [
            "",
            "<methodCall>",
            "not xml",
            "<a></b>",
            "<methodCall><methodName>&bogus;</methodName></methodCall>",
        ] {
            assert!(
                matches!(
                    decode_call(broken.as_bytes()),
                    Err(DecodeError::Malformed(_))
                ),
                "{broken:?}"
            );
        }
    }
}
