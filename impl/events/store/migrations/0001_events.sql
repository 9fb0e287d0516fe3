-- Schema of the events store, shared as is by SQLite and PostgreSQL: times are Unix milliseconds
-- (BIGINT), flags are INTEGER 0/1, JSON and secrets are TEXT, so one file serves both engines.

-- The event log. dedup_key makes one event per link and transition, whichever instance and source
-- sees it first.
CREATE TABLE events (
    id          TEXT PRIMARY KEY,
    type        TEXT NOT NULL,
    provider    TEXT NOT NULL DEFAULT '',
    link_id     TEXT NOT NULL DEFAULT '',
    dedup_key   TEXT NOT NULL UNIQUE,
    occurred_at BIGINT NOT NULL,
    payload     TEXT NOT NULL
);
CREATE INDEX events_type_id ON events (type, id);
CREATE INDEX events_link_id ON events (link_id, id);
CREATE INDEX events_provider_id ON events (provider, id);

-- What paylinks last knew of each link, and its polling schedule. status '' = registered, not seen.
CREATE TABLE link_state (
    link_id      TEXT PRIMARY KEY,
    provider     TEXT NOT NULL,
    status       TEXT NOT NULL DEFAULT '',
    sequence     BIGINT NOT NULL DEFAULT 0,
    watched_at   BIGINT NOT NULL,
    next_poll_at BIGINT,
    expires_at   BIGINT,
    failures     INTEGER NOT NULL DEFAULT 0,
    lease_owner  TEXT,
    lease_until  BIGINT,
    updated_at   BIGINT NOT NULL
);
CREATE INDEX link_state_due ON link_state (next_poll_at) WHERE next_poll_at IS NOT NULL;

-- Token buckets of the per-provider polling budget, shared by every instance.
CREATE TABLE poll_budget (
    bucket     TEXT PRIMARY KEY,
    tokens     BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Merchants' endpoints. event_types and providers are comma lists ('' = all); secrets are sealed
-- (secretbox).
CREATE TABLE endpoints (
    id                    TEXT PRIMARY KEY,
    url                   TEXT NOT NULL,
    description           TEXT NOT NULL DEFAULT '',
    event_types           TEXT NOT NULL DEFAULT '',
    providers             TEXT NOT NULL DEFAULT '',
    secret                TEXT NOT NULL,
    previous_secret       TEXT,
    previous_secret_until BIGINT,
    disabled              INTEGER NOT NULL DEFAULT 0,
    disabled_reason       TEXT NOT NULL DEFAULT '',
    failing_since         BIGINT,
    created_at            BIGINT NOT NULL,
    updated_at            BIGINT NOT NULL
);

-- One delivery per event and endpoint. attempt counts attempts made (it fences results with
-- lease_owner); schedule_index is the position in the retry schedule, reset by a redelivery.
CREATE TABLE deliveries (
    id              TEXT PRIMARY KEY,
    event_id        TEXT NOT NULL REFERENCES events (id),
    endpoint_id     TEXT NOT NULL,
    status          TEXT NOT NULL,
    attempt         INTEGER NOT NULL DEFAULT 0,
    schedule_index  INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT,
    lease_owner     TEXT,
    lease_until     BIGINT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    UNIQUE (event_id, endpoint_id)
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX deliveries_endpoint ON deliveries (endpoint_id, id);

-- Every attempt made, including those whose result came too late (lease lost) and those of an
-- instance that died in the middle (recorded as abandoned by whoever took the lease over).
CREATE TABLE attempts (
    id          TEXT PRIMARY KEY,
    delivery_id TEXT NOT NULL,
    attempt     INTEGER NOT NULL,
    started_at  BIGINT NOT NULL,
    duration_ms BIGINT NOT NULL,
    http_status INTEGER NOT NULL DEFAULT 0,
    error       TEXT NOT NULL DEFAULT '',
    response    TEXT NOT NULL DEFAULT '',
    outcome     TEXT NOT NULL
);
CREATE INDEX attempts_delivery ON attempts (delivery_id, started_at);
