-- A webhook endpoint can be disabled and enabled again (PATCH /v1/webhooks/{id}; docs/events.md): while
-- disabled_at is set, no delivery is enqueued or started for it.
ALTER TABLE webhook_endpoints ADD COLUMN disabled_at timestamptz;
