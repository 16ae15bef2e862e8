-- Jobs: the file's jobs (source 'config', synced at start-up) and jobs added
-- directly (source 'database'); `spec` is the job's JobSpec as JSON.
CREATE TABLE scheduler_jobs (
    name        TEXT PRIMARY KEY,
    spec        JSONB NOT NULL,
    source      TEXT NOT NULL DEFAULT 'database' CHECK (source IN ('config', 'database')),
    paused      BOOLEAN NOT NULL DEFAULT FALSE,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    resumed_at  TIMESTAMPTZ
);

-- Manual runs asked for by `flexcore-scheduler jobs trigger`, taken (and
-- deleted) by the replica owning the job in the same statement that claims
-- the run.
CREATE TABLE scheduler_triggers (
    id           BIGSERIAL PRIMARY KEY,
    job          TEXT NOT NULL,
    requested_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX scheduler_triggers_job ON scheduler_triggers (job);
