-- The unattended budget counted as the bank counts it (docs/adapters.md "Unattended budget"): each bank request
-- made without the customer present, per bank × customer (the TPP's psuReference) × account (the stable account
-- key of connection_accounts, derived from the IBAN; '' for connection-level resources) × resource, whatever the
-- connection, so a new authorization of the same customer does not start a new count. Replaces unattended_reads,
-- which counted API calls per connection.
DROP TABLE unattended_reads;
CREATE TABLE unattended_requests (
    bank_id       text NOT NULL,
    psu_reference text NOT NULL,
    account_key   text NOT NULL,
    resource      text NOT NULL,
    at            timestamptz NOT NULL
);
CREATE INDEX unattended_requests_window ON unattended_requests (bank_id, psu_reference, account_key, resource, at);
