//! The XML-RPC decoder on arbitrary bytes: requests and responses must decode or be
//! refused without panicking, and whatever a request decodes to survives a round trip
//! through our encoder.
#![no_main]

use libfuzzer_sys::fuzz_target;
use supervisor::rpc::xmlrpc::{decode_call, decode_response, encode_call, Value};

/// NaN never equals itself; compare what can be compared.
fn comparable(value: &Value) -> bool {
    match value {
        Value::Double(x) => !x.is_nan(),
        Value::Array(items) => items.iter().all(comparable),
        Value::Struct(members) => members.iter().all(|(_, v)| comparable(v)),
        _ => true,
    }
}

fuzz_target!(|data: &[u8]| {
    let _ = decode_response(data);
    if let Ok(call) = decode_call(data) {
        if let Some(method) = &call.method {
            let again = decode_call(encode_call(method, &call.params).as_bytes());
            if call.params.iter().all(comparable) && !method.trim().is_empty() {
                assert_eq!(again.map(|c| c.params), Ok(call.params));
            }
        }
    }
});
