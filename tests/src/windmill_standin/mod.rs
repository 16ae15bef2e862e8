//! [`WindmillStandin`]: a small HTTP server of the project's own that follows
//! `shared/windmill/API.md` (Windmill's real server cannot be built here):
//! Bearer auth (401 without it), jobs started by script or flow path with a
//! caller-chosen `job_id` (201 with the id as plain text; 400 "already
//! exists" for a duplicate), `get_result_maybe`, `jobs_u/get` with the
//! `QueuedJob`/`CompletedJob` shapes, cancel, scripts and flows created with
//! their 400 conflicts, `/api/version`, and plain-text errors.
//!
//! Tests steer it ([`PathBehaviour`]: how long a path's jobs run, which
//! fail), take it down and bring it back on the same port ([`stop`],
//! [`restart`]), and read what it received ([`submissions`], [`jobs`],
//! [`cancellations`]) to count job ids. The client under test cannot tell it
//! from Windmill.
//!
//! [`stop`]: WindmillStandin::stop
//! [`restart`]: WindmillStandin::restart
//! [`submissions`]: WindmillStandin::submissions
//! [`jobs`]: WindmillStandin::jobs
//! [`cancellations`]: WindmillStandin::cancellations

mod routes;
mod state;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};

use state::State;
pub use state::{JobView, PathBehaviour, Submission};

/// The version text `/api/version` answers.
pub const VERSION: &str = "CE v1.520.1";

/// A running (or stopped) stand-in.
pub struct WindmillStandin {
    addr: SocketAddr,
    token: String,
    workspace: String,
    state: Arc<Mutex<State>>,
    server: Mutex<Option<JoinHandle<()>>>,
}

impl WindmillStandin {
    /// Starts on a free port of 127.0.0.1, accepting `token` for workspace
    /// `workspace`; jobs run for `default_duration` unless a path says
    /// otherwise.
    pub async fn start(token: &str, workspace: &str, default_duration: Duration) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let standin = Self {
            addr,
            token: token.to_owned(),
            workspace: workspace.to_owned(),
            state: Arc::new(Mutex::new(State::new(default_duration))),
            server: Mutex::new(None),
        };
        standin.serve(listener);
        standin
    }

    /// `http://127.0.0.1:<port>` (the client adds `/api`).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Makes a script exist at `path` (as if deployed), with `behaviour`.
    pub fn add_script(&self, path: &str, behaviour: PathBehaviour) {
        let mut state = self.lock();
        state.add_script(path, "python3", "def main(): pass");
        state.behaviours.insert(path.to_owned(), behaviour);
    }

    /// Makes a flow exist at `path`, with `behaviour`.
    pub fn add_flow(&self, path: &str, behaviour: PathBehaviour) {
        let mut state = self.lock();
        state.flows.insert(
            path.to_owned(),
            serde_json::json!({ "path": path, "value": {"modules": []} }),
        );
        state.behaviours.insert(path.to_owned(), behaviour);
    }

    /// Takes the server down: the port refuses connections, open ones are
    /// closed. Jobs and scripts are kept, as a real Windmill keeps them in
    /// its database.
    pub fn stop(&self) {
        if let Some(server) = self.server.lock().unwrap().take() {
            server.abort();
        }
    }

    /// Brings the server back on the same port.
    pub async fn restart(&self) {
        self.stop();
        // The old listener's port may take a moment to be free again.
        let listener = crate::wait::until(Duration::from_secs(5), Duration::from_millis(100), async || {
            TcpListener::bind(self.addr).await
        })
        .await
        .unwrap_or_else(|e| panic!("cannot listen on {} again: {e}", self.addr));
        self.serve(listener);
    }

    /// Every job submission received, accepted or refused, in order.
    pub fn submissions(&self) -> Vec<Submission> {
        self.lock().submissions.clone()
    }

    /// Every job, as the stand-in sees it now.
    pub fn jobs(&self) -> Vec<JobView> {
        self.lock().views()
    }

    /// Every accepted cancel request: `(job id, reason)`.
    pub fn cancellations(&self) -> Vec<(uuid::Uuid, String)> {
        self.lock().cancellations.clone()
    }

    /// Paths of the scripts, and of the flows, that exist.
    pub fn workflows(&self) -> (Vec<String>, Vec<String>) {
        let state = self.lock();
        (
            state.scripts.keys().cloned().collect(),
            state.flows.keys().cloned().collect(),
        )
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn serve(&self, listener: TcpListener) {
        let state = Arc::clone(&self.state);
        let auth = Arc::new((self.token.clone(), self.workspace.clone()));
        let server = tokio::spawn(async move {
            // Owned by this task: aborting it closes every connection too.
            let mut connections = JoinSet::new();
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let state = Arc::clone(&state);
                let auth = Arc::clone(&auth);
                connections.spawn(async move {
                    let service = service_fn(move |request| {
                        let state = Arc::clone(&state);
                        let auth = Arc::clone(&auth);
                        async move { routes::handle(request, &state, &auth.0, &auth.1).await }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
                while connections.try_join_next().is_some() {}
            }
        });
        *self.server.lock().unwrap() = Some(server);
    }
}

impl Drop for WindmillStandin {
    fn drop(&mut self) {
        self.stop();
    }
}
