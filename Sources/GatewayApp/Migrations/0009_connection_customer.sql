-- What the bank said about the customer and what the customer consented to (docs/connections.md): the name the
-- bank's accounts list gives (STET connectedPsu, BPCE) and the last consent forwarded with PUT /consents (the
-- IBANs for balances and transactions, trusted beneficiaries, identity), shown on the connection.
ALTER TABLE connections ADD COLUMN connected_psu text;
ALTER TABLE connections ADD COLUMN consents jsonb;
