//! Where pipelines and their executions live: the store ports, each with two
//! real implementations, [`memory`] (the embedded default) and [`postgres`].

pub mod memory;
pub(crate) mod postgres;

use std::sync::Arc;

use async_trait::async_trait;
use uuid::Uuid;

use super::domain::{Pipeline, PipelineStatus};
use super::execution::Execution;
use crate::storage::StoreError;

/// One page of a listing, and where the next one starts.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<Uuid>,
}

/// Which pipelines to list: oldest first, after `cursor`.
#[derive(Debug, Clone, Copy)]
pub struct PipelineQuery {
    pub status: Option<PipelineStatus>,
    pub limit: usize,
    pub cursor: Option<Uuid>,
}

/// Which executions to list: newest first, before `cursor`.
#[derive(Debug, Clone, Copy)]
pub struct ExecutionQuery {
    pub pipeline_id: Uuid,
    pub limit: usize,
    pub cursor: Option<Uuid>,
}

#[async_trait]
pub trait PipelineStore: Send + Sync {
    /// Stores a new pipeline; its name must be unused.
    async fn insert(&self, pipeline: &Pipeline) -> Result<(), StoreError>;
    /// Replaces the stored pipeline, if it is still at `pipeline.version - 1`.
    async fn update(&self, pipeline: &Pipeline) -> Result<(), StoreError>;
    async fn get(&self, id: Uuid) -> Result<Option<Arc<Pipeline>>, StoreError>;
    async fn list(&self, query: PipelineQuery) -> Result<Page<Arc<Pipeline>>, StoreError>;
}

#[async_trait]
pub trait ExecutionStore: Send + Sync {
    async fn insert(&self, execution: Execution) -> Result<(), StoreError>;
    async fn list(&self, query: ExecutionQuery) -> Result<Page<Execution>, StoreError>;
}
