-- Fewer WAL records and index entries per send and verify (issue 10). See
-- docs/architecture.md, "Postgres writes per send and verify".

-- challenges_expires_idx had no reader: Prune's condition (expired, or
-- older than an expired code of the same method) is an OR with an EXISTS,
-- which no single index serves, so it scans the table (it did with the
-- index too); every other read of a code goes by id or by method
-- (challenges_method_idx). Each code paid one index entry for it.
DROP INDEX challenges_expires_idx;

-- Room on every page for the new version of a row, so that the UPDATEs a
-- code gets (an attempt counted, consumed) are HOT: no index covers
-- attempts or consumed_at, so the new version needs no index entry at all
-- when it fits on the row's page (a non-HOT update wrote one entry in each
-- of the table's indexes). The same for the verified flag of an email or a
-- phone (its first verify). Pages written before this keep their layout.
ALTER TABLE challenges SET (fillfactor = 80);
ALTER TABLE emails SET (fillfactor = 90);
ALTER TABLE phone_numbers SET (fillfactor = 90);
