//! A network that lies: a TCP proxy that sits between a node and a server
//! (PostgreSQL, Redis) and can, on command, stop carrying traffic in both
//! directions *without closing* either socket (a silent partition), then heal.
//!
//! Stopping the copy loops alone is not a partition: the proxy's own kernel
//! still acknowledges keepalive probes on both legs, so neither end would
//! ever notice. [`Partition::cut`] therefore also drops every packet of both
//! legs in the kernel, as a real network does, with `iptables` rules on the
//! loopback interface (tests run as root here), each tagged with a comment
//! naming this process so that [`sweep_stale_rules`] can remove what a killed
//! test left behind. [`Partition::heal`] removes them, and so does dropping
//! the partition.
//!
//! Connections made while cut get no answer to their SYN, as behind a real
//! partition; connections made before the cut stay open on both ends.

use std::net::SocketAddr;
use std::process::Command;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

const COMMENT_PREFIX: &str = "flexcore-test-partition";

/// A proxy to one upstream server that can be partitioned and healed.
pub struct Partition {
    addr: SocketAddr,
    upstream: SocketAddr,
    cut: watch::Sender<bool>,
    /// Local ports of the proxy's connections to the upstream server.
    upstream_ports: Arc<Mutex<Vec<u16>>>,
    /// The rules in place while cut, to remove at the heal.
    rules: Mutex<Vec<Vec<String>>>,
    comment: String,
    accept: tokio::task::JoinHandle<()>,
}

impl Partition {
    /// Starts a proxy on `127.0.0.1:0` in front of `upstream`.
    pub async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the proxy");
        let addr = listener.local_addr().expect("proxy address");
        let (cut, cut_rx) = watch::channel(false);
        let upstream_ports = Arc::new(Mutex::new(Vec::new()));
        let ports = Arc::clone(&upstream_ports);
        let accept = tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    continue;
                };
                let Ok(server) = TcpStream::connect(upstream).await else {
                    continue;
                };
                if let Ok(local) = server.local_addr() {
                    ports.lock().expect("ports").push(local.port());
                }
                let _ = client.set_nodelay(true);
                let _ = server.set_nodelay(true);
                let (client_read, client_write) = client.into_split();
                let (server_read, server_write) = server.into_split();
                tokio::spawn(pump(client_read, server_write, cut_rx.clone()));
                tokio::spawn(pump(server_read, client_write, cut_rx.clone()));
            }
        });
        Self {
            addr,
            upstream,
            cut,
            upstream_ports,
            rules: Mutex::new(Vec::new()),
            comment: format!("{COMMENT_PREFIX}-{}-{}", std::process::id(), addr.port()),
            accept,
        }
    }

    /// Where clients connect instead of the upstream server.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The server behind the proxy.
    pub fn upstream(&self) -> SocketAddr {
        self.upstream
    }

    /// Stops carrying traffic both ways on every connection, closing none:
    /// the copy loops pause and the kernel drops every packet of both legs.
    pub fn cut(&self) {
        self.cut.send_replace(true);
        let mut ports = vec![self.addr.port()];
        ports.extend(self.upstream_ports.lock().expect("ports").iter().copied());
        let mut rules = self.rules.lock().expect("rules");
        for port in ports {
            for direction in ["--dport", "--sport"] {
                let rule: Vec<String> = [
                    "INPUT",
                    "-i",
                    "lo",
                    "-p",
                    "tcp",
                    direction,
                    &port.to_string(),
                    "-m",
                    "comment",
                    "--comment",
                    &self.comment,
                    "-j",
                    "DROP",
                ]
                .iter()
                .map(|s| (*s).to_owned())
                .collect();
                iptables("-A", &rule);
                rules.push(rule);
            }
        }
    }

    /// Carries traffic again: the rules go, the copy loops resume. What was
    /// sent during the cut arrives now unless an end gave up on it.
    pub fn heal(&self) {
        for rule in self.rules.lock().expect("rules").drain(..) {
            iptables("-D", &rule);
        }
        self.cut.send_replace(false);
    }

    /// Whether the path is cut now.
    pub fn is_cut(&self) -> bool {
        *self.cut.borrow()
    }
}

impl Drop for Partition {
    fn drop(&mut self) {
        self.heal();
        self.accept.abort();
    }
}

/// Copies one direction, pausing (without reading) while the path is cut.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut cut: watch::Receiver<bool>,
) {
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        if cut.wait_for(|cut| !*cut).await.is_err() {
            return;
        }
        let read = tokio::select! {
            read = from.read(&mut buffer) => read,
            // Stop reading as soon as the path is cut, even mid-wait.
            _ = cut.wait_for(|cut| *cut) => continue,
        };
        let n = match read {
            Ok(0) | Err(_) => {
                let _ = to.shutdown().await;
                return;
            }
            Ok(n) => n,
        };
        if cut.wait_for(|cut| !*cut).await.is_err() || to.write_all(&buffer[..n]).await.is_err() {
            return;
        }
    }
}

/// Runs `iptables -w <action> <rule>`; panics with the reason when it fails,
/// since a partition test without its partition would prove nothing.
fn iptables(action: &str, rule: &[String]) {
    let output = Command::new("iptables")
        .arg("-w")
        .arg(action)
        .args(rule)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run iptables ({e}); partition tests need it and root (apt-get install iptables)")
        });
    assert!(
        output.status.success() || action == "-D",
        "iptables {action} {} failed: {}",
        rule.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Removes partition rules left by test processes that no longer run (a
/// test killed before it could heal). Safe to call from every test.
pub fn sweep_stale_rules() {
    let Ok(output) = Command::new("iptables").args(["-w", "-S", "INPUT"]).output() else {
        return;
    };
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Some(rest) = line.strip_prefix("-A ") else {
            continue;
        };
        let Some(pid) = rest
            .split_whitespace()
            .find_map(|word| word.trim_matches('"').strip_prefix(&format!("{COMMENT_PREFIX}-")))
            .and_then(|tail| tail.split('-').next())
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if std::path::Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        let rule: Vec<String> = rest
            .split_whitespace()
            .map(|w| w.trim_matches('"').to_owned())
            .collect();
        iptables("-D", &rule);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// An echo server, a client through the proxy: bytes flow, stop while
    /// cut (the connection stays open), and flow again after the heal.
    #[tokio::test]
    async fn cut_stops_traffic_without_closing_and_heal_resumes_it() {
        let echo = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let upstream = echo.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = echo.accept().await {
                tokio::spawn(async move {
                    let mut buffer = [0u8; 1024];
                    while let Ok(n) = socket.read(&mut buffer).await {
                        if n == 0 || socket.write_all(&buffer[..n]).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        let partition = Partition::start(upstream).await;
        let mut client = TcpStream::connect(partition.addr()).await.unwrap();
        let mut answer = [0u8; 5];
        client.write_all(b"hello").await.unwrap();
        client.read_exact(&mut answer).await.unwrap();
        assert_eq!(&answer, b"hello");

        partition.cut();
        client.write_all(b"again").await.unwrap();
        let silent = tokio::time::timeout(Duration::from_millis(500), client.read_exact(&mut answer)).await;
        assert!(silent.is_err(), "nothing may cross a cut path");
        assert!(
            tokio::time::timeout(Duration::from_millis(500), TcpStream::connect(partition.addr()))
                .await
                .is_err(),
            "a new connection must not get through a cut path"
        );

        partition.heal();
        tokio::time::timeout(Duration::from_secs(10), client.read_exact(&mut answer))
            .await
            .expect("the data sent during the cut arrives after the heal")
            .unwrap();
        assert_eq!(&answer, b"again");
    }

    #[test]
    fn rules_of_dead_processes_are_swept() {
        // No process has pid u32::MAX - 1 (Linux caps pids far below it).
        let comment = format!("{COMMENT_PREFIX}-{}-1", u32::MAX - 1);
        let rule: Vec<String> = [
            "INPUT",
            "-i",
            "lo",
            "-p",
            "tcp",
            "--dport",
            "1",
            "-m",
            "comment",
            "--comment",
            &comment,
            "-j",
            "DROP",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        iptables("-A", &rule);
        sweep_stale_rules();
        let listed = Command::new("iptables").args(["-w", "-S", "INPUT"]).output().unwrap();
        assert!(!String::from_utf8_lossy(&listed.stdout).contains(&comment));
    }
}
