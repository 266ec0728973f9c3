//! `-j` output: the reply as JSON in pound's layout (`pound_control::json`), ending with a
//! newline (the original poundctl prints none, which leaves a shell prompt on its last line).

use serde_json::Value;

/// `value` as text, indented by `indent` spaces per level (0: one line), with a final newline.
pub fn format(value: &Value, indent: usize) -> String {
    let mut out = pound_control::json::format(value, indent);
    out.push('\n');
    out
}

/// What a JSON value is, for messages: `an object`, `a string`...
pub fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
