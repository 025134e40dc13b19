-- Lifecycle events (docs/events.md). `events` is an outbox: a change and the event it causes commit together.
-- Writers take a transaction advisory lock before inserting, so `seq` order is commit order and a reader resuming
-- after a `seq` never misses an event committed later with a smaller one.
CREATE TABLE events (
    seq          bigserial PRIMARY KEY,
    id           uuid NOT NULL UNIQUE,
    type         text NOT NULL,
    resource     text NOT NULL,          -- connection, registration, certificate, payment, bank
    resource_id  text NOT NULL,
    occurred_at  timestamptz NOT NULL,
    data         jsonb NOT NULL,
    once_key     text UNIQUE             -- time-based events: one row across replicas
);
CREATE INDEX events_resource ON events (resource, resource_id, seq);

-- Push delivery (Standard Webhooks). The secret is sealed like every other secret (row id and column bound).
CREATE TABLE webhook_endpoints (
    id             uuid PRIMARY KEY,
    url            text NOT NULL,
    event_types    text[] NOT NULL,
    secret_sealed  bytea NOT NULL,
    after_seq      bigint NOT NULL,      -- the feed's end when created: later events are delivered
    enqueued_seq   bigint NOT NULL,      -- deliveries exist for matching events up to this seq
    created_at     timestamptz NOT NULL,
    deleted_at     timestamptz
);

CREATE TABLE webhook_deliveries (
    id               bigserial PRIMARY KEY,
    endpoint_id      uuid NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_seq        bigint NOT NULL REFERENCES events (seq),
    status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed', 'cancelled')),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL,
    lease_until      timestamptz,
    last_status      integer,
    last_error       text,
    created_at       timestamptz NOT NULL,
    finished_at      timestamptz,
    UNIQUE (endpoint_id, event_seq)
);
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (endpoint_id, event_seq) WHERE status = 'pending';

-- Whether each bank answers (BankHealthMonitor): the row changes in the transaction of its bank.* event.
CREATE TABLE bank_health (
    bank_id     text PRIMARY KEY,
    status      text NOT NULL CHECK (status IN ('up', 'down')),
    changed_at  timestamptz NOT NULL
);
