//! serde's errors, reworded as Tencent-style field messages (`RoomId: missing`,
//! `MemberCount: expected integer`) so an operator reading the DLQ knows what to fix.

use serde::Deserialize;
use serde_json::error::Category;

use crate::refusal::{clip, Refusal};

/// Decodes one typed callback, naming the offending field on failure.
pub fn decode_typed<'a, T: Deserialize<'a>>(body: &'a str) -> Result<T, Refusal> {
    let mut de = serde_json::Deserializer::from_str(body);
    let value = serde_path_to_error::deserialize(&mut de).map_err(describe)?;
    de.end().map_err(|e| Refusal::NotJson(without_position(&e)))?;
    Ok(value)
}

fn describe(err: serde_path_to_error::Error<serde_json::Error>) -> Refusal {
    let path = err.path().to_string();
    let inner = err.into_inner();
    if inner.classify() != Category::Data {
        return Refusal::NotJson(without_position(&inner));
    }
    let msg = without_position(&inner);
    let at = |field: &str| {
        if path == "." || path.is_empty() {
            field.to_owned()
        } else {
            format!("{path}.{field}")
        }
    };
    if let Some(field) = between(&msg, "missing field `", "`") {
        return Refusal::BadField(format!("{}: missing", at(field)));
    }
    if let Some(field) = between(&msg, "duplicate field `", "`") {
        return Refusal::BadField(format!("{}: given more than once", at(field)));
    }
    if path == "." {
        return Refusal::NotObject;
    }
    // serde's own words may quote the client's value (`unknown variant "…"`): clipped.
    match msg.rsplit_once(", expected ") {
        Some((_, expected)) => Refusal::BadField(clip(&format!("{path}: expected {}", plain(expected)))),
        None => Refusal::BadField(clip(&format!("{path}: {msg}"))),
    }
}

/// serde's names for what it wanted, in JSON's words.
fn plain(expected: &str) -> &str {
    match expected {
        "i64" | "u64" | "i32" | "u32" | "usize" => "integer",
        "a string" | "a borrowed string" => "string",
        "a sequence" => "array",
        e if e.starts_with("struct ") || e == "a map" => "object",
        e => e,
    }
}

fn between<'s>(s: &'s str, start: &str, end: &str) -> Option<&'s str> {
    let rest = s.strip_prefix(start)?;
    rest.split_once(end).map(|(x, _)| x)
}

/// serde_json appends " at line L column C"; a one-line body gains nothing from it.
pub(crate) fn without_position(e: &serde_json::Error) -> String {
    let s = e.to_string();
    match s.rfind(" at line ") {
        Some(i) => s[..i].to_owned(),
        None => s,
    }
}
