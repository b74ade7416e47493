-- Delivery reports from providers (Twilio status callbacks, SendGrid event
-- webhook): a sent message may become delivered or undelivered. Reports find
-- their message by provider_id (Twilio's sid, SendGrid's X-Message-Id),
-- which is '' until the message is sent, hence the partial index.
ALTER TABLE messages DROP CONSTRAINT messages_status_check;
ALTER TABLE messages ADD CONSTRAINT messages_status_check
	CHECK (status IN ('queued', 'published', 'sending', 'retrying', 'sent', 'failed', 'skipped', 'delivered', 'undelivered'));
ALTER TABLE messages ADD COLUMN delivered_at timestamptz;
CREATE INDEX messages_provider_id_idx ON messages (provider_id) WHERE provider_id <> '';
