-- Internal API keys: only a SHA-256 hash of each key is stored; the key is shown once at creation.
CREATE TABLE api_keys (
    id           uuid PRIMARY KEY,
    name         text NOT NULL UNIQUE,
    key_hash     bytea NOT NULL UNIQUE,
    key_prefix   text NOT NULL,              -- first characters, to recognise a key in listings
    created_at   timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz,
    last_used_at timestamptz
);

-- One row per outbound bank call (issue 5). Never tokens, bodies, IBANs or identifiers from paths.
CREATE TABLE outbound_requests (
    id                  bigserial PRIMARY KEY,
    at                  timestamptz NOT NULL,
    request_id          text NOT NULL,       -- the X-Request-ID we sent to the bank
    inbound_request_id  text,                -- the X-Request-Id of the API call that caused it
    bank_id             text NOT NULL,
    method              text NOT NULL,
    path_template       text NOT NULL,
    signed_headers      text[] NOT NULL DEFAULT '{}',
    status              integer,
    duration_ms         double precision NOT NULL,
    bytes_sent          integer NOT NULL DEFAULT 0,
    bytes_received      integer NOT NULL DEFAULT 0,
    bank_correlation_id text,
    error_kind          text
);
CREATE INDEX outbound_requests_at ON outbound_requests (at);
CREATE INDEX outbound_requests_bank_at ON outbound_requests (bank_id, at);
