//! Proves the Rust mirror in `ffi` has the C header's layout: compiles a small C
//! program against `include/flexcore.h` that prints every size, alignment and
//! offset, and compares each with Rust's own.

use std::mem::{align_of, offset_of, size_of};
use std::path::Path;
use std::process::Command;

use flexcore_abi::ffi::*;

macro_rules! rust_layout {
    ($($c_type:literal => $ty:ty { $($field:ident),* $(,)? })*) => {{
        let mut lines = Vec::new();
        $(
            lines.push(format!("{} size {}", $c_type, size_of::<$ty>()));
            lines.push(format!("{} align {}", $c_type, align_of::<$ty>()));
            $( lines.push(format!("{}.{} {}", $c_type, stringify!($field), offset_of!($ty, $field))); )*
        )*
        lines
    }};
}

macro_rules! c_program {
    ($($c_type:literal => $ty:ty { $($field:ident),* $(,)? })*) => {{
        let mut src = String::from("#include <stdio.h>\n#include <stddef.h>\n#include \"flexcore.h\"\nint main(void) {\n");
        $(
            src.push_str(&format!("printf(\"{0} size %zu\\n\", sizeof({0}));\n", $c_type));
            src.push_str(&format!("printf(\"{0} align %zu\\n\", _Alignof({0}));\n", $c_type));
            $( src.push_str(&format!("printf(\"{0}.{1} %zu\\n\", offsetof({0}, {1}));\n", $c_type, stringify!($field))); )*
        )*
        src.push_str("return 0;\n}\n");
        src
    }};
}

macro_rules! abi_types {
    ($m:ident) => {
        $m! {
            "flexcore_host" => FlexcoreHost { struct_size, abi_major, abi_minor, host_data, log, config_get }
            "flexcore_request" => FlexcoreRequest {
                struct_size, reserved, body, body_len, content_type, content_type_len,
                request_id, request_id_len, deadline_unix_ms, config, config_len
            }
            "flexcore_response" => FlexcoreResponse {
                struct_size, reserved, body, body_len, content_type, content_type_len,
                error_message, error_message_len, plugin_data
            }
            "flexcore_plugin" => FlexcorePlugin {
                struct_size, abi_major, abi_minor, name, version, description, flags,
                init, invoke, free_response, shutdown
            }
        }
    };
}

#[test]
fn rust_types_match_the_c_header() {
    let include = Path::new(env!("CARGO_MANIFEST_DIR")).join("include");
    let dir = std::env::temp_dir().join(format!("flexcore-layout-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (src, exe) = (dir.join("layout.c"), dir.join("layout"));
    std::fs::write(&src, abi_types!(c_program)).unwrap();

    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let status = Command::new(&cc)
        .args(["-std=c11", "-Wall", "-Werror", "-o"])
        .arg(&exe)
        .arg(&src)
        .arg("-I")
        .arg(&include)
        .status()
        .unwrap_or_else(|e| panic!("a C compiler ({cc}) is needed for this test: {e}"));
    assert!(status.success(), "the header did not compile");
    let output = Command::new(&exe).output().unwrap();
    let c_lines: Vec<String> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    std::fs::remove_dir_all(&dir).ok();

    assert_eq!(c_lines, abi_types!(rust_layout));
}

#[test]
fn header_constants_match() {
    let header = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("include/flexcore.h")).unwrap();
    let define = |name: &str| -> String {
        header
            .lines()
            .find_map(|l| {
                l.strip_prefix("#define ")
                    .and_then(|r| r.strip_prefix(name))
                    .filter(|r| r.starts_with(' '))
            })
            .unwrap_or_else(|| panic!("{name} not in header"))
            .split_whitespace()
            .next()
            .unwrap()
            .to_owned()
    };
    assert_eq!(define("FLEXCORE_ABI_MAJOR"), flexcore_abi::ABI_MAJOR.to_string());
    assert_eq!(define("FLEXCORE_ABI_MINOR"), flexcore_abi::ABI_MINOR.to_string());
    for (name, value) in [
        ("FLEXCORE_STATUS_OK", FLEXCORE_STATUS_OK),
        ("FLEXCORE_STATUS_INVALID_INPUT", FLEXCORE_STATUS_INVALID_INPUT),
        ("FLEXCORE_STATUS_UNAVAILABLE", FLEXCORE_STATUS_UNAVAILABLE),
        ("FLEXCORE_STATUS_INTERNAL", FLEXCORE_STATUS_INTERNAL),
        ("FLEXCORE_STATUS_PANIC", FLEXCORE_STATUS_PANIC),
        ("FLEXCORE_LOG_ERROR", FLEXCORE_LOG_ERROR),
        ("FLEXCORE_LOG_TRACE", FLEXCORE_LOG_TRACE),
    ] {
        assert_eq!(define(name), value.to_string(), "{name}");
    }
    assert_eq!(
        std::str::from_utf8(ENTRY_SYMBOL).unwrap().trim_end_matches('\0'),
        define("FLEXCORE_ENTRY_SYMBOL").trim_matches('"')
    );
}
