//! The smallest FlexCore plugin: it answers with the body and content type it
//! was given.
#![deny(unsafe_code)]

use flexcore_abi::{PluginError, Request, Response};

flexcore_abi::export_plugin!(
    name = "echo",
    version = "1.0.0",
    description = "Answers with the body and content type it was given",
    invoke = echo
);

pub fn echo(req: &Request) -> Result<Response<'_>, PluginError> {
    Ok(Response::bytes(req.body()).with_content_type(req.content_type()))
}
