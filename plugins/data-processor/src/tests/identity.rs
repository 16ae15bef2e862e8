//! The answer is byte for byte the reference's (the plugin before it wrote
//! its answer by hand), both given the same clock: for the documented
//! example, the bench documents, the corners of JSON where serde_json
//! normalises what it reads, and generated documents, valid or not.

use flexcore_abi::Status;
use proptest::prelude::*;

use super::reference;
use crate::stats::InputStats;
use crate::{document, scan, transform};

// The documents the benches and load scenarios send.
#[allow(dead_code)]
#[path = "../../../../benches/src/fixtures.rs"]
mod fixtures;

const NOW: u64 = 1_700_000_000;

/// Both answers as text (or the error), for readable failures.
type Answer = Result<String, (Status, String)>;

fn answers(body: &[u8], elapsed_ms: f64) -> (Answer, Answer) {
    let readable = |answer: Result<Vec<u8>, flexcore_abi::PluginError>| {
        answer
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .map_err(|e| (e.status(), e.message().to_owned()))
    };
    (
        readable(crate::answer(body, NOW, || elapsed_ms)),
        readable(reference::answer(body, NOW, || elapsed_ms)),
    )
}

#[track_caller]
fn assert_same(body: &str) {
    let (new, old) = answers(body.as_bytes(), 0.0123);
    assert_eq!(new, old, "for {body:?}");
}

#[test]
fn the_documented_example_and_the_tests_documents() {
    for body in [
        r#"{"test_input":"real_data"}"#,
        r#"{"n":42,"o":{"a":1},"l":[true]}"#,
        r#"[{"a":1,"b":2},"loose",{"c":3}]"#,
        "  -1.5 ",
        r#"{"outer":{"inner":[4,-2,{"deep":10}]},"x":0.5}"#,
        "[1]",
        "{}",
        "[]",
        r#"[{}, [], {"a": {}}]"#,
    ] {
        assert_same(body);
    }
}

#[test]
fn the_bench_documents() {
    for size in [1024, 64 * 1024] {
        let body = fixtures::json_document(size);
        // As the bench's `exact_path`: a repeated key leaves it to the tree.
        let repeated_key = [&b"{\"version\":0,"[..], &body[1..]].concat();
        for body in [body, repeated_key] {
            let (new, old) = answers(&body, 0.0123);
            assert!(new.is_ok());
            assert_eq!(new, old, "json_document({size})");
        }
    }
}

#[test]
fn common_documents_take_the_one_pass_scan() {
    let mut documents = vec![fixtures::json_document(1024), fixtures::json_document(64 * 1024)];
    for text in [
        r#"{"test_input":"real_data"}"#,
        r#" [ {"a" : -1.5e3, "b":[0.25, -0, 1E+2, 123456789012345678]}, "x\"\u00e9\ud83d\ude00\n", null, true ] "#,
        "-0.000001",
    ] {
        documents.push(text.as_bytes().to_vec());
    }
    for body in documents {
        let mut out = Vec::new();
        assert!(
            scan::scan(&body, &mut out).is_some(),
            "{}",
            String::from_utf8_lossy(&body)
        );
        assert_eq!(answers(&body, 1.0).0, answers(&body, 1.0).1);
    }
}

#[test]
fn numbers_come_out_as_serde_json_reads_them() {
    for number in [
        "0",
        "-0",
        "-0.0",
        "0.0",
        "1.0",
        "1.50",
        "1e2",
        "1.0e2",
        "1E+2",
        "-1e-2",
        "1e-7",
        "1e21",
        "1e22",
        "123456789012345678901234567890",
        "0.1",
        "0.30000000000000004",
        "5e-324",
        "1e-400",
        "1.7976931348623157e308",
        "1e308",
        "1e309",
        "18446744073709551615",
        "18446744073709551616",
        "-9223372036854775808",
        "-9223372036854775809",
        "9007199254740993",
        "2.5e-5",
        "123.456e10",
        "0.000001",
        "1.5e300",
        "-1.5e300",
    ] {
        assert_same(number);
        assert_same(&format!(r#"{{"x":{number},"y":[{number},1]}}"#));
        assert_same(&format!("[{number},{number},-1e300,1e300]"));
    }
}

#[test]
fn strings_come_out_escaped_as_serde_json_escapes_them() {
    for string in [
        r#""plain""#,
        r#""\"""#,
        r#""\\""#,
        r#""\/""#,
        r#""\b\f\n\r\t""#,
        r#""\u0000\u001f\u001F\u007f""#,
        r#""\u00e9 é €""#,
        r#""\ud83d\ude00 😀""#,
        r#""\ud800""#,
        r#""\udc00x""#,
        r#""\u2028""#,
        "\"\u{7f}\"",
        "\"raw\ttab\"",
        r#""\x""#,
        r#""\u12""#,
    ] {
        assert_same(string);
        assert_same(&format!("{{{string}:{string}}}"));
        assert_same(&format!("[{string},{{{string}:[{string}]}}]"));
    }
}

#[test]
fn a_repeated_key_keeps_its_first_place_and_its_last_value() {
    let many: Vec<String> = (0..40).map(|i| format!(r#""k{}":{i}"#, i % 23)).collect();
    for body in [
        r#"{"a":1,"b":2,"a":3}"#,
        r#"{"a":[1,[2,{"x":9}]],"b":2,"a":"x"}"#,
        r#"{"a":1,"\u0061":2}"#,
        r#"[{"a":1,"a":{"b":1,"b":2}},{"c":1}]"#,
        &format!("{{{}}}", many.join(",")),
        &format!("[{{{}}}]", many.join(",")),
    ] {
        assert_same(body);
    }
}

#[test]
fn nesting_is_refused_where_serde_json_refuses_it() {
    for depth in [1, 2, 126, 127, 128, 129, 300] {
        assert_same(&format!("{}{}", "[".repeat(depth), "]".repeat(depth)));
        assert_same(&format!("{}1{}", r#"{"a":"#.repeat(depth), "}".repeat(depth)));
        assert_same(&format!("{}{}", "[{\"a\":".repeat(depth / 2), "}]".repeat(depth / 2)));
    }
}

#[test]
fn invalid_documents_are_refused_with_serde_json_s_message() {
    for body in [
        "",
        " ",
        "\n\t\r",
        "\u{c}",
        "\u{c}1",
        "{",
        "}",
        "[1,]",
        "[1 2]",
        r#"{"a" 1}"#,
        r#"{"a":1,}"#,
        "{1:2}",
        "01",
        "1.",
        ".5",
        "-",
        "+1",
        "1e",
        "nul",
        "truex",
        "\"open",
        "[1] [2]",
        "\u{feff}{}",
        "NaN",
        "Infinity",
    ] {
        let (new, old) = answers(body.as_bytes(), 0.0);
        assert!(new.is_err(), "{body:?} was accepted");
        assert_eq!(new, old, "for {body:?}");
    }
    let (new, old) = answers(b"[\"\xff\"]", 0.0);
    assert!(new.is_err());
    assert_eq!(new, old);
}

#[test]
fn processing_time_is_written_as_serde_json_writes_a_float() {
    for elapsed_ms in [0.0, 1e-7, 0.0123, 1.0, 123456.789, 1e17, f64::NAN, f64::INFINITY] {
        let (new, old) = answers(b"{}", elapsed_ms);
        assert_eq!(new, old, "for {elapsed_ms}");
    }
}

/// Whitespace as JSON allows it.
fn ws() -> impl Strategy<Value = &'static str> {
    prop_oneof![4 => Just(""), 1 => Just(" "), 1 => Just("\n\t"), 1 => Just("\r\n  ")]
}

fn number() -> impl Strategy<Value = String> {
    prop_oneof![
        "-?(0|[1-9][0-9]{0,24})",
        "-?(0|[1-9][0-9]{0,8})\\.[0-9]{1,20}",
        "-?(0|[1-9][0-9]{0,20})(\\.[0-9]{1,20})?[eE][+-]?[0-9]{1,3}",
    ]
}

/// A JSON string, with escapes of every kind (a few of them invalid).
fn string() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        8 => "[a-zA-Z0-9 /'<>&]{1,6}",
        2 => "[é€😀\u{7f}\u{80}\u{2028}\u{ffff}]",
        4 => prop::sample::select(vec![
            r#"\""#, r#"\\"#, r#"\/"#, r#"\b"#, r#"\f"#, r#"\n"#, r#"\r"#, r#"\t"#, r#"\u0000"#, r#"\u001f"#,
            r#"\u0041"#, r#"\u00E9"#, r#"\u20ac"#, r#"\uD83D\uDE00"#,
        ])
        .prop_map(str::to_owned),
        1 => prop::sample::select(vec![r#"\ud800"#, r#"\uDC00"#, "\t", r#"\q"#]).prop_map(str::to_owned),
    ];
    prop::collection::vec(piece, 0..5).prop_map(|pieces| format!("\"{}\"", pieces.concat()))
}

/// Keys drawn from a few, so objects often repeat one (`\u0061` is `a`).
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(vec![r#""a""#, r#""b""#, r#""\u0061""#, r#""c\n""#, r#""""#]).prop_map(str::to_owned),
        1 => string(),
    ]
}

/// JSON text, mostly valid, spelt in the many ways JSON allows. With
/// `repeat_keys`, objects often repeat a key (which the scan leaves to the
/// exact path); without, each key of an object is told apart by a suffix.
fn document(repeat_keys: bool) -> impl Strategy<Value = String> {
    let scalar = prop_oneof![
        Just("null".to_owned()),
        Just("true".to_owned()),
        Just("false".to_owned()),
        number(),
        string(),
    ];
    scalar.prop_recursive(5, 64, 6, move |inner| {
        prop_oneof![
            prop::collection::vec((ws(), inner.clone(), ws()), 0..6).prop_map(|elements| {
                let elements: Vec<String> = elements.into_iter().map(|(a, v, b)| format!("{a}{v}{b}")).collect();
                format!("[{}]", elements.join(","))
            }),
            prop::collection::vec((key(), ws(), inner), 0..6).prop_map(move |entries| {
                let entries: Vec<String> = (entries.into_iter().enumerate())
                    .map(|(i, (k, s, v))| match repeat_keys {
                        true => format!("{k}{s}:{s}{v}"),
                        false => format!("{}~{i}\"{s}:{s}{v}", &k[..k.len() - 1]),
                    })
                    .collect();
                format!("{{{}}}", entries.join(","))
            }),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn generated_documents_get_the_reference_s_answer(
        body in prop_oneof![document(true), document(false)],
        before in ws(),
        after in ws(),
    ) {
        let body = format!("{before}{body}{after}");
        let (new, old) = answers(body.as_bytes(), 0.5);
        prop_assert_eq!(new, old, "for {:?}", body);
    }

    #[test]
    fn what_the_scan_reads_it_reads_as_the_exact_path_does(body in document(false)) {
        let body = body.as_bytes();
        let mut scanned_text = Vec::new();
        if let Some(scanned) = scan::scan(body, &mut scanned_text) {
            let document = document::parse(body).expect("the scan takes only valid JSON");
            let mut text = Vec::new();
            let records = transform::write_document(&mut text, &document);
            prop_assert_eq!(String::from_utf8_lossy(&scanned_text), String::from_utf8_lossy(&text));
            prop_assert_eq!(scanned.records, records);
            prop_assert_eq!(scanned.stats, InputStats::of(&document, body.len()));
        }
    }

    #[test]
    fn damaged_documents_get_the_reference_s_answer(body in document(false), at in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let mut body = body.into_bytes();
        let at = at.index(body.len());
        body[at] = byte;
        let (new, old) = answers(&body, 0.5);
        prop_assert_eq!(new, old, "for {:?}", String::from_utf8_lossy(&body));
    }

    #[test]
    fn cut_documents_get_the_reference_s_answer(body in document(false), at in any::<prop::sample::Index>()) {
        let cut = &body.as_bytes()[..at.index(body.len() + 1)];
        let (new, old) = answers(cut, 0.5);
        prop_assert_eq!(new, old, "for {:?}", String::from_utf8_lossy(cut));
    }

    #[test]
    fn any_processing_time_is_written_as_serde_json_writes_it(elapsed_ms in any::<f64>()) {
        let (new, old) = answers(b"[1]", elapsed_ms);
        prop_assert_eq!(new, old);
    }
}
