//! The application layer: the commands and queries every entry point (the
//! HTTP handlers, and event delivery to pipeline targets) goes through. Each
//! handler loads what it needs from the stores, lets the aggregate apply its
//! rules, saves, and publishes the resulting domain events.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::HeaderValue;
use uuid::Uuid;

use super::domain::{Pipeline, RuleViolation, Step};
use super::execution::{Execution, ExecutionStatus, StepRun};
use super::store::{ExecutionQuery, ExecutionStore, Page, PipelineQuery, PipelineStore};
use crate::Error;
use crate::clock::now;
use crate::events::{DomainEvent, EventPublisher, Outcome};
use crate::host::{Invocation, Output, PluginHost};
use crate::storage::StoreError;

/// The type of the per-step domain event, built only when someone listens.
const PLUGIN_EXECUTED: &str = "flexcore.plugin_executed";
const PIPELINE_EXECUTED: &str = "flexcore.pipeline_executed";

/// How often a change without `If-Match` is retried after losing a race.
const CHANGE_ATTEMPTS: u32 = 16;

/// Create a draft pipeline.
#[derive(Debug, Clone)]
pub struct CreatePipeline {
    pub name: String,
    pub description: String,
    pub steps: Vec<Step>,
}

/// Which pipeline a change is for, and the version the caller saw, if it
/// said (`If-Match`): then a stale version is a conflict, not a retry.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    pub pipeline_id: Uuid,
    pub expected_version: Option<u64>,
}

/// A change to a pipeline.
#[derive(Debug, Clone)]
pub enum Change {
    AddStep(Step),
    RemoveStep(usize),
    Activate,
    Archive,
}

/// Run a pipeline on a body.
#[derive(Debug, Clone)]
pub struct ExecutePipeline {
    pub pipeline_id: Uuid,
    pub body: Bytes,
    pub content_type: Option<HeaderValue>,
    pub request_id: HeaderValue,
}

/// A successful run: the last step's output and the run's record id.
#[derive(Debug)]
pub struct Executed {
    pub execution_id: Uuid,
    pub output: Output,
}

/// The pipelines feature, with the dependencies its handlers use.
pub struct Pipelines {
    store: Arc<dyn PipelineStore>,
    executions: Arc<dyn ExecutionStore>,
    host: Arc<PluginHost>,
    events: Arc<dyn EventPublisher>,
    node_id: String,
}

impl Pipelines {
    pub fn new(
        store: Arc<dyn PipelineStore>,
        executions: Arc<dyn ExecutionStore>,
        host: Arc<PluginHost>,
        events: Arc<dyn EventPublisher>,
        node_id: String,
    ) -> Self {
        Self {
            store,
            executions,
            host,
            events,
            node_id,
        }
    }

    pub async fn create(&self, command: CreatePipeline) -> Result<Pipeline, Error> {
        let CreatePipeline {
            name,
            description,
            steps,
        } = command;
        let (pipeline, event) =
            Pipeline::create(&name, &description, steps, now(), |plugin| self.host.is_loaded(plugin))?;
        self.store.insert(&pipeline).await?;
        self.events.publish(event);
        Ok(pipeline)
    }

    /// Applies `change`; without an expected version, a lost race is retried
    /// on the fresh state, so that no change is lost and none is applied twice.
    pub async fn change(&self, target: Target, change: Change) -> Result<Pipeline, Error> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let current = self.load(target.pipeline_id).await?;
            if let Some(expected) = target.expected_version
                && current.version != expected
            {
                return Err(Error::VersionConflict {
                    expected,
                    actual: Some(current.version),
                });
            }
            let mut next = Arc::unwrap_or_clone(current);
            let now = now();
            let event = match change.clone() {
                Change::AddStep(step) => next.add_step(step, now, |plugin| self.host.is_loaded(plugin)),
                Change::RemoveStep(index) => next.remove_step(index, now),
                Change::Activate => next.activate(now),
                Change::Archive => next.archive(now),
            }?;
            match self.store.update(&next).await {
                Ok(()) => {
                    self.events.publish(event);
                    return Ok(next);
                }
                Err(StoreError::VersionConflict { expected }) => {
                    if target.expected_version.is_some() || attempt >= CHANGE_ATTEMPTS {
                        let actual = self.load(target.pipeline_id).await.ok().map(|p| p.version);
                        return Err(Error::VersionConflict { expected, actual });
                    }
                    // Lost a race with another writer: back off a little, by
                    // attempt, so that writers stop colliding in lockstep.
                    tokio::time::sleep(Duration::from_micros(200 * u64::from(attempt))).await;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    pub async fn get(&self, pipeline_id: Uuid) -> Result<Arc<Pipeline>, Error> {
        self.load(pipeline_id).await
    }

    pub async fn list(&self, query: PipelineQuery) -> Result<Page<Arc<Pipeline>>, Error> {
        Ok(self.store.list(query).await?)
    }

    pub async fn executions(&self, query: ExecutionQuery) -> Result<Page<Execution>, Error> {
        self.load(query.pipeline_id).await?;
        Ok(self.executions.list(query).await?)
    }

    /// Runs every step in order, the output of one the input of the next,
    /// and records the run whatever its outcome.
    pub async fn execute(&self, command: ExecutePipeline) -> Result<Executed, Error> {
        let pipeline = self.load(command.pipeline_id).await?;
        pipeline.check_executable()?;
        let started_at = now();
        let execution_id = Uuid::now_v7();

        let mut runs = Vec::with_capacity(pipeline.steps.len());
        let mut input = Invocation {
            body: command.body,
            content_type: command.content_type,
            request_id: command.request_id,
            config: None,
        };
        let mut outcome = Ok(None);
        // One clock read per step: each step starts when the previous ended,
        // and the whole run shares one deadline.
        let mut timing = self.host.timing();
        let clock = timing.started;
        let step_events = self.events.wants(PLUGIN_EXECUTED);
        for (index, step) in pipeline.steps.iter().enumerate() {
            input.config = step.config.as_ref().map(|config| Bytes::from(config.to_string()));
            let (result, ended) = self.host.invoke_timed(&step.plugin, input.clone(), timing).await;
            let duration_us = (ended - timing.started).as_micros() as u64;
            timing.started = ended;
            let error = result.as_ref().err().map(ToString::to_string);
            if step_events {
                self.events.publish(DomainEvent::PluginExecuted {
                    plugin: step.plugin.clone(),
                    pipeline_id: pipeline.id,
                    execution_id,
                    step: index,
                    ok: error.is_none(),
                    duration_us,
                });
            }
            runs.push(StepRun {
                index,
                plugin: step.plugin.clone(),
                duration_us,
                error,
            });
            match result {
                Ok(output) => {
                    input.body = output.body.clone();
                    input.content_type = Some(output.content_type.clone());
                    outcome = Ok(Some(output));
                }
                Err(error) => {
                    outcome = Err((index, error));
                    break;
                }
            }
        }

        let duration_us = (timing.started - clock).as_micros() as u64;
        let (status, failed_step, error) = match &outcome {
            Ok(_) => (ExecutionStatus::Succeeded, None, None),
            Err((index, error)) => (ExecutionStatus::Failed, Some(*index), Some(error.to_string())),
        };
        let event_outcome = match (failed_step, &error) {
            (Some(step), Some(error)) => Outcome::Failed {
                step,
                error: error.clone(),
            },
            _ => Outcome::Succeeded,
        };
        self.executions
            .insert(Execution {
                id: execution_id,
                pipeline_id: pipeline.id,
                pipeline_version: pipeline.version,
                status,
                steps: runs,
                failed_step,
                error,
                node_id: self.node_id.clone(),
                started_at,
                finished_at: now(),
                duration_us,
            })
            .await?;
        if self.events.wants(PIPELINE_EXECUTED) {
            self.events.publish(DomainEvent::PipelineExecuted {
                pipeline_id: pipeline.id,
                execution_id,
                outcome: event_outcome,
                duration_us,
            });
        }

        match outcome {
            Ok(Some(output)) => Ok(Executed { execution_id, output }),
            Ok(None) => Err(RuleViolation::Empty.into()),
            Err((index, error)) => Err(Error::StepFailed {
                index,
                plugin: pipeline.steps[index].plugin.clone(),
                execution_id,
                cause: Box::new(error),
            }),
        }
    }

    async fn load(&self, pipeline_id: Uuid) -> Result<Arc<Pipeline>, Error> {
        self.store
            .get(pipeline_id)
            .await?
            .ok_or(Error::PipelineNotFound(pipeline_id.to_string()))
    }
}
