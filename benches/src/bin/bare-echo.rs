//! `bare-echo [ADDR] [--header-read-timeout]`: the smallest hyper server that
//! answers a POST with its body. It is configured like the gateway (HTTP/1.1
//! keep-alive, `TCP_NODELAY`, tokio's multi-thread runtime) so that the
//! difference between the two is the gateway's own work.
//!
//! `--header-read-timeout` adds the one hyper setting the gateway has and
//! this baseline lacks (a timer and a 30 s header-read timeout, which arms a
//! timer for every request), to measure what that setting alone costs.
#![forbid(unsafe_code)]

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, header};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let header_read_timeout = args.iter().any(|a| a == "--header-read-timeout");
    let addr = args
        .iter()
        .find(|a| !a.starts_with("--"))
        .cloned()
        .unwrap_or_else(|| "127.0.0.1:8081".into());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    eprintln!("bare-echo listening on {}", listener.local_addr()?);
    let mut builder = http1::Builder::new();
    builder.keep_alive(true);
    if header_read_timeout {
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(Duration::from_secs(30));
    }
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        let connection = builder.serve_connection(TokioIo::new(stream), service_fn(echo));
        tokio::spawn(async move {
            let _ = connection.await;
        });
    }
}

async fn echo(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let content_type = request.headers().get(header::CONTENT_TYPE).cloned();
    let body = request
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let mut response = Response::new(Full::new(body));
    if let Some(content_type) = content_type {
        response.headers_mut().insert(header::CONTENT_TYPE, content_type);
    }
    Ok(response)
}
