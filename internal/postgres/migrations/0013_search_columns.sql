-- Search stays under 100 ms at 100,000 users whatever the filters (issue 9;
-- docs/architecture.md, "Hostile input"). A user's email addresses and
-- phone numbers, and whether it has a verified or an unverified one, are
-- kept on its users row, so every users-search filter but the exact-value
-- lists and TOTP is a condition on users alone: the total count is one scan
-- (or one bitmap) of users, never a join or a hash of 100,000 ids, and
-- OR of filters is a BitmapOr of their indexes.
--
-- search_emails (search_phones) holds the user's addresses (numbers),
-- sorted, joined by a newline (which no address or E.164 number holds:
-- SearchUsers never matches a fuzzy value holding one). Statement triggers
-- on emails and phone_numbers keep them in the writing statement's own
-- transaction, so no code path can forget them.
--
-- search_name is sesame_search_name (0008) stored: full_name_fuzzy under OR
-- or matching most users evaluated lower(concat_ws(...)) on every row, 2 to
-- 4 times the cost of reading a column. Adding a stored generated column
-- rewrites users once, here.
ALTER TABLE users
	ADD COLUMN search_name             text NOT NULL GENERATED ALWAYS AS (sesame_search_name(first_name, middle_name, last_name)) STORED,
	ADD COLUMN search_emails           text NOT NULL DEFAULT '',
	ADD COLUMN search_email_verified   boolean NOT NULL DEFAULT false,
	ADD COLUMN search_email_unverified boolean NOT NULL DEFAULT false,
	ADD COLUMN search_phones           text NOT NULL DEFAULT '',
	ADD COLUMN search_phone_verified   boolean NOT NULL DEFAULT false,
	ADD COLUMN search_phone_unverified boolean NOT NULL DEFAULT false;

-- sesame_search_emails_of refreshes the email columns of one user. The row
-- is locked first (FOR NO KEY UPDATE, which a concurrent email insert's
-- foreign-key KEY SHARE lock does not block), so the aggregate that
-- follows, a new statement with a new snapshot under READ COMMITTED, sees
-- every committed email of the user: two transactions adding an email to
-- one user each keep both. It writes nothing when the columns already hold
-- the aggregate (as after a send, which fills them when it creates the
-- user: see internal/postgres/send.go).
--
-- Row triggers with scalar keys, not statement triggers over transition
-- tables: every lookup is on a primary key or the (project_id, user_id)
-- index, whatever the plan cache holds. The first version aggregated a
-- jsonb of keys; its cached generic plan joined users by hash, 464 buffers
-- and 9.5 ms per send in make bench (docs/benchmarks.md). An UPDATE fires
-- only when a searched column changed (the WHEN clause, evaluated without
-- calling PL/pgSQL).
CREATE FUNCTION sesame_search_emails_of(p text, uid text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM 1 FROM users WHERE project_id = p AND id = uid FOR NO KEY UPDATE;
	UPDATE users u SET search_emails = s.addrs, search_email_verified = s.v, search_email_unverified = s.nv
	FROM (
		SELECT coalesce(string_agg(e.address, E'\n' ORDER BY e.address), '') AS addrs,
			coalesce(bool_or(e.verified), false) AS v, coalesce(bool_or(NOT e.verified), false) AS nv
		FROM emails e WHERE e.project_id = p AND e.user_id = uid
	) s
	WHERE u.project_id = p AND u.id = uid
		AND (u.search_emails, u.search_email_verified, u.search_email_unverified) IS DISTINCT FROM (s.addrs, s.v, s.nv);
END $$;

CREATE FUNCTION sesame_search_phones_of(p text, uid text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM 1 FROM users WHERE project_id = p AND id = uid FOR NO KEY UPDATE;
	UPDATE users u SET search_phones = s.nums, search_phone_verified = s.v, search_phone_unverified = s.nv
	FROM (
		SELECT coalesce(string_agg(x.number, E'\n' ORDER BY x.number), '') AS nums,
			coalesce(bool_or(x.verified), false) AS v, coalesce(bool_or(NOT x.verified), false) AS nv
		FROM phone_numbers x WHERE x.project_id = p AND x.user_id = uid
	) s
	WHERE u.project_id = p AND u.id = uid
		AND (u.search_phones, u.search_phone_verified, u.search_phone_unverified) IS DISTINCT FROM (s.nums, s.v, s.nv);
END $$;

CREATE FUNCTION sesame_search_methods_row() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP <> 'DELETE' THEN
		IF TG_TABLE_NAME = 'emails' THEN
			PERFORM sesame_search_emails_of(NEW.project_id, NEW.user_id);
		ELSE
			PERFORM sesame_search_phones_of(NEW.project_id, NEW.user_id);
		END IF;
	END IF;
	IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND (OLD.project_id, OLD.user_id) IS DISTINCT FROM (NEW.project_id, NEW.user_id)) THEN
		IF TG_TABLE_NAME = 'emails' THEN
			PERFORM sesame_search_emails_of(OLD.project_id, OLD.user_id);
		ELSE
			PERFORM sesame_search_phones_of(OLD.project_id, OLD.user_id);
		END IF;
	END IF;
	RETURN NULL;
END $$;

CREATE TRIGGER emails_search_ins_del AFTER INSERT OR DELETE ON emails
	FOR EACH ROW EXECUTE FUNCTION sesame_search_methods_row();
CREATE TRIGGER emails_search_upd AFTER UPDATE ON emails
	FOR EACH ROW WHEN ((OLD.address, OLD.verified, OLD.user_id, OLD.project_id) IS DISTINCT FROM (NEW.address, NEW.verified, NEW.user_id, NEW.project_id))
	EXECUTE FUNCTION sesame_search_methods_row();
CREATE TRIGGER phone_numbers_search_ins_del AFTER INSERT OR DELETE ON phone_numbers
	FOR EACH ROW EXECUTE FUNCTION sesame_search_methods_row();
CREATE TRIGGER phone_numbers_search_upd AFTER UPDATE ON phone_numbers
	FOR EACH ROW WHEN ((OLD.number, OLD.verified, OLD.user_id, OLD.project_id) IS DISTINCT FROM (NEW.number, NEW.verified, NEW.user_id, NEW.project_id))
	EXECUTE FUNCTION sesame_search_methods_row();

-- Room on each users page for the new version of a row whose verified
-- flags change (a first verify), so that update can be HOT (the flags are
-- in no index) instead of writing an entry in every users index.
ALTER TABLE users SET (fillfactor = 90);

-- Existing users.
UPDATE users u SET search_emails = s.addrs, search_email_verified = s.v, search_email_unverified = s.nv
FROM (SELECT project_id, user_id, string_agg(address, E'\n' ORDER BY address) AS addrs,
	bool_or(verified) AS v, bool_or(NOT verified) AS nv FROM emails GROUP BY project_id, user_id) s
WHERE u.project_id = s.project_id AND u.id = s.user_id;
UPDATE users u SET search_phones = s.nums, search_phone_verified = s.v, search_phone_unverified = s.nv
FROM (SELECT project_id, user_id, string_agg(number, E'\n' ORDER BY number) AS nums,
	bool_or(verified) AS v, bool_or(NOT verified) AS nv FROM phone_numbers GROUP BY project_id, user_id) s
WHERE u.project_id = s.project_id AND u.id = s.user_id;

-- The trigram indexes of 0008 on emails and phone_numbers answer no search
-- now, and since pg_trgm 1.6 they also answer "=": the planner took one for
-- phone_numbers = ANY(1,000 numbers), reading a posting list per trigram
-- per number (seconds) instead of the unique btree.
DROP INDEX emails_address_trgm_idx;
DROP INDEX phone_numbers_number_trgm_idx;
DROP INDEX users_search_name_trgm_idx;
CREATE INDEX users_search_name_trgm_idx ON users USING gin (search_name gin_trgm_ops);
CREATE INDEX users_search_emails_trgm_idx ON users USING gin (search_emails gin_trgm_ops);
CREATE INDEX users_search_phones_trgm_idx ON users USING gin (search_phones gin_trgm_ops);

-- organizations: allowed_domain_fuzzy matches the lower-cased domains
-- joined by newlines, stored (lower(array_to_string(...)) on each of
-- 100,000 rows cost 2 to 4 times reading a column) and trigram-indexed.
-- array_to_string is only STABLE, hence an IMMUTABLE wrapper, as
-- sesame_search_name in 0008. Adding the column rewrites organizations
-- once, here.
CREATE FUNCTION sesame_search_domains(domains text[]) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN lower(array_to_string(domains, E'\n'));
ALTER TABLE organizations
	ADD COLUMN search_domains text NOT NULL GENERATED ALWAYS AS (sesame_search_domains(email_allowed_domains)) STORED;
CREATE INDEX organizations_search_domains_trgm_idx ON organizations USING gin (search_domains gin_trgm_ops);

-- members: the trigram indexes of 0008 on email and mfa_phone_number also
-- answer "=" (pg_trgm 1.6), and the planner took them for
-- mfa_phone_number = ANY(1,000 numbers): 6 s, where the member_email_fuzzy
-- and phone filters need them only for LIKE. On lower(...) (email is
-- stored lower-cased and phone numbers have no case, so the same text),
-- "=" on the column cannot use them.
DROP INDEX members_email_trgm_idx;
DROP INDEX members_mfa_phone_trgm_idx;
CREATE INDEX members_email_trgm_idx ON members USING gin (lower(email) gin_trgm_ops);
CREATE INDEX members_mfa_phone_trgm_idx ON members USING gin (lower(mfa_phone_number) gin_trgm_ops);
