//! Request bodies of a given size, made the same way everywhere: the
//! criterion benches, the scenario files (`body_size`, `json_size`) and the
//! comparison all send these bytes, so their numbers describe the same work.

/// `size` bytes of printable filler (`abcd…`), for echo-style bodies.
pub fn filler(size: usize) -> Vec<u8> {
    (0..size).map(|i| b'a' + (i % 26) as u8).collect()
}

/// A JSON object of about `size` bytes (never less, at most one record more),
/// shaped like what `data-processor` is for: an array of small records with
/// strings, numbers, booleans and a nested object, plus a few scalars.
pub fn json_document(size: usize) -> Vec<u8> {
    let mut out = String::with_capacity(size + 128);
    out.push_str(r#"{"source":"flexcore-bench","version":1,"records":["#);
    let mut i = 0usize;
    // The closing `]}` is two bytes; stop once the document would reach `size`.
    while out.len() + 2 < size || i == 0 {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&format!(
            r#"{{"id":{i},"name":"item-{i}","price":{}.{:02},"active":{},"tags":["a","b"],"dims":{{"w":{},"h":{}}}}}"#,
            (i * 7) % 100,
            (i * 13) % 100,
            i.is_multiple_of(2),
            i % 10,
            (i * 3) % 10,
        ));
        i += 1;
    }
    out.push_str("]}");
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn json_documents_are_valid_and_about_the_size_asked() {
        for size in [1024, 64 * 1024] {
            let doc = json_document(size);
            let value: serde_json::Value = serde_json::from_slice(&doc).unwrap();
            assert!(value["records"].as_array().unwrap().len() > 1);
            assert!(doc.len() >= size && doc.len() < size + 200, "{}", doc.len());
        }
        assert_eq!(filler(64).len(), 64);
    }
}
