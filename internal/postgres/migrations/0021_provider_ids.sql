-- The finish of a sent message becomes a HOT update (issue 10). See
-- docs/architecture.md, "Delivery reports find their message in a side table".
--
-- messages_provider_id_idx (0003) was the last index of messages on a
-- column that a delivery changes: the finish of a sent message sets
-- provider_id, so that update wrote a new entry into every index of the
-- table (5 of the 14 index inserts of a message's life). Delivery reports
-- now find their message through message_provider_ids, one row per sent
-- message; messages.provider_id stays (the API shows it), unindexed.

-- Keyed like the lookup (RecordProviderStatus): a provider's id among the
-- channels that provider serves. Should a provider id come back on the same
-- channel for another message, the newer message takes it (a fresh report
-- is about the newer one); the older one's row is replaced, not duplicated.
CREATE TABLE message_provider_ids (
	provider_id text NOT NULL,
	channel     text NOT NULL,
	message_id  text NOT NULL,
	CONSTRAINT message_provider_ids_pkey PRIMARY KEY (provider_id, channel)
);

-- The ids of messages sent so far (through messages_provider_id_idx, not a
-- scan of the whole table); where two share one, the latest sent wins. It
-- runs before the trigger and the DROP INDEX, whose locks on messages (held
-- to the commit) would hold up every write of a message meanwhile; a
-- message deleted while it runs may leave a row, which the lookup's join to
-- messages ignores. A replica of the previous version that finishes a
-- message after this sets only messages.provider_id: docs/architecture.md
-- has the query that adds those after the deploy.
INSERT INTO message_provider_ids (provider_id, channel, message_id)
	SELECT DISTINCT ON (provider_id, channel) provider_id, channel, id FROM messages
	WHERE provider_id <> ''
	ORDER BY provider_id, channel, sent_at DESC NULLS LAST, id DESC;

-- The finish of a sent message writes its row (finishDeliveries); a
-- trigger deletes it with the message, for every delete (Prune, and the
-- cascades from a deleted user, member or project, which no statement of
-- ours sees), without a foreign key (which would lock the message row once
-- more per finish and need an index on message_id). It fires only for a
-- message that has a provider id. (A trigger writing the row too, which
-- would also follow a replica of the previous version, cost the drain
-- ≈ 0.04 ms of Postgres CPU per message, 0.12 → 0.16-0.17 ms:
-- docs/architecture.md.)
CREATE FUNCTION sesame_message_provider_id_deleted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	DELETE FROM message_provider_ids
	WHERE provider_id = OLD.provider_id AND channel = OLD.channel AND message_id = OLD.id;
	RETURN NULL;
END
$$;

CREATE TRIGGER messages_provider_id_deleted
	AFTER DELETE ON messages
	FOR EACH ROW
	WHEN (OLD.provider_id <> '')
	EXECUTE FUNCTION sesame_message_provider_id_deleted();

DROP INDEX messages_provider_id_idx;
