-- Payment initiation (docs/payments.md). A payment row and the identifiers sent to the bank are committed
-- (`submitting`) before the bank is called; a payment whose bank outcome is ambiguous becomes `unknown` and is never
-- sent again. The PKCE verifier is sealed with payments/<id>/pkce_verifier as associated data.
CREATE TABLE payments (
    id                      uuid PRIMARY KEY,
    principal               text NOT NULL,             -- the API key id that created it
    idempotency_key         text NOT NULL,
    registration_id         uuid NOT NULL REFERENCES registrations (id),
    bank_id                 text NOT NULL,
    environment             text NOT NULL CHECK (environment IN ('sandbox', 'production')),
    psu_reference           text NOT NULL,
    redirect_uri            text NOT NULL,
    status                  text NOT NULL CHECK (status IN ('submitting', 'authorization_required', 'pending',
                                'accepted', 'executed', 'rejected', 'cancelled', 'unknown')),
    confirmed               boolean NOT NULL DEFAULT false,
    bank_status             text,                      -- ISO 20022 paymentInformationStatus
    bank_status_reason      text,                      -- statusReasonInformation
    status_detail           text,                      -- why we set the status (safe text, no bank body)
    payment_information_id  text NOT NULL UNIQUE,
    instruction_id          text NOT NULL UNIQUE,
    end_to_end_id           text NOT NULL UNIQUE,
    amount                  text NOT NULL,             -- decimal text, never a float
    currency                text NOT NULL,
    creditor_name           text NOT NULL,
    creditor_iban           text NOT NULL,
    creditor_bic            text,
    debtor_iban             text,
    remittance              text NOT NULL,
    requested_execution_date date,
    instant                 boolean NOT NULL DEFAULT false,
    bank_resource_id        text,
    bank_location           text,
    approval_url            text,                      -- the bank's consentApproval href
    state_hash              bytea UNIQUE,              -- SHA-256 of the single-use OAuth state; NULL once used
    state_expires_at        timestamptz,
    pkce_verifier_sealed    bytea,
    reconcile_attempts      integer NOT NULL DEFAULT 0,
    next_check_at           timestamptz,
    created_at              timestamptz NOT NULL,
    updated_at              timestamptz NOT NULL,
    UNIQUE (principal, idempotency_key)
);
CREATE INDEX payments_psu ON payments (psu_reference, created_at DESC, id);
CREATE INDEX payments_reconcile ON payments (next_check_at) WHERE status IN ('submitting', 'unknown');

-- Idempotency keys (draft-ietf-httpapi-idempotency-key-header), scoped to the API key: the first answer to a key is
-- kept and replayed; `in_flight` while the first request runs. Purged after the retention (at least 24 h).
CREATE TABLE idempotency_keys (
    principal        text NOT NULL,
    key              text NOT NULL,
    request_hash     bytea NOT NULL,                   -- SHA-256 of method, path and body
    state            text NOT NULL CHECK (state IN ('in_flight', 'done')),
    response_status  integer,
    response_headers text,                             -- "Name: value" lines
    response_body    bytea,                            -- sealed (idempotency_keys/<principal>/<key>)
    created_at       timestamptz NOT NULL,
    PRIMARY KEY (principal, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

-- Client-credentials tokens per registration and scope (pisp, cbpii), sealed with
-- registration_tokens/<registration>/<scope> as associated data, shared by the replicas.
CREATE TABLE registration_tokens (
    registration_id     uuid NOT NULL REFERENCES registrations (id) ON DELETE CASCADE,
    scope               text NOT NULL,
    access_token_sealed bytea NOT NULL,
    expires_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL,
    PRIMARY KEY (registration_id, scope)
);
