-- Whether the registration asked for transaction history beyond 90 days (Euro-Information
-- `extended_transaction_history`): kept, so that every update at the bank and every authorize URL asks for it again.
ALTER TABLE registrations ADD COLUMN extended_transaction_history boolean NOT NULL DEFAULT false;
