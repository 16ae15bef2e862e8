//! The FlexCore plugin ABI, version 1, and the Rust SDK for writing plugins.
//!
//! `include/flexcore.h` is the source of truth. This crate mirrors it in three
//! layers:
//!
//! - [`ffi`]: the raw `#[repr(C)]` structs and constants, shared by plugins and
//!   the host (a test checks them field by field against the header);
//! - [`Request`], [`Response`], [`PluginError`] and [`Status`]: the safe types a
//!   plugin author works with;
//! - [`export_plugin!`]: the macro that turns a plain Rust function into an
//!   exported plugin, catching panics at the boundary.
//!
//! ```
//! use flexcore_abi::{PluginError, Request, Response};
//!
//! flexcore_abi::export_plugin!(name = "echo", version = "1.0.0", invoke = echo);
//!
//! fn echo(req: &Request) -> Result<Response<'_>, PluginError> {
//!     Ok(Response::bytes(req.body()).with_content_type(req.content_type()))
//! }
//! ```

// This crate is the C boundary: `unsafe` is its job (the workspace denies it
// everywhere else). Every block still carries its `// SAFETY:` comment.
#![allow(unsafe_code)]

pub mod ffi;
pub mod host;
mod request;
mod response;
mod status;
#[doc(hidden)]
pub mod trampoline;

pub use request::{Request, RequestBuf};
pub use response::{PluginError, Response};
pub use status::Status;
pub use trampoline::valid_name as valid_plugin_name;

/// The ABI major version this crate implements.
pub const ABI_MAJOR: u16 = 1;
/// The ABI minor version this crate implements.
pub const ABI_MINOR: u16 = 1;

/// Exports a Rust function as a FlexCore plugin.
///
/// Arguments, in this order (the optional ones may be left out):
///
/// - `name = "..."`: the plugin id, 1 to 64 of `[a-z0-9._-]` starting with a
///   letter or digit (checked at compile time);
/// - `version = "..."`;
/// - `description = "..."` (optional);
/// - `may_block = true` (optional): calls may block, so the host runs them on
///   its blocking thread pool instead of inline on an async worker;
/// - `invoke = path`: a `fn(&Request) -> Result<Response, PluginError>`;
/// - `init = path` (optional): a `fn() -> Result<(), PluginError>` run when the
///   plugin is loaded (and again after a panic);
/// - `shutdown = path` (optional): a `fn()` run before the plugin is retired.
///
/// Every entry point catches panics: a panic becomes [`Status::Panic`] with the
/// panic message, and never unwinds into the host.
#[macro_export]
macro_rules! export_plugin {
    (
        name = $name:literal,
        version = $version:literal
        $(, description = $description:literal)?
        $(, may_block = $may_block:literal)?
        , invoke = $invoke:path
        $(, init = $init:path)?
        $(, shutdown = $shutdown:path)?
        $(,)?
    ) => {
        const _: () = ::core::assert!(
            $crate::trampoline::valid_name($name),
            "a plugin name is 1 to 64 characters of [a-z0-9._-]"
        );

        #[doc(hidden)]
        pub struct __FlexcoreExportedPlugin;

        impl $crate::trampoline::Plugin for __FlexcoreExportedPlugin {
            fn invoke(
                request: &$crate::Request,
            ) -> ::core::result::Result<$crate::Response<'_>, $crate::PluginError> {
                $invoke(request)
            }
            $(
                fn init() -> ::core::result::Result<(), $crate::PluginError> {
                    $init()
                }
            )?
            $(
                fn shutdown() {
                    $shutdown()
                }
            )?
        }

        static __FLEXCORE_DESCRIPTOR: $crate::trampoline::StaticDescriptor =
            $crate::trampoline::StaticDescriptor::new::<__FlexcoreExportedPlugin>(
                ::core::concat!($name, "\0"),
                ::core::concat!($version, "\0"),
                $crate::export_plugin!(@description $($description)?),
                $crate::export_plugin!(@may_block $($may_block)?),
            );

        /// The plugin's entry point (see `flexcore.h`).
        #[allow(unsafe_code)] // `no_mangle` is an unsafe attribute; nothing else here is unsafe.
        #[unsafe(no_mangle)]
        pub extern "C" fn flexcore_plugin_entry_v1(
            host_abi_major: u16,
            host_abi_minor: u16,
        ) -> *const $crate::ffi::FlexcorePlugin {
            __FLEXCORE_DESCRIPTOR.entry(host_abi_major, host_abi_minor)
        }
    };
    (@description) => { "\0" };
    (@description $description:literal) => { ::core::concat!($description, "\0") };
    (@may_block) => { false };
    (@may_block $may_block:literal) => { $may_block };
}
