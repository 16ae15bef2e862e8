//! Drives the trampolines through the raw descriptor, as the host does.

use crate::ffi::{self, FlexcorePlugin, FlexcoreRequest, FlexcoreResponse};
use crate::{PluginError, Request, Response};

crate::export_plugin!(
    name = "sdk-test",
    version = "0.0.1",
    description = "exercises the SDK",
    invoke = handle
);

fn handle(req: &Request) -> Result<Response<'_>, PluginError> {
    match req.body() {
        b"panic" => panic!("asked to panic"),
        b"bad" => Err(PluginError::invalid_input("bad input")),
        body => Ok(Response::bytes(body).with_content_type(req.content_type())),
    }
}

fn descriptor() -> &'static FlexcorePlugin {
    // SAFETY: the entry returns a pointer to a static descriptor or NULL.
    unsafe { &*flexcore_plugin_entry_v1(1, 0) }
}

fn call(body: &[u8]) -> (i32, Vec<u8>, String, String) {
    let d = descriptor();
    let ct = "text/plain";
    let req = FlexcoreRequest {
        struct_size: size_of::<FlexcoreRequest>() as u32,
        reserved: 0,
        body: body.as_ptr(),
        body_len: body.len(),
        content_type: ct.as_ptr().cast(),
        content_type_len: ct.len(),
        request_id: std::ptr::null(),
        request_id_len: 0,
        deadline_unix_ms: 0,
        config: std::ptr::null(),
        config_len: 0,
    };
    let mut resp = FlexcoreResponse::empty();
    // SAFETY: valid request and response, as the header requires.
    let status = unsafe { (d.invoke.unwrap())(std::ptr::null_mut(), &req, &mut resp) };
    let read = |p: *const u8, n: usize| {
        if p.is_null() {
            vec![]
        } else {
            // SAFETY: a non-null (pointer, length) of the response, valid until free_response.
            unsafe { std::slice::from_raw_parts(p, n) }.to_vec()
        }
    };
    let out = read(resp.body, resp.body_len);
    let ct = String::from_utf8(read(resp.content_type.cast(), resp.content_type_len)).unwrap();
    let msg = String::from_utf8(read(resp.error_message.cast(), resp.error_message_len)).unwrap();
    // SAFETY: released once, after reading.
    unsafe { (d.free_response.unwrap())(std::ptr::null_mut(), &mut resp) };
    assert!(resp.body.is_null() && resp.error_message.is_null());
    (status, out, ct, msg)
}

#[test]
fn descriptor_describes_the_plugin() {
    let d = descriptor();
    assert_eq!(d.struct_size as usize, ffi::FLEXCORE_PLUGIN_V1_SIZE);
    assert_eq!((d.abi_major, d.abi_minor), (1, 1));
    // SAFETY: static NUL-terminated strings.
    let name = unsafe { std::ffi::CStr::from_ptr(d.name) };
    assert_eq!(name.to_str().unwrap(), "sdk-test");
    assert_ne!(d.flags & ffi::FLEXCORE_FLAG_THREAD_SAFE, 0);
    assert_eq!(d.flags & ffi::FLEXCORE_FLAG_MAY_BLOCK, 0);
}

#[test]
fn refuses_a_host_of_another_major() {
    assert!(flexcore_plugin_entry_v1(2, 0).is_null());
    assert!(!flexcore_plugin_entry_v1(1, 7).is_null());
}

#[test]
fn ok_response_carries_body_and_borrowed_content_type() {
    let (status, body, ct, msg) = call(b"hello");
    assert_eq!(status, ffi::FLEXCORE_STATUS_OK);
    assert_eq!(body, b"hello");
    assert_eq!(ct, "text/plain");
    assert_eq!(msg, "");
}

#[test]
fn error_carries_status_and_message() {
    let (status, body, _, msg) = call(b"bad");
    assert_eq!(status, ffi::FLEXCORE_STATUS_INVALID_INPUT);
    assert!(body.is_empty());
    assert_eq!(msg, "bad input");
}

#[test]
fn panic_is_caught_at_the_boundary() {
    let (status, _, _, msg) = call(b"panic");
    assert_eq!(status, ffi::FLEXCORE_STATUS_PANIC);
    assert!(msg.contains("asked to panic"), "{msg}");
    // The plugin still answers afterwards.
    assert_eq!(call(b"again").1, b"again");
}

#[test]
fn names_are_checked() {
    use super::valid_name;
    assert!(valid_name("data-processor"));
    assert!(valid_name("a.b_c-1"));
    assert!(!valid_name(""));
    assert!(!valid_name("Echo"));
    assert!(!valid_name("../x"));
    assert!(!valid_name(".."));
    assert!(!valid_name("-x"));
    assert!(!valid_name("a\0b"));
    assert!(!valid_name("a/b"));
    assert!(!valid_name(&"x".repeat(65)));
}
