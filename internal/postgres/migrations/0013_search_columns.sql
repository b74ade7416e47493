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

-- sesame_search_emails refreshes the email columns of the users in keys
-- (project_id, user_id pairs). The rows are locked first (FOR NO KEY
-- UPDATE, which a concurrent email insert's foreign-key KEY SHARE lock does
-- not block), so the aggregate that follows, a new statement with a new
-- snapshot under READ COMMITTED, sees every committed email of the user:
-- two transactions adding an email to one user each keep both.
CREATE FUNCTION sesame_search_emails(keys jsonb) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM 1 FROM users u
	JOIN jsonb_to_recordset(keys) AS k(project_id text, user_id text) ON u.project_id = k.project_id AND u.id = k.user_id
	ORDER BY u.project_id, u.id FOR NO KEY UPDATE OF u;
	UPDATE users u SET search_emails = s.addrs, search_email_verified = s.v, search_email_unverified = s.nv
	FROM (
		SELECT k.project_id, k.user_id,
			coalesce(string_agg(e.address, E'\n' ORDER BY e.address), '') AS addrs,
			coalesce(bool_or(e.verified), false) AS v, coalesce(bool_or(NOT e.verified), false) AS nv
		FROM (SELECT DISTINCT * FROM jsonb_to_recordset(keys) AS k(project_id text, user_id text)) k
		LEFT JOIN emails e ON e.project_id = k.project_id AND e.user_id = k.user_id
		GROUP BY k.project_id, k.user_id
	) s
	WHERE u.project_id = s.project_id AND u.id = s.user_id
		AND (u.search_emails, u.search_email_verified, u.search_email_unverified) IS DISTINCT FROM (s.addrs, s.v, s.nv);
END $$;

CREATE FUNCTION sesame_search_phones(keys jsonb) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM 1 FROM users u
	JOIN jsonb_to_recordset(keys) AS k(project_id text, user_id text) ON u.project_id = k.project_id AND u.id = k.user_id
	ORDER BY u.project_id, u.id FOR NO KEY UPDATE OF u;
	UPDATE users u SET search_phones = s.nums, search_phone_verified = s.v, search_phone_unverified = s.nv
	FROM (
		SELECT k.project_id, k.user_id,
			coalesce(string_agg(p.number, E'\n' ORDER BY p.number), '') AS nums,
			coalesce(bool_or(p.verified), false) AS v, coalesce(bool_or(NOT p.verified), false) AS nv
		FROM (SELECT DISTINCT * FROM jsonb_to_recordset(keys) AS k(project_id text, user_id text)) k
		LEFT JOIN phone_numbers p ON p.project_id = k.project_id AND p.user_id = k.user_id
		GROUP BY k.project_id, k.user_id
	) s
	WHERE u.project_id = s.project_id AND u.id = s.user_id
		AND (u.search_phones, u.search_phone_verified, u.search_phone_unverified) IS DISTINCT FROM (s.nums, s.v, s.nv);
END $$;

-- The triggers: one per event (a trigger with transition tables has one
-- event). An UPDATE refreshes only users whose rows changed a searched
-- column (address or number, verified, user_id), old and new owner both.
CREATE FUNCTION sesame_search_emails_ins() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM sesame_search_emails((SELECT jsonb_agg(jsonb_build_object('project_id', project_id, 'user_id', user_id)) FROM new_rows));
	RETURN NULL;
END $$;
CREATE FUNCTION sesame_search_emails_del() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM sesame_search_emails((SELECT jsonb_agg(jsonb_build_object('project_id', project_id, 'user_id', user_id)) FROM old_rows));
	RETURN NULL;
END $$;
CREATE FUNCTION sesame_search_emails_upd() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE keys jsonb;
BEGIN
	SELECT jsonb_agg(k) INTO keys FROM (
		SELECT jsonb_build_object('project_id', x.project_id, 'user_id', x.user_id) AS k
		FROM new_rows n JOIN old_rows o ON o.id = n.id
		CROSS JOIN LATERAL (VALUES (n.project_id, n.user_id), (o.project_id, o.user_id)) x(project_id, user_id)
		WHERE (n.address, n.verified, n.user_id, n.project_id) IS DISTINCT FROM (o.address, o.verified, o.user_id, o.project_id)
	) c;
	IF keys IS NOT NULL THEN
		PERFORM sesame_search_emails(keys);
	END IF;
	RETURN NULL;
END $$;
CREATE TRIGGER emails_search_ins AFTER INSERT ON emails REFERENCING NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION sesame_search_emails_ins();
CREATE TRIGGER emails_search_del AFTER DELETE ON emails REFERENCING OLD TABLE AS old_rows
	FOR EACH STATEMENT EXECUTE FUNCTION sesame_search_emails_del();
CREATE TRIGGER emails_search_upd AFTER UPDATE ON emails REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION sesame_search_emails_upd();

CREATE FUNCTION sesame_search_phones_ins() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM sesame_search_phones((SELECT jsonb_agg(jsonb_build_object('project_id', project_id, 'user_id', user_id)) FROM new_rows));
	RETURN NULL;
END $$;
CREATE FUNCTION sesame_search_phones_del() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM sesame_search_phones((SELECT jsonb_agg(jsonb_build_object('project_id', project_id, 'user_id', user_id)) FROM old_rows));
	RETURN NULL;
END $$;
CREATE FUNCTION sesame_search_phones_upd() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE keys jsonb;
BEGIN
	SELECT jsonb_agg(k) INTO keys FROM (
		SELECT jsonb_build_object('project_id', x.project_id, 'user_id', x.user_id) AS k
		FROM new_rows n JOIN old_rows o ON o.id = n.id
		CROSS JOIN LATERAL (VALUES (n.project_id, n.user_id), (o.project_id, o.user_id)) x(project_id, user_id)
		WHERE (n.number, n.verified, n.user_id, n.project_id) IS DISTINCT FROM (o.number, o.verified, o.user_id, o.project_id)
	) c;
	IF keys IS NOT NULL THEN
		PERFORM sesame_search_phones(keys);
	END IF;
	RETURN NULL;
END $$;
CREATE TRIGGER phone_numbers_search_ins AFTER INSERT ON phone_numbers REFERENCING NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION sesame_search_phones_ins();
CREATE TRIGGER phone_numbers_search_del AFTER DELETE ON phone_numbers REFERENCING OLD TABLE AS old_rows
	FOR EACH STATEMENT EXECUTE FUNCTION sesame_search_phones_del();
CREATE TRIGGER phone_numbers_search_upd AFTER UPDATE ON phone_numbers REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION sesame_search_phones_upd();

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
