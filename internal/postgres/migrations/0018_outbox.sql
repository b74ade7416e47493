-- HOT-able message writes (issue 10). See docs/architecture.md, "The outbox
-- out of the messages row".
--
-- Every status change of a message (publish mark, relay lease, begin and
-- finish of a delivery) changed a column of an index or of a partial index
-- predicate (messages_queued_idx on status and updated_at,
-- messages_payload_expires_idx on payload), so none was a HOT update: each
-- wrote a new entry into every index of the largest table. The "waits to be
-- published" state and the payload now live in two small tables, so that
-- the messages row keeps only delivery-record columns that no index reads
-- (status, attempts, lease_until, updated_at, last_error, sent_at, ...).

-- A message waiting to be published: inserted with the message, deleted by
-- the publish mark (MarkPublished), leased and read by the relay
-- (ClaimOutbox), oldest expiry first. A message whose status is queued and
-- that has no row here is published (the status the API shows).
CREATE TABLE message_outbox (
	message_id  text PRIMARY KEY,
	expires_at  timestamptz NOT NULL,
	queued_at   timestamptz NOT NULL,
	lease_until timestamptz
);
CREATE INDEX message_outbox_expires_idx ON message_outbox (expires_at, message_id);

-- The encrypted event of a message not yet sent or skipped: read by the
-- relay, kept for a failed message so that RequeueMessage can replay it,
-- deleted when the message is sent or skipped, and by Prune once expired.
CREATE TABLE message_payloads (
	message_id text PRIMARY KEY,
	payload    bytea NOT NULL,
	expires_at timestamptz NOT NULL
);
CREATE INDEX message_payloads_expires_idx ON message_payloads (expires_at);

-- Neither table references messages (a foreign key would lock the new
-- message row once more per send): rows of a message deleted with its user
-- or project are left to the relay (which drops them) and to Prune.

INSERT INTO message_payloads (message_id, payload, expires_at)
	SELECT id, payload, expires_at FROM messages WHERE payload IS NOT NULL;
INSERT INTO message_outbox (message_id, expires_at, queued_at, lease_until)
	SELECT id, expires_at, updated_at, relay_lease_until FROM messages WHERE status = 'queued' AND payload IS NOT NULL;
-- (Through messages_payload_expires_idx: no scan of the whole table.)
UPDATE messages SET payload = NULL, relay_lease_until = NULL WHERE payload IS NOT NULL;

-- The relay's queue moved to message_outbox. messages.payload and
-- relay_lease_until stay, always NULL from now on (so
-- messages_payload_expires_idx stays empty and no update changes a column
-- it reads): a replica still running the previous version keeps working
-- during a rolling deploy (see architecture).
DROP INDEX messages_queued_idx;

-- Room on each page for the new versions of HOT updates.
ALTER TABLE messages SET (fillfactor = 90);
