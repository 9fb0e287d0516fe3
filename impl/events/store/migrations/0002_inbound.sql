-- Provider webhooks in: what paylinks received from providers, what it registered at them, and
-- the ids their webhooks name. Shared as is by SQLite and PostgreSQL (BYTEA has NUMERIC affinity
-- in SQLite, which keeps blobs as they are).

-- Verified provider webhooks, kept until resolved (the links they concern read at the provider).
-- dedup_key is the provider's event id, else a hash of the body; repeatable = 1 when a copy
-- arriving after resolution must be resolved again (a hash: identical bodies can carry news).
-- hints counts copies merged in; a resolution is recorded done only if no copy arrived meanwhile.
CREATE TABLE inbox (
    id              TEXT PRIMARY KEY,
    provider        TEXT NOT NULL,
    kind            TEXT NOT NULL DEFAULT '',
    dedup_key       TEXT NOT NULL,
    repeatable      INTEGER NOT NULL DEFAULT 0,
    body            BYTEA NOT NULL,
    status          TEXT NOT NULL,
    hints           INTEGER NOT NULL DEFAULT 0,
    attempt         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT,
    lease_owner     TEXT,
    lease_until     BIGINT,
    last_error      TEXT NOT NULL DEFAULT '',
    received_at     BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    UNIQUE (provider, dedup_key)
);
CREATE INDEX inbox_due ON inbox (next_attempt_at) WHERE status = 'pending';
CREATE INDEX inbox_resolved ON inbox (updated_at) WHERE status <> 'pending';

-- Ids a provider's webhooks may name (Hub2 payment intents and payments, purchase references),
-- and the links they belong to, as seen when paylinks read those links.
CREATE TABLE link_refs (
    provider TEXT NOT NULL,
    ref      TEXT NOT NULL,
    link_id  TEXT NOT NULL,
    seen_at  BIGINT NOT NULL,
    PRIMARY KEY (provider, ref, link_id)
);

-- Subscriptions paylinks registered at providers (one row per provider and subscription name,
-- e.g. a MijnKlantportaal event type), with their secrets sealed (secretbox).
CREATE TABLE provider_webhooks (
    provider              TEXT NOT NULL,
    name                  TEXT NOT NULL,
    remote_id             TEXT NOT NULL DEFAULT '',
    url                   TEXT NOT NULL,
    events                TEXT NOT NULL DEFAULT '',
    secret                TEXT NOT NULL,
    previous_secret       TEXT,
    previous_secret_until BIGINT,
    created_at            BIGINT NOT NULL,
    updated_at            BIGINT NOT NULL,
    PRIMARY KEY (provider, name)
);
