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
    /// The event's type name, as on the wire (`pipeline_created`, ...).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::PipelineCreated { .. } => "pipeline_created",
            Self::PipelineStepAdded { .. } => "pipeline_step_added",
            Self::PipelineStepRemoved { .. } => "pipeline_step_removed",
            Self::PipelineActivated { .. } => "pipeline_activated",
            Self::PipelineArchived { .. } => "pipeline_archived",
            Self::PipelineExecuted { .. } => "pipeline_executed",
            Self::PluginExecuted { .. } => "plugin_executed",
            Self::PluginLoaded { .. } => "plugin_loaded",
            Self::PluginRefused { .. } => "plugin_refused",
        }
    }
}
