//! Where a call runs and how long it may take.
//!
//! The ordinary call runs inline on the async worker: handing every call to
//! another thread halves throughput (DESIGN.md, measured). A plugin that says
//! it may block, or that is seen blocking (`SLOW_STREAK`, three, inline calls
//! in a row slower than `slow_call_threshold`: one could just have been
//! preempted), runs on tokio's blocking pool instead, so it never stalls other
//! requests, and its deadline is enforced while it runs. A plugin moved there
//! by observation comes back inline after `FAST_STREAK` fast calls in a row.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use flexcore_abi::Status;
use http::HeaderValue;

use super::output::{CallError, Input, Output};
use super::{Plugin, PluginHost};
use crate::Error;
use crate::metrics::ErrorKind;

/// One call's owned input, movable to another thread.
#[derive(Debug, Clone)]
pub struct Invocation {
    pub body: Bytes,
    pub content_type: Option<HeaderValue>,
    pub request_id: HeaderValue,
    /// Settings for this call (a pipeline step's `config`) as JSON text.
    pub config: Option<Bytes>,
}

impl Invocation {
    fn input(&self, deadline_unix_ms: u64) -> Input<'_> {
        Input {
            body: &self.body,
            content_type: self.content_type.as_ref().map_or(&[][..], HeaderValue::as_bytes),
            request_id: self.request_id.as_bytes(),
            deadline_unix_ms,
            config: self.config.as_deref().unwrap_or_default(),
        }
    }
}

/// When a call starts and by when it must end. Reading the clock costs tens
/// of nanoseconds on a VM, so a caller making several calls in a row (a
/// pipeline) reads it once per call and hands the end of one call on as the
/// start of the next.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    pub started: Instant,
    pub deadline_unix_ms: u64,
}

impl Timing {
    /// Starting now, with `timeout` to go.
    pub fn now(timeout: Duration) -> Self {
        Self {
            started: Instant::now(),
            deadline_unix_ms: unix_ms(SystemTime::now() + timeout),
        }
    }
}

impl PluginHost {
    /// Invokes the plugin `name` and maps its outcome to the gateway's errors.
    pub async fn invoke(&self, name: &str, call: Invocation) -> Result<Output, Error> {
        self.invoke_timed(name, call, Timing::now(self.settings.invoke_timeout))
            .await
            .0
    }

    /// The timing of a call (or a chain of calls) starting now.
    pub fn timing(&self) -> Timing {
        Timing::now(self.settings.invoke_timeout)
    }

    /// As [`invoke`](Self::invoke), from a given start; also returns when the
    /// call ended.
    pub async fn invoke_timed(&self, name: &str, call: Invocation, timing: Timing) -> (Result<Output, Error>, Instant) {
        let timeout = self.settings.invoke_timeout;
        let Timing {
            started,
            deadline_unix_ms,
        } = timing;
        let inline = self.with_call(name, |guard| {
            let plugin = guard.plugin();
            plugin.metrics.invocations.inc();
            if plugin.offloaded() {
                return Err(guard.into_owned());
            }
            let result = guard.call(&call.input(deadline_unix_ms));
            let ended = Instant::now();
            let elapsed = ended - started;
            plugin.observe_inline(elapsed, self.settings.slow_call_threshold);
            plugin.metrics.duration.observe(elapsed.as_secs_f64());
            let result = if elapsed > timeout {
                Err(timed_out(plugin, timeout))
            } else {
                result.map_err(|e| call_error(plugin, e))
            };
            Ok((result, ended))
        });
        let guard = match inline {
            Ok(Ok(done)) => return done,
            Ok(Err(guard)) => guard,
            Err(refused) => return (Err(refused), started),
        };

        let plugin = Arc::clone(guard.plugin());
        let threshold = self.settings.slow_call_threshold;
        let task = tokio::task::spawn_blocking(move || {
            let running = Instant::now();
            let result = guard.call(&call.input(deadline_unix_ms));
            guard.plugin().observe_offloaded(running.elapsed(), threshold);
            result
        });
        let result = match tokio::time::timeout(timeout, task).await {
            Ok(Ok(result)) => result.map_err(|e| call_error(&plugin, e)),
            Ok(Err(join)) => Err(Error::Internal(format!("plugin call task failed: {join}"))),
            Err(_) => Err(timed_out(&plugin, timeout)),
        };
        let ended = Instant::now();
        plugin.metrics.duration.observe((ended - started).as_secs_f64());
        (result, ended)
    }
}

fn call_error(plugin: &Plugin, e: CallError) -> Error {
    let name = plugin.name().to_owned();
    let (kind, error) = match e.status {
        Status::InvalidInput => (ErrorKind::InvalidInput, Error::InvalidInput(e.message)),
        Status::Unavailable => (
            ErrorKind::Unavailable,
            Error::Unavailable {
                plugin: name,
                message: e.message,
            },
        ),
        Status::Panic => (
            ErrorKind::Panic,
            Error::PluginPanicked {
                plugin: name,
                message: e.message,
            },
        ),
        Status::Internal | Status::Ok => (
            ErrorKind::Internal,
            Error::PluginFailed {
                plugin: name,
                message: e.message,
            },
        ),
    };
    plugin.metrics.error(kind);
    error
}

fn timed_out(plugin: &Plugin, timeout: Duration) -> Error {
    plugin.metrics.error(ErrorKind::Timeout);
    Error::Timeout {
        plugin: plugin.name().to_owned(),
        timeout_ms: timeout.as_millis(),
    }
}

fn unix_ms(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}
