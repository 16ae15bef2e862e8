-- Run history. UNIQUE (job, scheduled_at) is the fence: a tick is claimed by
-- inserting its row, and only one insert can succeed.
CREATE TABLE scheduler_runs (
    id               BIGSERIAL PRIMARY KEY,
    job              TEXT NOT NULL,
    scheduled_at     TIMESTAMPTZ NOT NULL,
    claimed_at       TIMESTAMPTZ NOT NULL,
    started_at       TIMESTAMPTZ,
    finished_at      TIMESTAMPTZ,
    replica          TEXT NOT NULL,
    attempt          INTEGER NOT NULL DEFAULT 0,
    catch_up         BOOLEAN NOT NULL DEFAULT FALSE,
    manual           BOOLEAN NOT NULL DEFAULT FALSE,
    target           TEXT NOT NULL,
    windmill_job_id  UUID,
    status           TEXT NOT NULL CHECK (status IN
                       ('claimed', 'running', 'succeeded', 'failed', 'timed_out', 'cancelled', 'skipped')),
    result           JSONB,
    error            TEXT,
    CONSTRAINT scheduler_runs_tick UNIQUE (job, scheduled_at)
);
-- Unfinished runs, for overlap policies and for adopting a dead replica's runs.
CREATE INDEX scheduler_runs_unfinished ON scheduler_runs (job) WHERE status IN ('claimed', 'running');
-- Pruning by age.
CREATE INDEX scheduler_runs_scheduled_at ON scheduler_runs (scheduled_at);
