//! Domain events: facts that happened, as plain values. Every feature
//! publishes them through the [`EventPublisher`](super::EventPublisher) port.

use serde::Serialize;
use uuid::Uuid;

/// Something that happened in the gateway's domain.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum DomainEvent {
    PipelineCreated {
        pipeline_id: Uuid,
        name: String,
    },
    PipelineStepAdded {
        pipeline_id: Uuid,
        index: usize,
        plugin: String,
        version: u64,
    },
    PipelineStepRemoved {
        pipeline_id: Uuid,
        index: usize,
        version: u64,
    },
    PipelineActivated {
        pipeline_id: Uuid,
        version: u64,
    },
    PipelineArchived {
        pipeline_id: Uuid,
        version: u64,
    },
    PipelineExecuted {
        pipeline_id: Uuid,
        execution_id: Uuid,
        outcome: Outcome,
        duration_us: u64,
    },
    PluginExecuted {
        plugin: String,
        pipeline_id: Uuid,
        execution_id: Uuid,
        step: usize,
        ok: bool,
        duration_us: u64,
    },
    PluginLoaded {
        name: String,
        version: String,
        file: String,
        sha256: String,
    },
    PluginRefused {
        file: String,
        reason: String,
    },
}

/// How a pipeline run ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Outcome {
    Succeeded,
    Failed { step: usize, error: String },
}

impl DomainEvent {
    /// The event's type name (`pipeline_created`, ...), as in its JSON.
    pub fn kind(&self) -> &'static str {
        self.wire_type().trim_start_matches("flexcore.")
    }

    /// The type it is published under (`flexcore.pipeline_created`, ...).
    pub fn wire_type(&self) -> &'static str {
        match self {
            Self::PipelineCreated { .. } => "flexcore.pipeline_created",
            Self::PipelineStepAdded { .. } => "flexcore.pipeline_step_added",
            Self::PipelineStepRemoved { .. } => "flexcore.pipeline_step_removed",
            Self::PipelineActivated { .. } => "flexcore.pipeline_activated",
            Self::PipelineArchived { .. } => "flexcore.pipeline_archived",
            Self::PipelineExecuted { .. } => "flexcore.pipeline_executed",
            Self::PluginExecuted { .. } => "flexcore.plugin_executed",
            Self::PluginLoaded { .. } => "flexcore.plugin_loaded",
            Self::PluginRefused { .. } => "flexcore.plugin_refused",
        }
    }
}
