//! The in-memory stores: the embedded default, for one node without a
//! database. Executions are kept up to a bound per pipeline (the oldest go).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use uuid::Uuid;

use super::{ExecutionQuery, ExecutionStore, Page, PipelineQuery, PipelineStore};
use crate::pipelines::domain::Pipeline;
use crate::pipelines::execution::Execution;
use crate::storage::StoreError;

/// How many executions per pipeline the memory store keeps.
pub const EXECUTIONS_KEPT: usize = 10_000;

#[derive(Default)]
pub struct MemoryPipelines {
    // Ids are UUIDv7, so key order is creation order.
    pipelines: RwLock<BTreeMap<Uuid, Arc<Pipeline>>>,
}

#[async_trait]
impl PipelineStore for MemoryPipelines {
    async fn insert(&self, pipeline: &Pipeline) -> Result<(), StoreError> {
        let mut pipelines = self.pipelines.write().unwrap_or_else(|e| e.into_inner());
        if pipelines.values().any(|p| p.name == pipeline.name) {
            return Err(StoreError::NameTaken(pipeline.name.clone()));
        }
        pipelines.insert(pipeline.id, Arc::new(pipeline.clone()));
        Ok(())
    }

    async fn update(&self, pipeline: &Pipeline) -> Result<(), StoreError> {
        let mut pipelines = self.pipelines.write().unwrap_or_else(|e| e.into_inner());
        let expected = pipeline.version.saturating_sub(1);
        match pipelines.get(&pipeline.id) {
            Some(stored) if stored.version == expected => {
                pipelines.insert(pipeline.id, Arc::new(pipeline.clone()));
                Ok(())
            }
            _ => Err(StoreError::VersionConflict { expected }),
        }
    }

    async fn get(&self, id: Uuid) -> Result<Option<Arc<Pipeline>>, StoreError> {
        Ok(self
            .pipelines
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&id)
            .cloned())
    }

    async fn list(&self, query: PipelineQuery) -> Result<Page<Arc<Pipeline>>, StoreError> {
        let pipelines = self.pipelines.read().unwrap_or_else(|e| e.into_inner());
        let after = query
            .cursor
            .map_or(std::ops::Bound::Unbounded, std::ops::Bound::Excluded);
        let mut items: Vec<Arc<Pipeline>> = pipelines
            .range((after, std::ops::Bound::Unbounded))
            .map(|(_, p)| p)
            .filter(|p| query.status.is_none_or(|s| p.status == s))
            .take(query.limit + 1)
            .cloned()
            .collect();
        Ok(page(&mut items, query.limit, |p| p.id))
    }
}

#[derive(Default)]
pub struct MemoryExecutions {
    // Per pipeline, by id (UUIDv7: start order), as PostgreSQL orders them,
    // whatever order the runs finished in.
    executions: RwLock<HashMap<Uuid, BTreeMap<Uuid, Execution>>>,
}

#[async_trait]
impl ExecutionStore for MemoryExecutions {
    async fn insert(&self, execution: Execution) -> Result<(), StoreError> {
        let mut executions = self.executions.write().unwrap_or_else(|e| e.into_inner());
        let runs = executions.entry(execution.pipeline_id).or_default();
        runs.insert(execution.id, execution);
        if runs.len() > EXECUTIONS_KEPT {
            runs.pop_first();
        }
        Ok(())
    }

    async fn list(&self, query: ExecutionQuery) -> Result<Page<Execution>, StoreError> {
        let executions = self.executions.read().unwrap_or_else(|e| e.into_inner());
        let Some(runs) = executions.get(&query.pipeline_id) else {
            return Ok(Page {
                items: vec![],
                next_cursor: None,
            });
        };
        let before = query
            .cursor
            .map_or(std::ops::Bound::Unbounded, std::ops::Bound::Excluded);
        let mut items: Vec<Execution> = runs
            .range((std::ops::Bound::Unbounded, before))
            .rev()
            .take(query.limit + 1)
            .map(|(_, e)| e.clone())
            .collect();
        Ok(page(&mut items, query.limit, |e| e.id))
    }
}

/// Trims a `limit + 1` fetch to `limit` and says where the next page starts.
pub(super) fn page<T>(items: &mut Vec<T>, limit: usize, id: impl Fn(&T) -> Uuid) -> Page<T> {
    let more = items.len() > limit;
    items.truncate(limit);
    let next_cursor = if more { items.last().map(id) } else { None };
    Page {
        items: std::mem::take(items),
        next_cursor,
    }
}
