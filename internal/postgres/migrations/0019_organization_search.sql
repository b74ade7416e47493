-- Organization searches under 100 ms p99 at 100,000 organizations (issue 9;
-- docs/architecture.md, "Hostile input"): the searched copy of each
-- organization moves from the end of its organizations row (0013, 0016) to
-- a narrow side table, organization_search, one row per organization.
--
-- Why: an organizations row is ~390 bytes (4,977 pages for 100,000; jsonb,
-- arrays and settings), and the search columns were its last ones, so a
-- count that no trigram index narrows (a value without trigrams, or LIKE
-- matching everyone) deformed every row through all its columns: ~40 ms,
-- and the page (scan and sort) another ~40 ms. The side row holds only
-- what the search reads: ~2,000 pages, the strings after the fixed-width
-- columns, the member emails (the widest, up to 12 kB) last.
-- SearchOrganizations counts on it alone and reads organizations only for
-- the page's (at most limit+1) rows, by primary key.
--
-- Kept in the writing transaction by triggers, as the columns were:
-- organizations' insert writes the row, an update of the name, slug,
-- allowed domains or created time rewrites it (a WHEN clause: no PL/pgSQL
-- call for other settings), a delete cascades (the foreign key). The
-- member triggers of 0016 write search_member_emails and
-- search_members_many here, locking this row (not the organization's)
-- first: two member inserts into one organization still each keep both,
-- and a member's write now rewrites a ~200-byte row with 7 indexes instead
-- of a ~390-byte one with 11.
CREATE TABLE organization_search (
	project_id           text NOT NULL,
	id                   text NOT NULL,
	created_at           timestamptz NOT NULL,
	search_members_many  boolean NOT NULL DEFAULT false,
	search_name          text NOT NULL,
	search_slug          text NOT NULL,
	search_domains       text NOT NULL,
	search_member_emails text NOT NULL DEFAULT '',
	CONSTRAINT organization_search_pkey PRIMARY KEY (project_id, id),
	CONSTRAINT organization_search_organization_fkey FOREIGN KEY (project_id, id)
		REFERENCES organizations (project_id, id) ON DELETE CASCADE ON UPDATE CASCADE
);

-- Existing organizations, in the keyset's order.
INSERT INTO organization_search (project_id, id, created_at, search_members_many, search_name, search_slug,
	search_domains, search_member_emails)
SELECT project_id, id, created_at, search_members_many, search_name, search_slug, search_domains, search_member_emails
FROM organizations ORDER BY project_id, created_at, id;

CREATE INDEX organization_search_created_idx ON organization_search (project_id, created_at, id);
CREATE INDEX organization_search_name_trgm_idx ON organization_search USING gin (search_name gin_trgm_ops);
CREATE INDEX organization_search_slug_trgm_idx ON organization_search USING gin (search_slug gin_trgm_ops);
CREATE INDEX organization_search_domains_trgm_idx ON organization_search USING gin (search_domains gin_trgm_ops);
CREATE INDEX organization_search_member_emails_trgm_idx ON organization_search USING gin (search_member_emails gin_trgm_ops);
CREATE INDEX organization_search_members_many_idx ON organization_search (project_id, id) WHERE search_members_many;

CREATE FUNCTION sesame_organization_search_row() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'INSERT' THEN
		INSERT INTO organization_search (project_id, id, created_at, search_name, search_slug, search_domains)
		VALUES (NEW.project_id, NEW.id, NEW.created_at, lower(NEW.name), lower(NEW.slug),
			sesame_search_domains(NEW.email_allowed_domains));
	ELSE
		-- A changed key reached this row through ON UPDATE CASCADE,
		-- whose trigger fires before this one (trigger name order).
		UPDATE organization_search SET created_at = NEW.created_at, search_name = lower(NEW.name),
			search_slug = lower(NEW.slug), search_domains = sesame_search_domains(NEW.email_allowed_domains)
		WHERE project_id = NEW.project_id AND id = NEW.id;
	END IF;
	RETURN NULL;
END $$;

CREATE TRIGGER organizations_search_ins AFTER INSERT ON organizations
	FOR EACH ROW EXECUTE FUNCTION sesame_organization_search_row();
CREATE TRIGGER organizations_search_upd AFTER UPDATE ON organizations
	FOR EACH ROW WHEN ((OLD.name, OLD.slug, OLD.email_allowed_domains, OLD.created_at, OLD.id, OLD.project_id)
		IS DISTINCT FROM (NEW.name, NEW.slug, NEW.email_allowed_domains, NEW.created_at, NEW.id, NEW.project_id))
	EXECUTE FUNCTION sesame_organization_search_row();

-- 0016's function, writing the side row. Its lock (FOR NO KEY UPDATE of
-- the side row) serializes the member triggers of one organization, so the
-- aggregate that follows, a new statement with a new snapshot, sees every
-- committed member; it no longer blocks (nor waits for) an update of the
-- organization's other settings.
CREATE OR REPLACE FUNCTION sesame_search_org_members_of(p text, oid text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
	n int;
	s text;
BEGIN
	PERFORM 1 FROM organization_search WHERE project_id = p AND id = oid FOR NO KEY UPDATE;
	IF NOT FOUND THEN
		RETURN; -- deleted (a cascade from the organization)
	END IF;
	SELECT count(*), coalesce(string_agg(x.email, E'\n' ORDER BY x.email), '') INTO n, s
	FROM (SELECT m.email FROM members m
		WHERE m.project_id = p AND m.organization_id = oid AND m.status <> 'deleted' LIMIT 51) x;
	IF n > 50 THEN
		s := '';
	END IF;
	UPDATE organization_search SET search_member_emails = s, search_members_many = n > 50
	WHERE project_id = p AND id = oid AND (search_member_emails, search_members_many) IS DISTINCT FROM (s, n > 50);
END $$;

-- The organizations copies and their indexes (dropped with the columns).
-- Dropping a column rewrites nothing: existing rows keep the bytes until
-- their next update. The keyset index of 0004 served only the search.
ALTER TABLE organizations
	DROP COLUMN search_name,
	DROP COLUMN search_slug,
	DROP COLUMN search_domains,
	DROP COLUMN search_member_emails,
	DROP COLUMN search_members_many;
DROP INDEX organizations_project_created_idx;
