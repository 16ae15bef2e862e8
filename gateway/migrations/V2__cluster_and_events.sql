-- Who led the cluster when, and which events go to which targets.

CREATE TABLE cluster_leaders (
    node_id      TEXT NOT NULL,
    started_at   TIMESTAMPTZ NOT NULL,
    ended_at     TIMESTAMPTZ,
    ended_reason TEXT
);
CREATE INDEX cluster_leaders_open ON cluster_leaders (node_id) WHERE ended_at IS NULL;

CREATE TABLE event_subscriptions (
    id          UUID PRIMARY KEY,
    event_type  TEXT NOT NULL,
    target_kind TEXT NOT NULL CHECK (target_kind IN ('plugin', 'pipeline')),
    target      TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX event_subscriptions_by_type ON event_subscriptions (event_type);
