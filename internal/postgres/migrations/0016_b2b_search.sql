-- B2B searches under 100 ms at 100,000 rows (issue 9; docs/architecture.md,
-- "Hostile input"), as 0013 did for users.

-- members: the fuzzy filters' trigram indexes on (column COLLATE "C")
-- instead of lower(column). Emails are stored lower-cased and phone numbers
-- have no case, so the text is the same; a COLLATE is no call at run time,
-- where lower() on each of 100,000 members doubled the cost of a count
-- matching them all. "=" on the column (default collation) still cannot use
-- them (pg_trgm 1.6 answers "=", the reason 0013 moved them off the column).
DROP INDEX members_email_trgm_idx;
DROP INDEX members_mfa_phone_trgm_idx;
CREATE INDEX members_email_trgm_idx ON members USING gin ((email COLLATE "C") gin_trgm_ops);
CREATE INDEX members_mfa_phone_trgm_idx ON members USING gin ((mfa_phone_number COLLATE "C") gin_trgm_ops);

-- The member search's count is an index-only scan of the organizations'
-- members: the keyset index carries every column a member filter reads
-- (ids, status, email, MFA phone, breakglass), so counting 100,000 members
-- reads a third of the pages the heap holds. Emails (254 bytes at most)
-- and E.164 numbers keep the entries far below the btree's size limit.
-- status joins the indexed columns: a member's activation (once) is no
-- longer a HOT update.
CREATE INDEX members_org_search_idx ON members (project_id, organization_id, created_at, id)
	INCLUDE (status, email, mfa_phone_number, is_breakglass);
DROP INDEX members_org_created_idx;

-- organizations: organization_name_fuzzy and organization_slug_fuzzy match
-- the lower-cased name and slug, stored (lower() on each of 100,000 rows
-- cost as much as the rest of the count) and trigram-indexed in place of
-- the lower(...) expression indexes of 0008. Nothing compares them with
-- "=", so pg_trgm's "=" support is harmless here.
--
-- member_email_fuzzy is a condition on the organizations row too: an
-- organization with at most 50 non-deleted members keeps their emails,
-- sorted and newline-joined (no email holds one), in search_member_emails;
-- a larger one keeps '' and search_members_many, and SearchOrganizations
-- looks for its matching members through members_org_search_idx, one
-- organization at a time, before the count and the page (few organizations
-- are large: at most one per 51 members). Before, the filter was a
-- semi-join that hashed the organization ids of every matching member,
-- in the count and again in the page (2.4 s for a value matching one
-- member in each of 100,000 organizations). 50 bounds what a member's
-- insert or removal rewrites: one organizations row and its trigram
-- entries, never a large organization's (a member joining one that is
-- already large finds it so and writes nothing).
--
-- Row triggers on members keep the columns in the writing statement's
-- transaction (as 0013 does for users): they lock the organization row
-- first (FOR NO KEY UPDATE, which the foreign key's KEY SHARE of a
-- concurrent member insert does not block), so the aggregate that
-- follows, a new statement with a new snapshot, sees every committed
-- member: two transactions adding a member to one organization each keep
-- both. An UPDATE fires them only when the email, the organization or
-- whether the member is deleted changes (a WHEN clause, no PL/pgSQL call
-- otherwise): never for an authentication's status or flag changes.
ALTER TABLE organizations
	ADD COLUMN search_member_emails text NOT NULL DEFAULT '',
	ADD COLUMN search_members_many  boolean NOT NULL DEFAULT false;

CREATE FUNCTION sesame_search_org_members_of(p text, oid text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
	n int;
	s text;
BEGIN
	PERFORM 1 FROM organizations WHERE project_id = p AND id = oid FOR NO KEY UPDATE;
	IF NOT FOUND THEN
		RETURN; -- deleted (a cascade from the organization)
	END IF;
	SELECT count(*), coalesce(string_agg(x.email, E'\n' ORDER BY x.email), '') INTO n, s
	FROM (SELECT m.email FROM members m
		WHERE m.project_id = p AND m.organization_id = oid AND m.status <> 'deleted' LIMIT 51) x;
	IF n > 50 THEN
		s := '';
	END IF;
	UPDATE organizations SET search_member_emails = s, search_members_many = n > 50
	WHERE project_id = p AND id = oid AND (search_member_emails, search_members_many) IS DISTINCT FROM (s, n > 50);
END $$;

CREATE FUNCTION sesame_search_org_members_row() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP <> 'DELETE' THEN
		PERFORM sesame_search_org_members_of(NEW.project_id, NEW.organization_id);
	END IF;
	IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND (OLD.project_id, OLD.organization_id) IS DISTINCT FROM (NEW.project_id, NEW.organization_id)) THEN
		PERFORM sesame_search_org_members_of(OLD.project_id, OLD.organization_id);
	END IF;
	RETURN NULL;
END $$;

CREATE TRIGGER members_search_ins_del AFTER INSERT OR DELETE ON members
	FOR EACH ROW EXECUTE FUNCTION sesame_search_org_members_row();
CREATE TRIGGER members_search_upd AFTER UPDATE ON members
	FOR EACH ROW WHEN ((OLD.email, OLD.status = 'deleted', OLD.organization_id, OLD.project_id)
		IS DISTINCT FROM (NEW.email, NEW.status = 'deleted', NEW.organization_id, NEW.project_id))
	EXECUTE FUNCTION sesame_search_org_members_row();

-- Existing members.
UPDATE organizations o SET search_member_emails = CASE WHEN s.n > 50 THEN '' ELSE s.emails END, search_members_many = s.n > 50
FROM (SELECT project_id, organization_id, count(*) AS n, string_agg(email, E'\n' ORDER BY email) AS emails
	FROM members WHERE status <> 'deleted' GROUP BY project_id, organization_id) s
WHERE o.project_id = s.project_id AND o.id = s.organization_id;

-- Adding the generated columns rewrites organizations once, here, after
-- the backfill: the rewrite copies only the live row versions, so the
-- table is not left with a dead version of every organization that has
-- members.
ALTER TABLE organizations
	ADD COLUMN search_name text NOT NULL GENERATED ALWAYS AS (lower(name)) STORED,
	ADD COLUMN search_slug text NOT NULL GENERATED ALWAYS AS (lower(slug)) STORED;

DROP INDEX organizations_name_trgm_idx;
DROP INDEX organizations_slug_trgm_idx;
CREATE INDEX organizations_search_name_trgm_idx ON organizations USING gin (search_name gin_trgm_ops);
CREATE INDEX organizations_search_slug_trgm_idx ON organizations USING gin (search_slug gin_trgm_ops);
CREATE INDEX organizations_search_member_emails_trgm_idx ON organizations USING gin (search_member_emails gin_trgm_ops);
CREATE INDEX organizations_members_many_idx ON organizations (project_id, id) WHERE search_members_many;
