//! Writing JSON text byte for byte as serde_json's compact serialiser does,
//! straight into the answer's buffer.
//!
//! The rules copied from serde_json 1: no whitespace; in strings `"` and `\`
//! are escaped, and so are the control characters below U+0020 (`\b`, `\t`,
//! `\n`, `\f`, `\r`, the others as `\u00XX` in lower-case hex), nothing else;
//! integers are written by `itoa`, finite floats by `zmij` (the formatter
//! serde_json uses) and other floats as `null`. The tests compare this
//! module's output with serde_json's on generated documents.

use std::ops::Range;

use crate::document::{Json, Number, Text};

/// Appends `value` as compact JSON.
pub fn value(out: &mut Vec<u8>, value: &Json) {
    match value {
        Json::Null => out.extend_from_slice(b"null"),
        Json::Bool(true) => out.extend_from_slice(b"true"),
        Json::Bool(false) => out.extend_from_slice(b"false"),
        Json::Number(number) => self::number(out, *number),
        Json::String(text) => string(out, text),
        Json::Array(elements) => {
            out.push(b'[');
            for (i, element) in elements.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                self::value(out, element);
            }
            out.push(b']');
        }
        Json::Object(entries) => {
            out.push(b'{');
            for (i, (key, element)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                string(out, key);
                out.push(b':');
                self::value(out, element);
            }
            out.push(b'}');
        }
    }
}

/// Appends a string of the document, quoted.
pub fn string(out: &mut Vec<u8>, text: &Text) {
    out.push(b'"');
    match text {
        // Nothing to escape: serde_json borrows only strings without escapes.
        Text::Plain(text) => out.extend_from_slice(text.as_bytes()),
        Text::Decoded(text) => escape(out, text.as_bytes()),
    }
    out.push(b'"');
}

pub fn number(out: &mut Vec<u8>, number: Number) {
    match number {
        Number::PosInt(n) => uint(out, n),
        Number::NegInt(n) => out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes()),
        Number::Float(x) => float(out, x),
    }
}

pub fn uint(out: &mut Vec<u8>, n: u64) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

/// Appends a float as serde_json writes an `f64`.
pub fn float(out: &mut Vec<u8>, x: f64) {
    out.extend_from_slice(float_text(&mut zmij::Buffer::new(), x));
}

/// The text serde_json writes for an `f64`: `null` unless it is finite.
pub fn float_text(buffer: &mut zmij::Buffer, x: f64) -> &[u8] {
    if x.is_finite() {
        buffer.format_finite(x).as_bytes()
    } else {
        b"null"
    }
}

/// Appends `out[text]`, JSON text written by this module's rules, escaped as
/// the contents of a JSON string: how a value's JSON becomes part of a string.
///
/// Such text holds no control character (strings hold them escaped, and there
/// is no whitespace), so only `"` and `\` need a backslash.
pub fn escape_json_within(out: &mut Vec<u8>, text: Range<usize>) {
    const BLOCK: usize = 64;
    let mut escaped = [0; 2 * BLOCK];
    let mut from = text.start;
    while from < text.end {
        let to = (from + BLOCK).min(text.end);
        let mut length = 0;
        for &byte in &out[from..to] {
            debug_assert!(ESCAPE[usize::from(byte)] == 0 || matches!(byte, b'"' | b'\\'));
            // Without branches, as quotes come too often to be predicted: a
            // backslash is written every time, and kept only when needed.
            // (`length` stays below 2 * BLOCK; the mask says so to the compiler.)
            let backslash = usize::from(QUOTE_OR_BACKSLASH[usize::from(byte)]);
            escaped[length & (2 * BLOCK - 1)] = b'\\';
            length += backslash;
            escaped[length & (2 * BLOCK - 1)] = byte;
            length += 1;
        }
        out.extend_from_slice(&escaped[..length]);
        from = to;
    }
}

/// Appends `text` escaped as the contents of a JSON string.
pub fn escape(out: &mut Vec<u8>, text: &[u8]) {
    let mut run = 0;
    for (at, &byte) in text.iter().enumerate() {
        let escape = ESCAPE[usize::from(byte)];
        if escape != 0 {
            out.extend_from_slice(&text[run..at]);
            push_escape(out, byte, escape);
            run = at + 1;
        }
    }
    out.extend_from_slice(&text[run..]);
}

fn push_escape(out: &mut Vec<u8>, byte: u8, escape: u8) {
    if escape == UU {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let hex = [HEX[usize::from(byte >> 4)], HEX[usize::from(byte & 0xf)]];
        out.extend_from_slice(&[b'\\', b'u', b'0', b'0', hex[0], hex[1]]);
    } else {
        out.extend_from_slice(&[b'\\', escape]);
    }
}

const UU: u8 = b'u';

/// 1 for `"` and `\`, 0 for any other byte.
static QUOTE_OR_BACKSLASH: [u8; 256] = {
    let mut table = [0u8; 256];
    table[b'"' as usize] = 1;
    table[b'\\' as usize] = 1;
    table
};

/// serde_json's table: for each byte, the letter after `\` in its escape
/// sequence (`u` for `\u00XX`), or 0 when the byte stands for itself.
static ESCAPE: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut byte = 0;
    while byte < 0x20 {
        table[byte] = UU;
        byte += 1;
    }
    table[0x08] = b'b';
    table[0x09] = b't';
    table[0x0a] = b'n';
    table[0x0c] = b'f';
    table[0x0d] = b'r';
    table[b'"' as usize] = b'"';
    table[b'\\' as usize] = b'\\';
    table
};

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn strings_are_written_as_serde_json_writes_them(text in any::<String>()) {
            let mut out = Vec::new();
            string(&mut out, &Text::Decoded(text.clone()));
            prop_assert_eq!(out, serde_json::to_vec(&text).unwrap());
        }

        #[test]
        fn floats_are_written_as_serde_json_writes_them(x in any::<f64>()) {
            let mut out = Vec::new();
            float(&mut out, x);
            prop_assert_eq!(out, serde_json::to_vec(&x).unwrap());
        }

        #[test]
        fn json_text_is_escaped_as_serde_json_escapes_a_string(text in any::<String>(), n in any::<i64>()) {
            let json = serde_json::to_string(&serde_json::json!({"text": text, "n": n})).unwrap();
            let mut out = b"prefix".to_vec();
            out.extend_from_slice(json.as_bytes());
            let end = out.len();
            escape_json_within(&mut out, 6..end);
            let escaped = serde_json::to_vec(&json).unwrap();
            prop_assert_eq!(&out[6 + json.len()..], &escaped[1..escaped.len() - 1]);
        }
    }
}
