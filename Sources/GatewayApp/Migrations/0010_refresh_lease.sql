-- A token refresh is claimed in a short transaction (a lease: an id and an expiry), the bank is called with no
-- database connection or row lock held, and the result is committed in a second short transaction that checks the
-- claim is still this caller's (docs/race.md).
ALTER TABLE connections ADD COLUMN refresh_lease_id uuid;
ALTER TABLE connections ADD COLUMN refresh_lease_until timestamptz;
