//! [`TestGateway`]: the gateway library started in-process on `127.0.0.1:0`,
//! the way `main.rs` starts it (build from a config and a bound listener,
//! run until a shutdown future resolves), with its own plugin folder and
//! node id.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use flexcore_gateway::{FlexCoreConfig, Gateway};
use serde_json::Value;
use tempfile::TempDir;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A running in-process gateway. Dropping it signals shutdown without
/// waiting; [`stop`](Self::stop) waits for the graceful stop.
pub struct TestGateway {
    pub addr: SocketAddr,
    pub node_id: String,
    pub client: reqwest::Client,
    plugin_dir: TempDir,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), flexcore_gateway::Error>>>,
}

/// A node id no other gateway of this test run has.
pub fn unique_node_id() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(1);
    format!("e2e-{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed))
}

/// An HTTP client that talks to the loopback directly (never through a proxy
/// from the environment) and gives up on any request after 10 s.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

impl TestGateway {
    /// Starts a gateway over a fresh [`plugin_dir`](crate::plugin_dir), with
    /// `tweaks` applied to a default config.
    pub async fn start(tweaks: impl FnOnce(&mut FlexCoreConfig)) -> Self {
        Self::start_in(crate::plugin_dir(), tweaks).await
    }

    /// Starts a gateway over the plugin folder `dir`.
    pub async fn start_in(dir: TempDir, tweaks: impl FnOnce(&mut FlexCoreConfig)) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut config = FlexCoreConfig {
            listen: listener.local_addr().unwrap(),
            node_id: unique_node_id(),
            plugin_dir: dir.path().to_path_buf(),
            ..FlexCoreConfig::default()
        };
        tweaks(&mut config);
        config.validate().expect("the test's config is valid");
        let node_id = config.node_id.clone();
        let gateway = Gateway::build(config, listener).await.expect("the gateway builds");
        let addr = gateway.local_addr().unwrap();
        let (shutdown, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(gateway.run(async {
            let _ = stopped.await;
        }));
        Self {
            addr,
            node_id,
            client: client(),
            plugin_dir: dir,
            shutdown: Some(shutdown),
            task: Some(task),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The folder the gateway loads plugins from.
    pub fn plugin_dir(&self) -> &Path {
        self.plugin_dir.path()
    }

    /// `POST /plugins/{plugin}/execute` with `body`.
    pub async fn execute(&self, plugin: &str, body: impl Into<reqwest::Body>) -> reqwest::Response {
        self.client
            .post(self.url(&format!("/plugins/{plugin}/execute")))
            .body(body)
            .send()
            .await
            .unwrap()
    }

    /// As [`execute`](Self::execute), in a task of its own, so that many calls
    /// can be in flight at once.
    pub fn spawn_execute(&self, plugin: &str, body: impl Into<reqwest::Body>) -> JoinHandle<reqwest::Response> {
        let request = self
            .client
            .post(self.url(&format!("/plugins/{plugin}/execute")))
            .body(body);
        tokio::spawn(async move { request.send().await.unwrap() })
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    /// `GET path`, which must answer 200 with JSON.
    pub async fn get_json(&self, path: &str) -> Value {
        let response = self.get(path).await;
        assert_eq!(response.status(), 200, "GET {path}");
        response.json().await.unwrap()
    }

    /// `POST /plugins/reload` with no token.
    pub async fn reload(&self) -> reqwest::Response {
        self.client.post(self.url("/plugins/reload")).send().await.unwrap()
    }

    /// `POST /plugins/reload`, which must answer 200; its report.
    pub async fn reload_ok(&self) -> Value {
        let response = self.reload().await;
        assert_eq!(response.status(), 200, "POST /plugins/reload");
        response.json().await.unwrap()
    }

    /// The entry of `GET /plugins` for the plugin `name`, if it is loaded.
    pub async fn plugin(&self, name: &str) -> Option<Value> {
        let list = self.get_json("/plugins").await;
        list["plugins"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .cloned()
    }

    /// Polls `GET /plugins` until the plugin `name` has counted `calls`
    /// invocations (a call is counted when it enters the plugin); at most 5 s.
    pub async fn wait_for_invocations(&self, name: &str, calls: u64) {
        let counted = crate::wait::until(Duration::from_secs(5), Duration::from_millis(10), async || {
            let seen = self
                .plugin(name)
                .await
                .and_then(|p| p["stats"]["invocations"].as_u64())
                .unwrap_or(0);
            if seen >= calls { Ok(()) } else { Err(seen) }
        })
        .await;
        if let Err(seen) = counted {
            panic!("{name} counted {seen} of {calls} calls after 5 s");
        }
    }

    /// Signals shutdown and waits (at most 15 s) until the gateway has stopped
    /// accepting, finished its requests in flight and shut its plugins down.
    pub async fn stop(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        let task = self.task.take().unwrap();
        tokio::time::timeout(Duration::from_secs(15), task)
            .await
            .expect("the gateway stops within 15 s")
            .expect("the gateway task did not panic")
            .expect("the gateway ran without error");
    }
}

impl Drop for TestGateway {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}
