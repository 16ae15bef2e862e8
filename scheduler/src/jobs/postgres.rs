//! [`JobStore`] in PostgreSQL (`scheduler_jobs`, `scheduler_triggers`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::spec::JobSpec;
use super::store::{JobRecord, JobStore};
use crate::Error;
use crate::postgres::Pg;

#[async_trait]
impl JobStore for Pg {
    async fn sync_config(&self, specs: &[JobSpec]) -> Result<(), Error> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let mut names = Vec::with_capacity(specs.len());
        for spec in specs {
            let json = serde_json::to_value(spec).map_err(|e| Error::Internal(e.to_string()))?;
            // A job added directly under the same name becomes the file's.
            tx.execute(
                "INSERT INTO scheduler_jobs (name, spec, source) VALUES ($1, $2, 'config')
                 ON CONFLICT (name) DO UPDATE SET spec = EXCLUDED.spec, source = 'config',
                     updated_at = now()
                 WHERE scheduler_jobs.spec IS DISTINCT FROM EXCLUDED.spec
                    OR scheduler_jobs.source <> 'config'",
                &[&spec.name, &json],
            )
            .await?;
            names.push(spec.name.clone());
        }
        // The file no longer has these: the last replica started decides.
        tx.execute(
            "DELETE FROM scheduler_jobs WHERE source = 'config' AND NOT (name = ANY($1))",
            &[&names],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn list(&self) -> Result<Vec<JobRecord>, Error> {
        let rows = self
            .client()
            .await?
            .query(
                "SELECT name, spec, source, paused, created_at, resumed_at
                 FROM scheduler_jobs ORDER BY name",
                &[],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(JobRecord {
                    name: r.try_get(0)?,
                    spec: r.try_get::<_, Value>(1)?,
                    source: r.try_get(2)?,
                    paused: r.try_get(3)?,
                    created_at: r.try_get(4)?,
                    resumed_at: r.try_get(5)?,
                })
            })
            .collect()
    }

    async fn set_paused(&self, name: &str, paused: bool) -> Result<(), Error> {
        let n = self
            .client()
            .await?
            .execute(
                "UPDATE scheduler_jobs SET paused = $2, updated_at = now(),
                     resumed_at = CASE WHEN paused AND NOT $2 THEN now() ELSE resumed_at END
                 WHERE name = $1",
                &[&name, &paused],
            )
            .await?;
        if n == 0 {
            return Err(Error::UnknownJob(name.to_owned()));
        }
        Ok(())
    }

    async fn request_trigger(&self, name: &str) -> Result<DateTime<Utc>, Error> {
        let row = self
            .client()
            .await?
            .query_opt(
                "INSERT INTO scheduler_triggers (job)
                 SELECT name FROM scheduler_jobs WHERE name = $1 RETURNING requested_at",
                &[&name],
            )
            .await?;
        let row = row.ok_or_else(|| Error::UnknownJob(name.to_owned()))?;
        Ok(row.try_get(0)?)
    }
}
