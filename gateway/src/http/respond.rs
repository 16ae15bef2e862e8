//! Building responses: JSON bodies with their status and headers.

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use serde::Serialize;

use super::Body;
use crate::Error;

/// `value` as a JSON response with `status`.
pub fn json(status: StatusCode, value: &impl Serialize) -> Result<Response<Body>, Error> {
    let body = serde_json::to_vec(value).map_err(|e| Error::Internal(format!("cannot serialise response: {e}")))?;
    let mut response = Response::new(Body::new(Bytes::from(body)));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Ok(response)
}

/// `value` as a 200 JSON response.
pub fn ok(value: &impl Serialize) -> Result<Response<Body>, Error> {
    json(StatusCode::OK, value)
}
