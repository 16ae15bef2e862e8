-- Live scheduler replicas: each heartbeats its row over its lock connection;
-- `lock_pid` is that connection's backend pid, to tell who holds which lock.
CREATE TABLE scheduler_replicas (
    id            TEXT PRIMARY KEY,
    lock_pid      INTEGER NOT NULL,
    connected_at  TIMESTAMPTZ NOT NULL,
    heartbeat_at  TIMESTAMPTZ NOT NULL,
    version       TEXT NOT NULL
);
