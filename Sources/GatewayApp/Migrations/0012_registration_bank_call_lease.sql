-- A registration update or deletion is claimed in a short transaction (a lease: an id and an expiry), the bank is
-- called with no database connection or row lock held, and the result is stored in a second short transaction that
-- checks the claim (RegistrationStore.withBankCallLease), as token refreshes do (0010).
ALTER TABLE registrations ADD COLUMN bank_call_lease_id uuid;
ALTER TABLE registrations ADD COLUMN bank_call_lease_until timestamptz;
