-- Pipelines, their executions, and the record of every plugin file seen.

CREATE TABLE pipelines (
    id          UUID PRIMARY KEY,           -- UUIDv7: key order is creation order
    name        TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    steps       JSONB NOT NULL,             -- [{"plugin": "...", "config": {...}}]
    status      TEXT NOT NULL CHECK (status IN ('draft', 'active', 'archived')),
    version     BIGINT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE pipeline_executions (
    id               UUID PRIMARY KEY,      -- UUIDv7
    pipeline_id      UUID NOT NULL REFERENCES pipelines (id),
    pipeline_version BIGINT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('succeeded', 'failed')),
    steps            JSONB NOT NULL,        -- [{"index", "plugin", "duration_us", "error"?}]
    failed_step      INTEGER,
    error            TEXT,
    node_id          TEXT NOT NULL,
    started_at       TIMESTAMPTZ NOT NULL,
    finished_at      TIMESTAMPTZ NOT NULL,
    duration_us      BIGINT NOT NULL
);
CREATE INDEX pipeline_executions_by_pipeline ON pipeline_executions (pipeline_id, id DESC);

CREATE TABLE plugin_records (
    name            TEXT NOT NULL,
    version         TEXT NOT NULL,
    abi_version     TEXT NOT NULL,
    file_hash       TEXT NOT NULL,
    file            TEXT NOT NULL,
    first_loaded_at TIMESTAMPTZ NOT NULL,
    last_loaded_at  TIMESTAMPTZ NOT NULL,
    load_count      BIGINT NOT NULL DEFAULT 1,
    last_node_id    TEXT NOT NULL,
    PRIMARY KEY (name, file_hash)
);

CREATE TABLE plugin_refusals (
    file          TEXT NOT NULL,
    reason        TEXT NOT NULL,
    first_seen_at TIMESTAMPTZ NOT NULL,
    last_seen_at  TIMESTAMPTZ NOT NULL,
    times         BIGINT NOT NULL DEFAULT 1,
    last_node_id  TEXT NOT NULL,
    PRIMARY KEY (file, reason)
);
