//! What the machine did during a run, read from `/proc` (Linux): core count
//! and CPU affinity (do client and server share cores?), CPU time used by the
//! client, the server and everything else, and the server's memory (VmHWM is
//! the kernel's own peak-RSS mark; VmRSS is sampled every 100 ms).
//!
//! Elsewhere than Linux every reading is simply absent.

use std::collections::BTreeSet;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Linux reports CPU times in USER_HZ ticks, fixed at 100 per second for
/// user space on every architecture this project builds for.
const TICKS_PER_SECOND: f64 = 100.0;

/// The cores a process may run on, from `Cpus_allowed_list` (e.g. `0-1,4`).
pub fn allowed_cpus(pid: Option<u32>) -> Option<BTreeSet<u32>> {
    let status = read_status(pid)?;
    let list = field(&status, "Cpus_allowed_list:")?;
    let mut cpus = BTreeSet::new();
    for part in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => cpus.extend(a.parse::<u32>().ok()?..=b.parse::<u32>().ok()?),
            None => {
                cpus.insert(part.parse().ok()?);
            }
        }
    }
    Some(cpus)
}

/// `0-1` style text for a set of cores.
pub fn cpu_list(cpus: &BTreeSet<u32>) -> String {
    let mut ranges: Vec<(u32, u32)> = Vec::new();
    for &c in cpus {
        match ranges.last_mut() {
            Some((_, end)) if *end + 1 == c => *end = c,
            _ => ranges.push((c, c)),
        }
    }
    ranges
        .iter()
        .map(|(a, b)| if a == b { a.to_string() } else { format!("{a}-{b}") })
        .collect::<Vec<_>>()
        .join(",")
}

/// Online cores.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// Memory of a process, in bytes: (VmHWM peak, VmRSS now).
pub fn memory(pid: u32) -> Option<(u64, u64)> {
    let status = read_status(Some(pid))?;
    Some((kib(&status, "VmHWM:")?, kib(&status, "VmRSS:")?))
}

/// CPU seconds (user + system) used so far by a process and its live
/// descendants (nginx's workers, say), dead threads included.
pub fn tree_cpu_seconds(pid: u32) -> Option<f64> {
    let own = cpu_seconds(Some(pid))?;
    Some(
        own + descendants(pid)
            .into_iter()
            .filter_map(|p| cpu_seconds(Some(p)))
            .sum::<f64>(),
    )
}

/// The live descendants of a process.
pub fn descendants(pid: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let parents: Vec<(u32, u32)> = entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|p| Some((p, parent(p)?)))
        .collect();
    let mut found = vec![pid];
    let mut i = 0;
    while i < found.len() {
        let current = found[i];
        found.extend(parents.iter().filter(|(_, pp)| *pp == current).map(|(p, _)| *p));
        i += 1;
    }
    found.remove(0);
    found
}

fn parent(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat[stat.rfind(')')? + 2..].split_whitespace().nth(1)?.parse().ok()
}

/// CPU seconds (user + system) a process has used so far, its dead threads
/// included.
pub fn cpu_seconds(pid: Option<u32>) -> Option<f64> {
    let path = pid.map_or_else(|| "/proc/self/stat".into(), |p| format!("/proc/{p}/stat"));
    let stat = std::fs::read_to_string(path).ok()?;
    // The command name may hold spaces; fields restart after its ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 here.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / TICKS_PER_SECOND)
}

/// CPU seconds the whole machine spent busy (not idle, not waiting on I/O).
pub fn machine_busy_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().next()?.strip_prefix("cpu ")?;
    let ticks: Vec<f64> = line.split_whitespace().filter_map(|v| v.parse().ok()).collect();
    // user nice system idle iowait irq softirq steal (guest time is in user).
    let total: f64 = ticks.iter().take(8).sum();
    let idle = ticks.get(3)? + ticks.get(4)?;
    Some((total - idle) / TICKS_PER_SECOND)
}

/// The 1-minute load average.
pub fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn read_status(pid: Option<u32>) -> Option<String> {
    let path = pid.map_or_else(|| "/proc/self/status".into(), |p| format!("/proc/{p}/status"));
    std::fs::read_to_string(path).ok()
}

fn field<'a>(status: &'a str, name: &str) -> Option<&'a str> {
    status.lines().find_map(|l| l.strip_prefix(name)).map(str::trim)
}

fn kib(status: &str, name: &str) -> Option<u64> {
    let value = field(status, name)?;
    let number: u64 = value.split_whitespace().next()?.parse().ok()?;
    Some(number * 1024)
}

/// Whether the client and the server compete for the same cores.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CoreSharing {
    pub cores: usize,
    pub client_cpus: Option<String>,
    pub server_cpus: Option<String>,
    /// True when their allowed cores overlap, or when the server is unknown
    /// (a loopback target runs on this machine, and nothing pins either).
    pub shared: bool,
    pub note: String,
}

impl CoreSharing {
    pub fn detect(server_pid: Option<u32>) -> Self {
        let cores = cores();
        let client = allowed_cpus(None);
        let server = server_pid.and_then(|pid| allowed_cpus(Some(pid)));
        let (shared, note) = match (&client, &server) {
            (Some(c), Some(s)) => {
                let common = c.intersection(s).count();
                if common > 0 {
                    (
                        true,
                        format!(
                            "client and server share {common} of {cores} cores (client cpus {}, server cpus {})",
                            cpu_list(c),
                            cpu_list(s)
                        ),
                    )
                } else {
                    (
                        false,
                        format!(
                            "client and server on separate cores (client cpus {}, server cpus {})",
                            cpu_list(c),
                            cpu_list(s)
                        ),
                    )
                }
            }
            _ => (
                true,
                format!(
                    "client and server share this machine's {cores} cores (loopback; no --server-pid to check pinning)"
                ),
            ),
        };
        Self {
            cores,
            client_cpus: client.as_ref().map(cpu_list),
            server_cpus: server.as_ref().map(cpu_list),
            shared,
            note,
        }
    }
}

/// CPU used during the measured window, in cores (1.0 = one core busy).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CpuUse {
    pub client_cores: Option<f64>,
    pub server_cores: Option<f64>,
    /// Busy time of the whole machine minus client and server: other
    /// programs competing for the cores (a build, another benchmark).
    pub other_cores: Option<f64>,
    /// Server CPU time per response, in µs: what one request costs the
    /// server, whatever share of the machine it got. Filled by the report.
    #[serde(default)]
    pub server_us_per_request: Option<f64>,
    /// The same for the client.
    #[serde(default)]
    pub client_us_per_request: Option<f64>,
}

impl CpuUse {
    /// Fills the per-request costs from the window's throughput.
    pub fn per_request(mut self, rps: f64) -> Self {
        let cost = |cores: Option<f64>| cores.filter(|_| rps > 0.0).map(|c| c * 1e6 / rps);
        self.server_us_per_request = cost(self.server_cores);
        self.client_us_per_request = cost(self.client_cores);
        self
    }
}

/// A reading of the CPU counters at one moment.
#[derive(Debug, Clone, Copy)]
pub struct CpuMark {
    client: Option<f64>,
    server: Option<f64>,
    machine: Option<f64>,
}

impl CpuMark {
    pub fn now(server_pid: Option<u32>) -> Self {
        Self {
            client: cpu_seconds(None),
            server: server_pid.and_then(tree_cpu_seconds),
            machine: machine_busy_seconds(),
        }
    }

    /// What was used between `self` and `later`, over `window`.
    pub fn until(&self, later: &Self, window: Duration) -> CpuUse {
        let secs = window.as_secs_f64().max(1e-9);
        let diff = |a: Option<f64>, b: Option<f64>| Some((b? - a?).max(0.0) / secs);
        let client = diff(self.client, later.client);
        let server = diff(self.server, later.server);
        let machine = diff(self.machine, later.machine);
        let other = machine.map(|m| (m - client.unwrap_or(0.0) - server.unwrap_or(0.0)).max(0.0));
        CpuUse {
            client_cores: client,
            server_cores: server,
            other_cores: other,
            ..CpuUse::default()
        }
    }
}

/// The server's memory over the run.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct ServerMemory {
    /// VmHWM at the end: the most RSS the process ever had.
    pub peak_rss_bytes: u64,
    /// The largest VmRSS sampled (every 100 ms) while the run went on.
    pub max_sampled_rss_bytes: u64,
}

/// Samples a process's RSS every 100 ms until dropped.
pub struct RssSampler {
    pid: u32,
    task: tokio::task::JoinHandle<u64>,
    stop: tokio::sync::watch::Sender<bool>,
}

impl RssSampler {
    pub fn start(pid: u32) -> Self {
        let (stop, mut stopped) = tokio::sync::watch::channel(false);
        let task = tokio::spawn(async move {
            let mut max = 0;
            let mut tick = tokio::time::interval(Duration::from_millis(100));
            loop {
                tokio::select! {
                    _ = tick.tick() => {
                        if let Some((_, rss)) = memory(pid) {
                            max = max.max(rss);
                        }
                    }
                    _ = stopped.changed() => return max,
                }
            }
        });
        Self { pid, task, stop }
    }

    pub async fn finish(self) -> Option<ServerMemory> {
        let _ = self.stop.send(true);
        let sampled = self.task.await.unwrap_or(0);
        let (peak, now) = memory(self.pid)?;
        Some(ServerMemory {
            peak_rss_bytes: peak,
            max_sampled_rss_bytes: sampled.max(now),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn cpu_lists_round_trip() {
        let set: BTreeSet<u32> = [0, 1, 2, 5, 7, 8].into();
        assert_eq!(cpu_list(&set), "0-2,5,7-8");
    }

    #[test]
    fn this_process_is_readable() {
        if !std::path::Path::new("/proc/self/status").exists() {
            return;
        }
        let (peak, rss) = memory(std::process::id()).unwrap();
        assert!(peak >= rss && rss > 0);
        assert!(!allowed_cpus(None).unwrap().is_empty());
        assert!(cpu_seconds(None).unwrap() >= 0.0);
        assert!(CoreSharing::detect(Some(std::process::id())).shared);
    }
}
