//! serde_json's error text, made fit for a one-line `ErrorInfo`.

/// serde_json appends " at line L column C"; a one-line body gains nothing from it.
pub(crate) fn without_position(e: &serde_json::Error) -> String {
    let s = e.to_string();
    match s.rfind(" at line ") {
        Some(i) => s[..i].to_owned(),
        None => s,
    }
}
