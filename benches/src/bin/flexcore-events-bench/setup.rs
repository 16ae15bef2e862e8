//! The world a run needs, started from nothing and torn down on drop: a
//! private `redis-server` (AOF in a temporary folder, fsync policy chosen by
//! the caller), a fresh PostgreSQL database (via `psql`), the recorder plugin
//! compiled into a plugin folder of its own, and gateway node processes.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use tempfile::TempDir;

/// The recorder plugin's C source, shared with the end-to-end tests.
const RECORDER_C: &str = include_str!("../../../../tests/src/recorder.c");

/// The workspace's root folder.
pub fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

/// A port nobody listened on a moment ago.
pub fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// A `redis-server` of the run's own.
pub struct Redis {
    pub port: u16,
    child: Child,
    _dir: TempDir,
}

impl Redis {
    /// Starts `redis-server` with AOF and `appendfsync = fsync` (`always`,
    /// `everysec` or `no`), and waits for `PING`.
    pub fn start(fsync: &str) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let port = free_port()?;
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &port.to_string(), "--save", ""])
            .args(["--appendonly", "yes", "--appendfsync", fsync])
            .arg("--dir")
            .arg(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("cannot start redis-server (apt-get install redis-server)")?;
        let mut redis = Self { port, child, _dir: dir };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !redis.pings() {
            if Instant::now() > deadline || redis.child.try_wait()?.is_some() {
                bail!("redis-server did not answer PING on port {port} within 10 s");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(redis)
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn pings(&self) -> bool {
        let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
        let mut reply = [0u8; 7];
        stream.write_all(b"PING\r\n").is_ok() && stream.read_exact(&mut reply).is_ok() && &reply == b"+PONG\r\n"
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A database of the run's own, dropped at the end.
pub struct Database {
    server: String,
    name: String,
}

impl Database {
    /// `CREATE DATABASE` on `server` (a URL without a database) through `psql`.
    pub fn create(server: &str) -> anyhow::Result<Self> {
        let server = server.trim_end_matches('/').to_owned();
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let name = format!("flexcore_bench_{}_{nanos}", std::process::id());
        psql(&server, &format!("CREATE DATABASE \"{name}\""))?;
        Ok(Self { server, name })
    }

    pub fn url(&self) -> String {
        format!("{}/{}", self.server, self.name)
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        if let Err(e) = psql(
            &self.server,
            &format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name),
        ) {
            eprintln!("warning: could not drop the database {}: {e}", self.name);
        }
    }
}

fn psql(server: &str, sql: &str) -> anyhow::Result<()> {
    let output = Command::new("psql")
        .arg(format!("{server}/postgres"))
        .args(["-XqA", "-v", "ON_ERROR_STOP=1", "-c", sql])
        .stdin(Stdio::null())
        .output()
        .context("cannot run psql (apt-get install postgresql-client)")?;
    if !output.status.success() {
        bail!("psql: {}", String::from_utf8_lossy(&output.stderr).trim());
    }
    Ok(())
}

/// Compiles the recorder plugin into `dir/recorder.so`.
pub fn compile_recorder(dir: &Path) -> anyhow::Result<()> {
    let source = dir.join("recorder.c");
    std::fs::write(&source, RECORDER_C)?;
    let compiler = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let output = Command::new(&compiler)
        .args(["-std=c11", "-O2", "-fPIC", "-shared", "-fvisibility=hidden"])
        .arg("-I")
        .arg(workspace_root().join("abi/include"))
        .arg("-o")
        .arg(dir.join("recorder.so"))
        .arg(&source)
        .output()
        .with_context(|| format!("cannot run the C compiler {compiler}"))?;
    std::fs::remove_file(&source)?;
    if !output.status.success() {
        bail!("compiling the recorder: {}", String::from_utf8_lossy(&output.stderr));
    }
    Ok(())
}

/// What every node of a run shares.
pub struct NodeSettings<'a> {
    pub gateway: &'a Path,
    pub plugins: &'a Path,
    pub work: &'a Path,
    pub database_url: &'a str,
    pub redis_url: &'a str,
    pub prefix: &'a str,
    pub recorder_file: &'a Path,
}

/// A gateway process.
pub struct Node {
    pub id: String,
    pub addr: SocketAddr,
    child: Child,
}

impl Node {
    /// Starts node `id` and waits until `/health` answers. The recorder is a
    /// probe: its calls stay inline (`slow_call_threshold` 1 s), so that one
    /// write preempted for 10 ms on a busy machine does not move it to the
    /// blocking pool for good, which would measure the host's offload
    /// heuristic instead of the event path.
    pub fn start(id: &str, settings: &NodeSettings<'_>) -> anyhow::Result<Self> {
        let config = settings.work.join(format!("{id}.toml"));
        std::fs::write(
            &config,
            format!(
                "node_id = {id:?}\ndatabase_url = {db:?}\nredis_url = {redis:?}\nredis_prefix = {prefix:?}\n\
                 slow_call_threshold = \"1s\"\n\
                 [log]\nlevel = \"warn\"\n\
                 [plugins.recorder]\nfile = {file:?}\nnode = {id:?}\n",
                db = settings.database_url,
                redis = settings.redis_url,
                prefix = settings.prefix,
                file = settings.recorder_file.to_string_lossy(),
            ),
        )?;
        let addr = SocketAddr::from(([127, 0, 0, 1], free_port()?));
        let log = std::fs::File::create(settings.work.join(format!("{id}.log")))?;
        let child = Command::new(settings.gateway)
            .arg("--config")
            .arg(&config)
            .arg("--listen")
            .arg(addr.to_string())
            .arg("--plugin-dir")
            .arg(settings.plugins)
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .with_context(|| format!("cannot start {}", settings.gateway.display()))?;
        let mut node = Self {
            id: id.to_owned(),
            addr,
            child,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while !node.healthy() {
            if Instant::now() > deadline || node.child.try_wait()?.is_some() {
                bail!(
                    "{id} did not become healthy; its log is {}",
                    settings.work.join(format!("{id}.log")).display()
                );
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        Ok(node)
    }

    fn healthy(&self) -> bool {
        let Ok(mut stream) = TcpStream::connect(self.addr) else {
            return false;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
        let request = format!(
            "GET /health HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            self.addr
        );
        let mut reply = [0u8; 12];
        stream.write_all(request.as_bytes()).is_ok() && stream.read_exact(&mut reply).is_ok() && reply.ends_with(b"200")
    }

    /// SIGTERM through `kill`, then wait (the node leaves the cluster cleanly).
    pub fn stop(mut self) -> anyhow::Result<()> {
        Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status()?;
        let deadline = Instant::now() + Duration::from_secs(15);
        while self.child.try_wait()?.is_none() {
            if Instant::now() > deadline {
                self.child.kill()?;
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
