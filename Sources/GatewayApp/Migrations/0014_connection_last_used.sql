-- When a connection was last used for a bank read (docs/connections.md "Background refresher"): the refresher
-- renews the tokens of connections used recently (or close to their refresh expiry when the operator asks for it),
-- not every active connection.
ALTER TABLE connections ADD COLUMN last_used_at timestamptz;
