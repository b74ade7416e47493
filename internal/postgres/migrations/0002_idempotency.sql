-- Results of send requests made with an Idempotency-Key header, so a client
-- retry returns the first answer instead of sending a second message.
-- result is NULL while the first request runs. Rows are pruned after 24 h.
CREATE TABLE idempotency_keys (
	project_id  text NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
	key         text NOT NULL,
	fingerprint bytea NOT NULL,
	result      jsonb,
	created_at  timestamptz NOT NULL,
	PRIMARY KEY (project_id, key)
);
CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);
