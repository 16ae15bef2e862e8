//! The client side of one HTTP/1.1 keep-alive connection, on hyper's
//! low-level client (`hyper::client::conn::http1`), and the target it talks to.
//!
//! The connection's driver future is polled in the same task as the request
//! (a `select!`), not spawned: one task per connection halves the wake-ups a
//! request costs the client, which matters when client and server share the
//! machine's cores.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::pin::Pin;
use std::time::Duration;

use anyhow::{Context, bail};
use bytes::Bytes;
use http::{HeaderValue, Request, StatusCode, Uri, header};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, Connection, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use super::scenario::{Scenario, ScenarioSet};

/// Where requests go.
#[derive(Debug, Clone)]
pub struct Target {
    pub addr: SocketAddr,
    /// The `Host` header: the URL's authority.
    pub host: HeaderValue,
    /// `http://host:port`, for reports.
    pub base: String,
}

impl Target {
    /// Resolves an `http://host[:port][/path]` URL; returns the target and
    /// the URL's path (`None` when it is just `/`). Only loopback addresses
    /// are accepted unless `allow_remote`: load belongs on machines you own.
    pub async fn resolve(url: &str, allow_remote: bool) -> anyhow::Result<(Self, Option<String>)> {
        let uri: Uri = url.parse().with_context(|| format!("{url:?} is not a URL"))?;
        match uri.scheme_str() {
            Some("http") => {}
            Some(other) => bail!("{url}: only http:// is supported, not {other}://"),
            None => bail!("{url}: give a full URL such as http://127.0.0.1:8080/health"),
        }
        let authority = uri.authority().with_context(|| format!("{url}: no host"))?;
        let port = authority.port_u16().unwrap_or(80);
        let host = authority.host().trim_start_matches('[').trim_end_matches(']');
        let addr = tokio::net::lookup_host((host, port))
            .await
            .with_context(|| format!("cannot resolve {host}"))?
            .next()
            .with_context(|| format!("{host} resolves to no address"))?;
        if !allow_remote && !addr.ip().is_loopback() {
            bail!(
                "{url} resolves to {addr}, which is not a loopback address; \
                 pass --allow-remote to load a machine other than this one"
            );
        }
        let path = uri
            .path_and_query()
            .map(|p| p.as_str().to_owned())
            .filter(|p| p != "/" && !p.is_empty());
        Ok((
            Self {
                addr,
                host: HeaderValue::from_str(authority.as_str())?,
                base: format!("http://{authority}"),
            },
            path,
        ))
    }

    /// A target from a socket address (tests, and `compare`).
    pub fn from_addr(addr: SocketAddr) -> Self {
        let authority = addr.to_string();
        Self {
            addr,
            host: HeaderValue::from_str(&authority).unwrap_or_else(|_| HeaderValue::from_static("localhost")),
            base: format!("http://{authority}"),
        }
    }

    /// The request for one send of `scenario`.
    pub fn request(&self, scenario: &Scenario) -> Request<Full<Bytes>> {
        let mut request = Request::new(Full::new(scenario.body.clone()));
        *request.method_mut() = scenario.method.clone();
        // The path was validated when the scenario was built.
        *request.uri_mut() = Uri::try_from(scenario.path.as_str()).unwrap_or_default();
        let headers = request.headers_mut();
        headers.reserve(scenario.headers.len() + 1);
        headers.insert(header::HOST, self.host.clone());
        for (name, value) in &scenario.headers {
            headers.append(name, value.clone());
        }
        request
    }
}

/// Why an exchange failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    Connect,
    Timeout,
    Io,
}

/// One open connection.
pub struct Conn {
    sender: SendRequest<Full<Bytes>>,
    driver: Pin<Box<Connection<TokioIo<TcpStream>, Full<Bytes>>>>,
    closed: bool,
}

impl Conn {
    /// Connects and shakes hands (HTTP/1.1, `TCP_NODELAY`).
    pub async fn connect(addr: SocketAddr) -> Result<Self, Failure> {
        let stream = TcpStream::connect(addr).await.map_err(|_| Failure::Connect)?;
        let _ = stream.set_nodelay(true);
        let (sender, driver) = http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|_| Failure::Connect)?;
        Ok(Self {
            sender,
            driver: Box::pin(driver),
            closed: false,
        })
    }

    /// Whether the connection can take another request.
    pub fn is_open(&self) -> bool {
        !self.closed && !self.sender.is_closed()
    }

    /// Sends one request and reads the whole answer; returns its status.
    pub async fn exchange(&mut self, request: Request<Full<Bytes>>) -> Result<StatusCode, Failure> {
        let sender = &mut self.sender;
        let exchange = async {
            sender.ready().await.map_err(|_| Failure::Io)?;
            let response = sender.send_request(request).await.map_err(|_| Failure::Io)?;
            let status = response.status();
            response.into_body().collect().await.map_err(|_| Failure::Io)?;
            Ok(status)
        };
        tokio::select! {
            biased;
            result = exchange => result,
            _ = &mut self.driver => {
                // The server closed the connection before answering in full.
                self.closed = true;
                Err(Failure::Io)
            }
        }
    }

    /// As [`exchange`](Self::exchange), returning the body too (setup requests).
    async fn exchange_full(&mut self, request: Request<Full<Bytes>>) -> Result<(StatusCode, Bytes), Failure> {
        let sender = &mut self.sender;
        let exchange = async {
            sender.ready().await.map_err(|_| Failure::Io)?;
            let response = sender.send_request(request).await.map_err(|_| Failure::Io)?;
            let status = response.status();
            let body = response
                .into_body()
                .collect()
                .await
                .map_err(|_| Failure::Io)?
                .to_bytes();
            Ok((status, body))
        };
        tokio::select! {
            biased;
            result = exchange => result,
            _ = &mut self.driver => {
                self.closed = true;
                Err(Failure::Io)
            }
        }
    }
}

/// `GET path` on one fresh connection: the status and the body (for
/// looking at a server's state around a run, such as `GET /plugins`).
pub async fn get(target: &Target, path: &str, timeout: Duration) -> anyhow::Result<(StatusCode, Bytes)> {
    let scenario = Scenario::new(path, Some("GET"), path, &[], &super::scenario::BodySource::Empty, 1)?;
    let exchange = async {
        let mut conn = Conn::connect(target.addr).await.ok()?;
        conn.exchange_full(target.request(&scenario)).await.ok()
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .ok()
        .flatten()
        .with_context(|| format!("GET {path} on {} got no answer", target.base))
}

/// Sends the set's setup requests in order, then binds the captured values
/// into every scenario. Any refused setup request stops the run, naming it.
pub async fn run_setup(target: &Target, set: &mut ScenarioSet, timeout: Duration) -> anyhow::Result<()> {
    let mut vars = BTreeMap::from([("run_id".to_owned(), run_id())]);
    let mut conn: Option<Conn> = None;
    for setup in &set.setup {
        let request = setup.request.bind(&vars)?;
        let name = &request.name;
        let mut open = match conn.take() {
            Some(c) if c.is_open() => c,
            _ => tokio::time::timeout(timeout, Conn::connect(target.addr))
                .await
                .ok()
                .and_then(Result::ok)
                .with_context(|| format!("setup {name}: cannot connect to {}", target.base))?,
        };
        let (status, body) = tokio::time::timeout(timeout, open.exchange_full(target.request(&request)))
            .await
            .ok()
            .and_then(Result::ok)
            .with_context(|| format!("setup {name}: {} {} got no answer", request.method, request.path))?;
        if !setup.accepts(status.as_u16()) {
            bail!(
                "setup {name}: {} {} answered {status}: {}",
                request.method,
                request.path,
                String::from_utf8_lossy(&body[..body.len().min(300)])
            );
        }
        if !setup.capture.is_empty() {
            let json: serde_json::Value =
                serde_json::from_slice(&body).with_context(|| format!("setup {name}: the answer is not JSON"))?;
            for (var, pointer) in &setup.capture {
                let value = json
                    .pointer(pointer)
                    .with_context(|| format!("setup {name}: no {pointer} in the answer"))?;
                let text = match value {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                vars.insert(var.clone(), text);
            }
        }
        conn = Some(open);
    }
    for scenario in &mut set.scenarios {
        *scenario = scenario.bind(&vars)?;
    }
    Ok(())
}

/// Unique enough per run: milliseconds since the epoch and the process id.
fn run_id() -> String {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    format!("{ms:x}-{}", std::process::id())
}
