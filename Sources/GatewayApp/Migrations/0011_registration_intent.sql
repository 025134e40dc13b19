-- A registration is written before the bank is called, in state `registering` (the intent, with the request's
-- fields), and completed with the bank's answer; a completion that cannot be stored leaves it `failed` with the
-- bank's client_id, so bank and local state never diverge silently (docs/operations.md, "Failure modes").
ALTER TABLE registrations DROP CONSTRAINT IF EXISTS registrations_status_check;
ALTER TABLE registrations ADD CONSTRAINT registrations_status_check
    CHECK (status IN ('registering', 'pending', 'active', 'failed', 'deleted'));
