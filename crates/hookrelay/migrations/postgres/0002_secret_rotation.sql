-- Secret rotation: the replaced secret keeps signing (where the scheme carries several
-- signatures) until previous_secret_expires_at (unix ms).
ALTER TABLE webhooks ADD COLUMN previous_secret TEXT;
ALTER TABLE webhooks ADD COLUMN previous_secret_expires_at BIGINT;
