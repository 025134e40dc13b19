-- A PSU's authorization at one bank. Tokens and the PKCE verifier are sealed with the row id and column name as
-- associated data (connections/<id>/<column>), so a ciphertext moved to another row or column does not open.
CREATE TABLE connections (
    id                    uuid PRIMARY KEY,
    registration_id       uuid NOT NULL REFERENCES registrations (id),
    bank_id               text NOT NULL,
    environment           text NOT NULL CHECK (environment IN ('sandbox', 'production')),
    psu_reference         text NOT NULL,
    redirect_uri          text NOT NULL,
    roles                 text[] NOT NULL,
    status                text NOT NULL CHECK (status IN
                              ('pending_authorization', 'active', 'reauthorization_required', 'revoked')),
    state_hash            bytea UNIQUE,              -- SHA-256 of the single-use OAuth state; NULL once used
    state_expires_at      timestamptz,
    pkce_verifier_sealed  bytea,
    access_token_sealed   bytea,
    access_expires_at     timestamptz,
    refresh_token_sealed  bytea,
    refresh_expires_at    timestamptz,
    authorized_at         timestamptz,
    reauthorize_by        timestamptz,
    token_generation      integer NOT NULL DEFAULT 0, -- bumped by every committed token change
    last_refresh_error    text,                      -- safe description of the last failed refresh
    next_refresh_at       timestamptz,               -- the background refresher's back-off after a failure
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX connections_psu ON connections (psu_reference, created_at DESC, id);
CREATE INDEX connections_expiry ON connections (access_expires_at) WHERE status = 'active';

-- Stable account ids per connection: our id ↔ the bank's current resourceId. `account_key` is the SHA-256 (hex)
-- of the account's stable identification (IBAN, masked PAN, else the resourceId), so an account keeps its id when
-- the bank renumbers its resourceIds, without storing the IBAN in clear here.
CREATE TABLE connection_accounts (
    connection_id    uuid NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    account_id       text NOT NULL,
    account_key      text NOT NULL,
    bank_resource_id text NOT NULL,
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (connection_id, account_id),
    UNIQUE (connection_id, account_key)
);

-- Unattended reads (no PSU-IP-Address) over a rolling window, per connection × account × resource. Rows older
-- than the window are pruned when the same key is counted again.
CREATE TABLE unattended_reads (
    connection_id uuid NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    account_key   text NOT NULL,                     -- our account id, or '' for connection-level resources
    resource      text NOT NULL,
    at            timestamptz NOT NULL
);
CREATE INDEX unattended_reads_window ON unattended_reads (connection_id, account_key, resource, at);
