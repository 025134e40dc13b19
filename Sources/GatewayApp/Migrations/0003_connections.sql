-- A PSU's authorization at one bank. Tokens and the PKCE verifier are sealed with the row id as associated data.
CREATE TABLE connections (
    id                    uuid PRIMARY KEY,
    registration_id       uuid NOT NULL REFERENCES registrations (id),
    bank_id               text NOT NULL,
    psu_reference         text NOT NULL,
    redirect_uri          text NOT NULL,
    roles                 text[] NOT NULL,
    status                text NOT NULL CHECK (status IN
                              ('pending_authorization', 'active', 'reauthorization_required', 'revoked')),
    state_hash            bytea UNIQUE,              -- SHA-256 of the single-use OAuth state
    state_expires_at      timestamptz,
    pkce_verifier_sealed  bytea,
    access_token_sealed   bytea,
    access_expires_at     timestamptz,
    refresh_token_sealed  bytea,
    refresh_expires_at    timestamptz,
    authorized_at         timestamptz,
    reauthorize_by        timestamptz,
    token_generation      integer NOT NULL DEFAULT 0, -- bumped by every committed refresh
    last_refresh_error    text,
    next_refresh_at       timestamptz,               -- the background refresher's schedule
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX connections_psu ON connections (psu_reference);
CREATE INDEX connections_refresh ON connections (next_refresh_at) WHERE status = 'active';

-- Stable account ids per connection: our id ↔ the bank's resourceId.
CREATE TABLE connection_accounts (
    connection_id    uuid NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    account_id       text NOT NULL,
    bank_resource_id text NOT NULL,
    iban_sealed      bytea,
    PRIMARY KEY (connection_id, account_id),
    UNIQUE (connection_id, bank_resource_id)
);

-- Unattended reads (no PSU-IP-Address) over a rolling 24 h, per connection × account × resource.
CREATE TABLE unattended_reads (
    connection_id uuid NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    account_key   text NOT NULL,
    resource      text NOT NULL,
    at            timestamptz NOT NULL
);
CREATE INDEX unattended_reads_window ON unattended_reads (connection_id, account_key, resource, at);
