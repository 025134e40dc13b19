-- eIDAS certificates uploaded by the TPP. The private key is sealed (envelope encryption, AES-256-GCM) with the
-- row id as associated data, so a ciphertext copied to another row does not decrypt.
CREATE TABLE certificates (
    id                      uuid PRIMARY KEY,
    kind                    text NOT NULL CHECK (kind IN ('qwac', 'qseal')),
    label                   text,
    subject                 text NOT NULL,
    issuer                  text NOT NULL,
    serial_number           text NOT NULL,
    organization_identifier text NOT NULL,
    roles                   text[] NOT NULL DEFAULT '{}',
    nca_name                text,
    nca_id                  text,
    not_before              timestamptz NOT NULL,
    not_after               timestamptz NOT NULL,
    sha256_fingerprint      text NOT NULL UNIQUE,
    certificate_pem         text NOT NULL,    -- leaf
    chain_pem               text NOT NULL,    -- leaf followed by the chain, as uploaded
    private_key_sealed      bytea NOT NULL,
    created_at              timestamptz NOT NULL DEFAULT now()
);

-- A TPP's registration at a bank (Euro-Information: per brand; BPCE: group-wide).
CREATE TABLE registrations (
    id                      uuid PRIMARY KEY,
    provider                text NOT NULL CHECK (provider IN ('euro-information', 'bpce')),
    bank_id                 text NOT NULL,             -- cmcic:<segment>, or bpce (group-wide)
    environment             text NOT NULL CHECK (environment IN ('sandbox', 'production')),
    status                  text NOT NULL CHECK (status IN ('pending', 'active', 'failed', 'deleted')),
    client_id               text,
    key_id                  text,                      -- the keyId our signatures carry
    registration_client_uri text,
    activates_at            timestamptz,
    qwac_certificate_id     uuid NOT NULL REFERENCES certificates (id),
    qseal_certificate_id    uuid NOT NULL REFERENCES certificates (id),
    client_name             text NOT NULL,
    redirect_uris           text[] NOT NULL,
    roles                   text[] NOT NULL,
    contact                 jsonb NOT NULL,
    software_id             text,
    logo_uri                text,
    client_legal_id         text,
    bank_keys               jsonb NOT NULL DEFAULT '[]',  -- [{certificateId, kid, fingerprint}] as the bank knows them
    last_request            jsonb,                     -- exact bodies kept for support (no secrets in them)
    last_response           jsonb,
    version                 integer NOT NULL DEFAULT 1,
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX registrations_bank ON registrations (provider, environment, status);
CREATE INDEX registrations_qwac ON registrations (qwac_certificate_id);
CREATE INDEX registrations_qseal ON registrations (qseal_certificate_id);
