//! The pipeline aggregate: a named, ordered chain of function calls, and the
//! rules that keep it valid. Plain Rust: no I/O, tested alone.
//!
//! Every change goes through a method that checks the rules, bumps the
//! version (for optimistic concurrency) and returns the domain event it
//! produced. Uniqueness of names is the store's to enforce, as only it sees
//! every pipeline.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::events::DomainEvent;

/// Most steps a pipeline may have.
pub const MAX_STEPS: usize = 64;
/// Longest name, in characters.
pub const MAX_NAME_CHARS: usize = 128;
/// Longest description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 4096;

/// A pipeline's lifecycle stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PipelineStatus {
    Draft,
    Active,
    Archived,
}

impl PipelineStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Active => "active",
            Self::Archived => "archived",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "draft" => Some(Self::Draft),
            "active" => Some(Self::Active),
            "archived" => Some(Self::Archived),
            _ => None,
        }
    }
}

/// One call in the chain: a plugin, and settings of its own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub plugin: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<serde_json::Value>,
}

impl Step {
    /// A step's settings may hold any JSON but NUL, which no store can keep.
    fn check(&self) -> Result<(), RuleViolation> {
        match &self.config {
            Some(config) if config.to_string().contains("\\u0000") => Err(RuleViolation::InvalidStepConfig),
            _ => Ok(()),
        }
    }
}

/// A rule a change would break.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleViolation {
    #[error("a pipeline name is 1 to {MAX_NAME_CHARS} printable characters")]
    InvalidName,
    #[error("no plugin named '{0}' is loaded")]
    UnknownPlugin(String),
    #[error("a pipeline has at most {MAX_STEPS} steps")]
    TooManySteps,
    #[error("there is no step {index}; the pipeline has {len}")]
    NoSuchStep { index: usize, len: usize },
    #[error("a description is at most {MAX_DESCRIPTION_CHARS} characters, without NUL")]
    InvalidDescription,
    #[error("a step's config is JSON without NUL characters")]
    InvalidStepConfig,
    #[error("an archived pipeline cannot be changed or executed")]
    Archived,
    #[error("the pipeline has no steps to execute")]
    Empty,
}

impl RuleViolation {
    /// The rule's stable name, for error codes.
    pub fn rule(&self) -> &'static str {
        match self {
            Self::InvalidName => "invalid_name",
            Self::UnknownPlugin(_) => "unknown_plugin",
            Self::TooManySteps => "too_many_steps",
            Self::NoSuchStep { .. } => "no_such_step",
            Self::InvalidDescription => "invalid_description",
            Self::InvalidStepConfig => "invalid_step_config",
            Self::Archived => "pipeline_archived",
            Self::Empty => "pipeline_empty",
        }
    }
}

/// The aggregate root.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Pipeline {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    pub steps: Vec<Step>,
    pub status: PipelineStatus,
    /// 0 when created; one more with every change.
    pub version: u64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Pipeline {
    /// A new draft pipeline. `is_loaded` says whether a plugin is loaded now.
    pub fn create(
        name: &str,
        description: &str,
        steps: Vec<Step>,
        now: DateTime<Utc>,
        is_loaded: impl Fn(&str) -> bool,
    ) -> Result<(Self, DomainEvent), RuleViolation> {
        check_name(name)?;
        if description.chars().count() > MAX_DESCRIPTION_CHARS || description.contains('\0') {
            return Err(RuleViolation::InvalidDescription);
        }
        steps.iter().try_for_each(Step::check)?;
        if steps.len() > MAX_STEPS {
            return Err(RuleViolation::TooManySteps);
        }
        if let Some(step) = steps.iter().find(|s| !is_loaded(&s.plugin)) {
            return Err(RuleViolation::UnknownPlugin(step.plugin.clone()));
        }
        let pipeline = Self {
            id: Uuid::now_v7(),
            name: name.to_owned(),
            description: description.to_owned(),
            steps,
            status: PipelineStatus::Draft,
            version: 0,
            created_at: now,
            updated_at: now,
        };
        let event = DomainEvent::PipelineCreated {
            pipeline_id: pipeline.id,
            name: pipeline.name.clone(),
        };
        Ok((pipeline, event))
    }

    /// Appends a step naming a plugin that is loaded now.
    pub fn add_step(
        &mut self,
        step: Step,
        now: DateTime<Utc>,
        is_loaded: impl Fn(&str) -> bool,
    ) -> Result<DomainEvent, RuleViolation> {
        self.check_changeable()?;
        if self.steps.len() >= MAX_STEPS {
            return Err(RuleViolation::TooManySteps);
        }
        step.check()?;
        if !is_loaded(&step.plugin) {
            return Err(RuleViolation::UnknownPlugin(step.plugin));
        }
        let plugin = step.plugin.clone();
        self.steps.push(step);
        self.touch(now);
        Ok(DomainEvent::PipelineStepAdded {
            pipeline_id: self.id,
            index: self.steps.len() - 1,
            plugin,
            version: self.version,
        })
    }

    /// Removes the step at `index` (0-based).
    pub fn remove_step(&mut self, index: usize, now: DateTime<Utc>) -> Result<DomainEvent, RuleViolation> {
        self.check_changeable()?;
        if index >= self.steps.len() {
            return Err(RuleViolation::NoSuchStep {
                index,
                len: self.steps.len(),
            });
        }
        self.steps.remove(index);
        self.touch(now);
        Ok(DomainEvent::PipelineStepRemoved {
            pipeline_id: self.id,
            index,
            version: self.version,
        })
    }

    /// Makes a draft pipeline active (an active one stays active).
    pub fn activate(&mut self, now: DateTime<Utc>) -> Result<DomainEvent, RuleViolation> {
        self.check_changeable()?;
        self.status = PipelineStatus::Active;
        self.touch(now);
        Ok(DomainEvent::PipelineActivated {
            pipeline_id: self.id,
            version: self.version,
        })
    }

    /// Archives the pipeline for good: no further change or execution.
    pub fn archive(&mut self, now: DateTime<Utc>) -> Result<DomainEvent, RuleViolation> {
        self.check_changeable()?;
        self.status = PipelineStatus::Archived;
        self.touch(now);
        Ok(DomainEvent::PipelineArchived {
            pipeline_id: self.id,
            version: self.version,
        })
    }

    /// Whether the pipeline may run now.
    pub fn check_executable(&self) -> Result<(), RuleViolation> {
        if self.status == PipelineStatus::Archived {
            return Err(RuleViolation::Archived);
        }
        if self.steps.is_empty() {
            return Err(RuleViolation::Empty);
        }
        Ok(())
    }

    fn check_changeable(&self) -> Result<(), RuleViolation> {
        if self.status == PipelineStatus::Archived {
            Err(RuleViolation::Archived)
        } else {
            Ok(())
        }
    }

    fn touch(&mut self, now: DateTime<Utc>) {
        self.version += 1;
        self.updated_at = now;
    }
}

fn check_name(name: &str) -> Result<(), RuleViolation> {
    let chars = name.chars().count();
    let printable = name.chars().all(|c| !c.is_control());
    let blank = name.trim().is_empty();
    if chars == 0 || chars > MAX_NAME_CHARS || !printable || blank {
        return Err(RuleViolation::InvalidName);
    }
    Ok(())
}

#[cfg(test)]
mod tests;
