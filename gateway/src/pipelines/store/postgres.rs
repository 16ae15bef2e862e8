//! The PostgreSQL stores. Optimistic concurrency is an `UPDATE ... WHERE
//! version = $expected`; name uniqueness is a UNIQUE constraint; pages are
//! keyset pages over UUIDv7 ids.

use std::sync::Arc;

use async_trait::async_trait;
use flexcore_infra::postgres::deadpool_postgres::Pool;
use flexcore_infra::postgres::tokio_postgres::{Row, error::SqlState};
use uuid::Uuid;

use super::{ExecutionQuery, ExecutionStore, Page, PipelineQuery, PipelineStore};
use crate::pipelines::domain::{Pipeline, PipelineStatus, Step};
use crate::pipelines::execution::{Execution, ExecutionStatus, StepRun};
use crate::storage::StoreError;
use crate::storage::postgres::{pool_error, query_error};

pub struct PgPipelines {
    pool: Pool,
}

impl PgPipelines {
    pub fn new(pool: Pool) -> Self {
        Self { pool }
    }
}

#[async_trait]
impl PipelineStore for PgPipelines {
    async fn insert(&self, p: &Pipeline) -> Result<(), StoreError> {
        let client = self.pool.get().await.map_err(pool_error)?;
        let steps = serde_json::to_value(&p.steps).map_err(|e| StoreError::Other(e.to_string()))?;
        client
            .execute(
                "INSERT INTO pipelines (id, name, description, steps, status, version, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                &[
                    &p.id,
                    &p.name,
                    &p.description,
                    &steps,
                    &p.status.as_str(),
                    &(p.version as i64),
                    &p.created_at,
                    &p.updated_at,
                ],
            )
            .await
            .map_err(|e| match e.code() {
                Some(&SqlState::UNIQUE_VIOLATION) => StoreError::NameTaken(p.name.clone()),
                _ => query_error(e),
            })?;
        Ok(())
    }

    async fn update(&self, p: &Pipeline) -> Result<(), StoreError> {
        let client = self.pool.get().await.map_err(pool_error)?;
        let steps = serde_json::to_value(&p.steps).map_err(|e| StoreError::Other(e.to_string()))?;
        let expected = p.version.saturating_sub(1);
        let updated = client
            .execute(
                "UPDATE pipelines SET description = $2, steps = $3, status = $4, version = $5, updated_at = $6
                 WHERE id = $1 AND version = $7",
                &[
                    &p.id,
                    &p.description,
                    &steps,
                    &p.status.as_str(),
                    &(p.version as i64),
                    &p.updated_at,
                    &(expected as i64),
                ],
            )
            .await
            .map_err(query_error)?;
        if updated == 1 {
            Ok(())
        } else {
            Err(StoreError::VersionConflict { expected })
        }
    }

    async fn get(&self, id: Uuid) -> Result<Option<Arc<Pipeline>>, StoreError> {
        let client = self.pool.get().await.map_err(pool_error)?;
        let row = client
            .query_opt(
                &format!("SELECT {PIPELINE_COLUMNS} FROM pipelines WHERE id = $1"),
                &[&id],
            )
            .await
            .map_err(query_error)?;
        row.map(|r| pipeline_from(&r).map(Arc::new)).transpose()
    }

    async fn list(&self, query: PipelineQuery) -> Result<Page<Arc<Pipeline>>, StoreError> {
        let client = self.pool.get().await.map_err(pool_error)?;
        let status = query.status.map(PipelineStatus::as_str);
        let rows = client
            .query(
                &format!(
                    "SELECT {PIPELINE_COLUMNS} FROM pipelines
                     WHERE ($1::uuid IS NULL OR id > $1) AND ($2::text IS NULL OR status = $2)
                     ORDER BY id LIMIT $3"
                ),
                &[&query.cursor, &status, &(query.limit as i64 + 1)],
            )
            .await
            .map_err(query_error)?;
        let mut items = rows
            .iter()
            .map(|r| pipeline_from(r).map(Arc::new))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(super::memory::page(&mut items, query.limit, |p| p.id))
    }
}

const PIPELINE_COLUMNS: &str = "id, name, description, steps, status, version, created_at, updated_at";

fn pipeline_from(row: &Row) -> Result<Pipeline, StoreError> {
    let steps: Vec<Step> = serde_json::from_value(row.get("steps")).map_err(|e| StoreError::Other(e.to_string()))?;
    let status: String = row.get("status");
    Ok(Pipeline {
        id: row.get("id"),
        name: row.get("name"),
        description: row.get("description"),
        steps,
        status: PipelineStatus::parse(&status).ok_or_else(|| StoreError::Other(format!("unknown status {status}")))?,
        version: row.get::<_, i64>("version") as u64,
        created_at: row.get("created_at"),
        updated_at: row.get("updated_at"),
    })
}

pub struct PgExecutions {
    pool: Pool,
}

impl PgExecutions {
    pub fn new(pool: Pool) -> Self {
        Self { pool }
    }
}

#[async_trait]
impl ExecutionStore for PgExecutions {
    async fn insert(&self, e: Execution) -> Result<(), StoreError> {
        let client = self.pool.get().await.map_err(pool_error)?;
        let steps = serde_json::to_value(&e.steps).map_err(|err| StoreError::Other(err.to_string()))?;
        client
            .execute(
                "INSERT INTO pipeline_executions
                   (id, pipeline_id, pipeline_version, status, steps, failed_step, error, node_id,
                    started_at, finished_at, duration_us)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                &[
                    &e.id,
                    &e.pipeline_id,
                    &(e.pipeline_version as i64),
                    &e.status.as_str(),
                    &steps,
                    &e.failed_step.map(|s| s as i32),
                    &e.error,
                    &e.node_id,
                    &e.started_at,
                    &e.finished_at,
                    &(e.duration_us as i64),
                ],
            )
            .await
            .map_err(query_error)?;
        Ok(())
    }

    async fn list(&self, query: ExecutionQuery) -> Result<Page<Execution>, StoreError> {
        let client = self.pool.get().await.map_err(pool_error)?;
        let rows = client
            .query(
                "SELECT id, pipeline_id, pipeline_version, status, steps, failed_step, error, node_id,
                        started_at, finished_at, duration_us
                 FROM pipeline_executions
                 WHERE pipeline_id = $1 AND ($2::uuid IS NULL OR id < $2)
                 ORDER BY id DESC LIMIT $3",
                &[&query.pipeline_id, &query.cursor, &(query.limit as i64 + 1)],
            )
            .await
            .map_err(query_error)?;
        let mut items = rows.iter().map(execution_from).collect::<Result<Vec<_>, _>>()?;
        Ok(super::memory::page(&mut items, query.limit, |e| e.id))
    }
}

fn execution_from(row: &Row) -> Result<Execution, StoreError> {
    let steps: Vec<StepRun> = serde_json::from_value(row.get("steps")).map_err(|e| StoreError::Other(e.to_string()))?;
    let status: String = row.get("status");
    Ok(Execution {
        id: row.get("id"),
        pipeline_id: row.get("pipeline_id"),
        pipeline_version: row.get::<_, i64>("pipeline_version") as u64,
        status: ExecutionStatus::parse(&status).ok_or_else(|| StoreError::Other(format!("unknown status {status}")))?,
        steps,
        failed_step: row.get::<_, Option<i32>>("failed_step").map(|s| s as usize),
        error: row.get("error"),
        node_id: row.get("node_id"),
        started_at: row.get("started_at"),
        finished_at: row.get("finished_at"),
        duration_us: row.get::<_, i64>("duration_us") as u64,
    })
}
