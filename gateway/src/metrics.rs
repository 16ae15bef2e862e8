//! Prometheus metrics: per-plugin invocation counters, error counters by
//! kind and a latency histogram, rendered in the text format at `/metrics`.
//!
//! Label values are resolved once, when a plugin loads ([`PluginMetrics`]), so
//! the invoke path only touches atomics.

use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
};

/// The gateway's metric families.
pub struct Metrics {
    registry: Registry,
    invocations: IntCounterVec,
    errors: IntCounterVec,
    duration: HistogramVec,
    pub plugins_loaded: IntGauge,
    pub plugins_refused: IntGauge,
    pub in_flight: IntGauge,
}

/// One plugin's pre-resolved handles.
#[derive(Clone)]
pub struct PluginMetrics {
    pub invocations: IntCounter,
    pub duration: Histogram,
    errors: [IntCounter; ErrorKind::ALL.len()],
}

/// Why an invocation did not succeed, as the `kind` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    InvalidInput,
    Unavailable,
    Internal,
    Panic,
    Timeout,
}

impl ErrorKind {
    const ALL: [Self; 5] = [
        Self::InvalidInput,
        Self::Unavailable,
        Self::Internal,
        Self::Panic,
        Self::Timeout,
    ];

    fn label(self) -> &'static str {
        match self {
            Self::InvalidInput => "invalid_input",
            Self::Unavailable => "unavailable",
            Self::Internal => "internal",
            Self::Panic => "panic",
            Self::Timeout => "timeout",
        }
    }
}

impl PluginMetrics {
    pub fn error(&self, kind: ErrorKind) {
        self.errors[kind as usize].inc();
    }

    pub fn errors_total(&self) -> u64 {
        self.errors.iter().map(IntCounter::get).sum()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new();
        let invocations = IntCounterVec::new(
            Opts::new(
                "flexcore_plugin_invocations_total",
                "Plugin invocations, whatever their outcome",
            ),
            &["plugin"],
        )
        .expect("static metric definition");
        let errors = IntCounterVec::new(
            Opts::new(
                "flexcore_plugin_errors_total",
                "Plugin invocations that did not succeed, by kind",
            ),
            &["plugin", "kind"],
        )
        .expect("static metric definition");
        let buckets = vec![
            0.000_01, 0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1,
            0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
        ];
        let duration = HistogramVec::new(
            HistogramOpts::new("flexcore_plugin_duration_seconds", "Time spent in a plugin call").buckets(buckets),
            &["plugin"],
        )
        .expect("static metric definition");
        let plugins_loaded = IntGauge::new("flexcore_plugins_loaded", "Plugins currently loaded").expect("static");
        let plugins_refused = IntGauge::new("flexcore_plugins_refused", "Plugin files refused at the last (re)load")
            .expect("static metric definition");
        let in_flight = IntGauge::new("flexcore_invocations_in_flight", "Plugin calls now running").expect("static");
        for collector in [
            Box::new(invocations.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(errors.clone()),
            Box::new(duration.clone()),
            Box::new(plugins_loaded.clone()),
            Box::new(plugins_refused.clone()),
            Box::new(in_flight.clone()),
        ] {
            registry.register(collector).expect("each metric is registered once");
        }
        Self {
            registry,
            invocations,
            errors,
            duration,
            plugins_loaded,
            plugins_refused,
            in_flight,
        }
    }

    /// The handles for one plugin (the same ones again after a reload).
    pub fn for_plugin(&self, name: &str) -> PluginMetrics {
        PluginMetrics {
            invocations: self.invocations.with_label_values(&[name]),
            duration: self.duration.with_label_values(&[name]),
            errors: ErrorKind::ALL.map(|k| self.errors.with_label_values(&[name, k.label()])),
        }
    }

    /// Everything, in the Prometheus text exposition format.
    pub fn render(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(4096);
        // Encoding into a Vec cannot fail for well-formed metric families.
        let _ = prometheus::TextEncoder::new().encode(&self.registry.gather(), &mut out);
        out
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
