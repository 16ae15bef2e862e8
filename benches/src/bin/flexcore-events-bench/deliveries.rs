//! Reading the recorder's file as it grows (one line per invocation: event
//! id, receive time, the event's `sent_us`, node) and turning deliveries of
//! published events into latencies.

use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::time::Duration;

use hdrhistogram::Histogram;
use tokio::time::Instant;

use crate::publish::Published;

/// The first delivery of an event.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub received_us: u64,
    pub node: String,
}

/// The recorder's file, read incrementally.
pub struct Recorder {
    file: PathBuf,
    offset: u64,
    partial: String,
    pub first: HashMap<String, Delivery>,
    pub calls: usize,
}

impl Recorder {
    pub fn new(file: PathBuf) -> Self {
        Self {
            file,
            offset: 0,
            partial: String::new(),
            first: HashMap::new(),
            calls: 0,
        }
    }

    /// Reads what was appended since the last poll.
    pub fn poll(&mut self) -> anyhow::Result<()> {
        let Ok(mut file) = std::fs::File::open(&self.file) else {
            return Ok(());
        };
        file.seek(SeekFrom::Start(self.offset))?;
        let mut text = String::new();
        self.offset += file.read_to_string(&mut text)? as u64;
        self.partial.push_str(&text);
        let complete = self.partial.rfind('\n').map_or(0, |i| i + 1);
        let lines: String = self.partial.drain(..complete).collect();
        for line in lines.lines() {
            let mut fields = line.split(' ');
            let (Some(id), Some(received), Some(_sent), Some(node)) =
                (fields.next(), fields.next(), fields.next(), fields.next())
            else {
                continue;
            };
            self.calls += 1;
            let Ok(received_us) = received.parse() else { continue };
            self.first.entry(id.to_owned()).or_insert_with(|| Delivery {
                received_us,
                node: node.to_owned(),
            });
        }
        Ok(())
    }

    /// Polls until every event of `published` has been delivered, at most `within`.
    pub async fn wait_for(&mut self, published: &[Published], within: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + within;
        loop {
            self.poll()?;
            let missing = published.iter().filter(|p| !self.first.contains_key(&p.id)).count();
            if missing == 0 {
                return Ok(());
            }
            if Instant::now() > deadline {
                anyhow::bail!(
                    "{missing} of {} events were not delivered within {within:?}",
                    published.len()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Latencies of one set of events, in µs.
pub struct Latencies {
    /// Publish (the request sent) → plugin invocation.
    pub delivery: Histogram<u64>,
    /// The same, for events invoked on another node than the one they were published to.
    pub cross_node: Histogram<u64>,
    /// `POST /events` → 202.
    pub publish: Histogram<u64>,
    /// Sends behind schedule (the client's lag, not the system's).
    pub late: Histogram<u64>,
}

impl Latencies {
    pub fn of(published: &[Published], recorder: &Recorder, node_ids: &[String]) -> anyhow::Result<Self> {
        let histogram = || Histogram::<u64>::new_with_bounds(1, 60_000_000, 3);
        let mut latencies = Self {
            delivery: histogram()?,
            cross_node: histogram()?,
            publish: histogram()?,
            late: histogram()?,
        };
        for event in published {
            latencies.publish.saturating_record(event.round_trip_us.max(1));
            latencies.late.saturating_record(event.late_us.max(1));
            let Some(delivery) = recorder.first.get(&event.id) else {
                continue;
            };
            let latency = delivery.received_us.saturating_sub(event.sent_us).max(1);
            latencies.delivery.saturating_record(latency);
            if node_ids.get(event.via).is_some_and(|via| *via != delivery.node) {
                latencies.cross_node.saturating_record(latency);
            }
        }
        Ok(latencies)
    }
}

/// `1.234 ms`.
pub fn ms(us: u64) -> String {
    format!("{:.3} ms", us as f64 / 1000.0)
}
