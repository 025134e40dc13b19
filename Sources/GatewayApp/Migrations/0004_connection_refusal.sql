-- A customer can refuse at the bank: the bank redirects back with an OAuth error (RFC 6749 §4.1.2.1) instead of a
-- code. The connection then ends `refused`, with the bank's error code and description kept (sanitized, for the
-- TPP to show), and its state consumed.
ALTER TABLE connections DROP CONSTRAINT IF EXISTS connections_status_check;
ALTER TABLE connections ADD CONSTRAINT connections_status_check CHECK (status IN
    ('pending_authorization', 'active', 'reauthorization_required', 'revoked', 'refused'));
ALTER TABLE connections ADD COLUMN authorization_error text;
