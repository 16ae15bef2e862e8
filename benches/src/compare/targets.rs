//! The servers `compare` starts: the gateway (with the release plugins), the
//! bare hyper echo, nginx answering a fixed body, and workerd running an echo
//! Worker. Each runs in its own process group with its files in a temporary
//! folder; [`Running`]'s `Drop` stops the group (SIGTERM, then SIGKILL after
//! 5 s), so everything started is stopped however `compare` ends, short of
//! SIGKILL.

use std::net::{SocketAddr, TcpListener};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// Which server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    BareHyper,
    Gateway,
    Nginx,
    Workerd,
}

impl Kind {
    pub const ALL: [Self; 4] = [Self::BareHyper, Self::Gateway, Self::Nginx, Self::Workerd];

    pub fn name(self) -> &'static str {
        match self {
            Self::BareHyper => "bare-hyper",
            Self::Gateway => "gateway",
            Self::Nginx => "nginx",
            Self::Workerd => "workerd",
        }
    }

    pub fn parse(name: &str) -> anyhow::Result<Self> {
        Self::ALL
            .into_iter()
            .find(|k| k.name() == name)
            .with_context(|| format!("unknown target {name:?} (use gateway, bare-hyper, nginx, workerd)"))
    }

    /// Whether it runs the scenario's real work, or only answers (nginx's
    /// fixed body cannot echo, so it sits out scenarios other than echo).
    pub fn echoes(self) -> bool {
        !matches!(self, Self::Nginx)
    }
}

/// Where to find the programs.
#[derive(Debug, Clone)]
pub struct Programs {
    /// `target/release`: flexcore-gateway, bare-echo and the plugin `.so` files.
    pub bin_dir: PathBuf,
    pub nginx: Option<PathBuf>,
    pub workerd: Option<PathBuf>,
}

/// The fixed body nginx answers: as long as the echo scenario's.
pub fn nginx_body(size: usize) -> String {
    "n".repeat(size)
}

/// A started server.
pub struct Running {
    pub kind: Kind,
    pub addr: SocketAddr,
    child: Child,
    _files: tempfile::TempDir,
}

impl Running {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Starts `kind` on a free loopback port and waits until it accepts
    /// connections.
    pub fn start(kind: Kind, programs: &Programs, echo_body_size: usize) -> anyhow::Result<Self> {
        let files = tempfile::Builder::new()
            .prefix(&format!("flexcore-compare-{}-", kind.name()))
            .tempdir()?;
        let addr = free_port()?;
        let dir = files.path();
        let mut command = match kind {
            Kind::BareHyper => {
                let mut c = Command::new(existing(&programs.bin_dir.join("bare-echo"))?);
                c.arg(addr.to_string());
                c
            }
            Kind::Gateway => {
                let plugins = dir.join("plugins");
                std::fs::create_dir(&plugins)?;
                for file in ["libecho.so", "libdata_processor.so"] {
                    std::fs::copy(existing(&programs.bin_dir.join(file))?, plugins.join(file))?;
                }
                let mut c = Command::new(existing(&programs.bin_dir.join("flexcore-gateway"))?);
                c.args(["--listen", &addr.to_string(), "--node-id", "bench", "--plugin-dir"])
                    .arg(&plugins)
                    .env("FLEXCORE_LOG_LEVEL", "warn");
                c
            }
            Kind::Nginx => {
                let nginx = programs.nginx.as_ref().context("nginx is not installed")?;
                std::fs::write(dir.join("nginx.conf"), nginx_conf(addr, dir, echo_body_size))?;
                let mut c = Command::new(nginx);
                c.arg("-p")
                    .arg(dir)
                    .arg("-c")
                    .arg(dir.join("nginx.conf"))
                    .args(["-g", "daemon off;"]);
                c
            }
            Kind::Workerd => {
                let workerd = programs.workerd.as_ref().context("workerd is not installed")?;
                std::fs::write(dir.join("worker.js"), WORKER_JS)?;
                std::fs::write(dir.join("config.capnp"), workerd_config(addr))?;
                let mut c = Command::new(workerd);
                c.arg("serve").arg(dir.join("config.capnp"));
                c
            }
        };
        command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("stderr.log"))?)
            // Its own group: Ctrl-C at the terminal reaches only `compare`,
            // which then stops the group itself.
            .process_group(0);
        let child = command
            .spawn()
            .with_context(|| format!("cannot start {}", kind.name()))?;
        let mut running = Self {
            kind,
            addr,
            child,
            _files: files,
        };
        running.wait_ready()?;
        Ok(running)
    }

    fn wait_ready(&mut self) -> anyhow::Result<()> {
        let until = Instant::now() + Duration::from_secs(20);
        while Instant::now() < until {
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "{} exited at start ({status}): {}",
                    self.kind.name(),
                    std::fs::read_to_string(self._files.path().join("stderr.log")).unwrap_or_default()
                );
            }
            if std::net::TcpStream::connect_timeout(&self.addr, Duration::from_millis(200)).is_ok() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        bail!("{} did not listen on {} within 20 s", self.kind.name(), self.addr)
    }

    /// Stops the process group: SIGTERM, then SIGKILL after 5 s.
    pub fn stop(&mut self) {
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        let until = Instant::now() + Duration::from_secs(5);
        while Instant::now() < until {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.child.wait();
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop();
    }
}

fn existing(path: &Path) -> anyhow::Result<PathBuf> {
    if path.exists() {
        Ok(path.to_path_buf())
    } else {
        bail!(
            "{} is missing: build first (cargo build --release -p flexcore-gateway -p flexcore-benches -p echo -p data-processor), or run benches/compare",
            path.display()
        )
    }
}

/// A loopback port nobody listens on now.
fn free_port() -> anyhow::Result<SocketAddr> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?)
}

fn nginx_conf(addr: SocketAddr, dir: &Path, body_size: usize) -> String {
    let dir = dir.display();
    let body = nginx_body(body_size);
    format!(
        r#"# Written by flexcore-load compare: nginx answering a fixed body.
worker_processes auto;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    keepalive_requests 10000000;
    keepalive_timeout 75s;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    default_type text/plain;
    server {{
        listen {addr};
        location / {{ return 200 "{body}"; }}
    }}
}}
"#
    )
}

const WORKER_JS: &str = r#"// The echo function as a Cloudflare Worker, for flexcore-load compare.
export default {
  async fetch(request) {
    const body = await request.arrayBuffer();
    const type = request.headers.get("content-type") ?? "application/octet-stream";
    return new Response(body, { headers: { "content-type": type } });
  },
};
"#;

fn workerd_config(addr: SocketAddr) -> String {
    format!(
        r#"# Written by flexcore-load compare: one echo Worker on {addr}.
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [ (name = "main", worker = .echoWorker) ],
  sockets = [ (name = "http", address = "{addr}", http = (), service = "main") ],
);

const echoWorker :Workerd.Worker = (
  modules = [ (name = "worker", esModule = embed "worker.js") ],
  compatibilityDate = "2024-09-01",
);
"#
    )
}

/// `nginx` from PATH or /usr/sbin.
pub fn find_nginx() -> Option<PathBuf> {
    which("nginx").or_else(|| Some(PathBuf::from("/usr/sbin/nginx")).filter(|p| p.exists()))
}

/// `workerd` from `$WORKERD`, PATH, or `benches/node_modules` (after
/// `npm install --prefix benches workerd`).
pub fn find_workerd() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("WORKERD").map(PathBuf::from)
        && path.exists()
    {
        return Some(path);
    }
    which("workerd").or_else(|| {
        let local = Path::new(env!("CARGO_MANIFEST_DIR")).join("node_modules/@cloudflare/workerd-linux-64/bin/workerd");
        local.exists().then_some(local)
    })
}

fn which(program: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}
