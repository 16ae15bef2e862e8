//! Publishing events (`POST /events`) over HTTP/1.1 keep-alive connections,
//! on hyper's low-level client: at a fixed rate (open loop: each event has
//! its scheduled time, and a late send counts against the latency), or as
//! fast as a number of connections allow (closed loop).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use bytes::Bytes;
use http::{Request, StatusCode, header};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::time::Instant;

/// The event type the bench publishes and subscribes the recorder to.
pub const EVENT_TYPE: &str = "bench.tick";

/// Microseconds since the Unix epoch (the recorder's clock, CLOCK_REALTIME).
pub fn unix_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

/// One keep-alive connection.
pub struct Conn {
    addr: SocketAddr,
    sender: SendRequest<Full<Bytes>>,
}

impl Conn {
    pub async fn connect(addr: SocketAddr) -> anyhow::Result<Self> {
        let stream = TcpStream::connect(addr)
            .await
            .with_context(|| format!("cannot connect to {addr}"))?;
        stream.set_nodelay(true)?;
        let (sender, driver) = http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            let _ = driver.await;
        });
        Ok(Self { addr, sender })
    }

    /// Sends `method path` with a JSON body; the status and the whole body.
    pub async fn send(&mut self, method: &str, path: &str, body: Bytes) -> anyhow::Result<(StatusCode, Bytes)> {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, self.addr.to_string())
            .header(header::CONTENT_TYPE, "application/json")
            .body(Full::new(body))?;
        self.sender.ready().await?;
        let response = self.sender.send_request(request).await?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        Ok((status, body))
    }

    /// `POST /events`; the new event's id.
    async fn publish(&mut self, seq: usize, sent_us: u64) -> anyhow::Result<String> {
        let body = format!(
            r#"{{"type":"{EVENT_TYPE}","source":"flexcore-events-bench","data":{{"seq":{seq},"sent_us":{sent_us}}}}}"#
        );
        let (status, body) = self.send("POST", "/events", Bytes::from(body)).await?;
        if status != StatusCode::ACCEPTED {
            bail!("POST /events: {status} {}", String::from_utf8_lossy(&body));
        }
        let accepted: serde_json::Value = serde_json::from_slice(&body)?;
        accepted["id"]
            .as_str()
            .map(str::to_owned)
            .context("POST /events: no id in the answer")
    }
}

/// One acknowledged event.
#[derive(Debug, Clone)]
pub struct Published {
    pub id: String,
    /// Index of the node it was published through.
    pub via: usize,
    /// When it was sent, in µs since the epoch.
    pub sent_us: u64,
    /// How late the send was against the schedule (fixed rate), in µs: the
    /// client's own lag (timer granularity, a stalled connection).
    pub late_us: u64,
    /// The `POST /events` round trip, in µs.
    pub round_trip_us: u64,
}

/// Publishes `count` events at `rate` per second, round robin over `nodes`,
/// from `workers` connections; event `i` is due at `i / rate` after the start
/// (tokio's timer wakes on whole milliseconds, so sends are up to ~1 ms late;
/// latency is counted from the actual send, the lateness reported apart).
pub async fn at_rate(nodes: &[SocketAddr], rate: u32, count: usize, workers: usize) -> anyhow::Result<Vec<Published>> {
    let start = Instant::now() + Duration::from_millis(20);
    let interval_ns = 1_000_000_000 / u64::from(rate.max(1));
    let mut tasks = Vec::with_capacity(workers);
    for worker in 0..workers {
        let via = worker % nodes.len();
        let mut conn = Conn::connect(nodes[via]).await?;
        tasks.push(tokio::spawn(async move {
            let mut published = Vec::with_capacity(count / workers + 1);
            for seq in (worker..count).step_by(workers) {
                let due = start + Duration::from_nanos(seq as u64 * interval_ns);
                tokio::time::sleep_until(due).await;
                let sent = Instant::now();
                let sent_us = unix_us();
                let id = conn.publish(seq, sent_us).await?;
                published.push(Published {
                    id,
                    via,
                    sent_us,
                    late_us: sent.saturating_duration_since(due).as_micros() as u64,
                    round_trip_us: sent.elapsed().as_micros() as u64,
                });
            }
            anyhow::Ok(published)
        }));
    }
    collect(tasks).await
}

/// Publishes `count` events as fast as `connections` connections to `node` allow.
pub async fn as_fast(node: SocketAddr, count: usize, connections: usize) -> anyhow::Result<Vec<Published>> {
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::with_capacity(connections);
    for _ in 0..connections {
        let mut conn = Conn::connect(node).await?;
        let next = Arc::clone(&next);
        tasks.push(tokio::spawn(async move {
            let mut published = Vec::with_capacity(count / connections + 1);
            for _ in 0..count {
                let seq = next.fetch_add(1, Ordering::Relaxed);
                if seq >= count {
                    break;
                }
                let sent_us = unix_us();
                let sent = Instant::now();
                let id = conn.publish(seq, sent_us).await?;
                published.push(Published {
                    id,
                    via: 0,
                    sent_us,
                    late_us: 0,
                    round_trip_us: sent.elapsed().as_micros() as u64,
                });
            }
            anyhow::Ok(published)
        }));
    }
    collect(tasks).await
}

async fn collect(
    tasks: Vec<tokio::task::JoinHandle<anyhow::Result<Vec<Published>>>>,
) -> anyhow::Result<Vec<Published>> {
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await??);
    }
    Ok(all)
}
