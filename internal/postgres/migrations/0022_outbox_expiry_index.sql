-- The relay's expiry index no longer matches a message id (issue 10). See
-- docs/architecture.md, "The outbox out of the messages row".
--
-- message_outbox_expires_idx (0018) was on (expires_at, message_id). Its
-- second column let the planner use it for `message_id = ANY(ids)`: with
-- statistics taken while the outbox was empty (its rows leave within
-- milliseconds, so it nearly always is), a mark of published messages
-- walked the whole index once per id, 50 ms to 1.7 s of Postgres CPU per
-- mark under make bench (auto_explain), generic and custom plans alike.
-- The lookups by message id (the mark, the relay's lease, a message's
-- status) have the primary key; the relay and Prune read expiry order,
-- which this index gives (message_id only breaks ties, an incremental
-- sort, and lets Prune's scan read ids from the index).
CREATE INDEX message_outbox_expiry_idx ON message_outbox (expires_at) INCLUDE (message_id);
DROP INDEX message_outbox_expires_idx;
