-- Search that stays fast under hostile filters: the *_fuzzy filters are
-- case-insensitive substring matches, written as lower(column) LIKE
-- '%lower-cased value%' (ILIKE lower-cases its pattern again for every row,
-- which a 256-byte pattern makes costly); trigram GIN indexes answer them
-- from the index instead of matching every row. Emails are stored
-- lower-cased and phone numbers have no case, so those match the column
-- itself. pg_trgm ships
-- with PostgreSQL itself (contrib, part of Debian's postgresql-15 package).
-- See docs/architecture.md, "Search under hostile filters".
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- sesame_search_name is the string full_name_fuzzy matches: the non-empty
-- name parts joined by one space, lower-cased. IMMUTABLE so an index can
-- use it (concat_ws and lower over text depend on no setting but the
-- database's fixed collation).
CREATE FUNCTION sesame_search_name(first_name text, middle_name text, last_name text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN lower(concat_ws(' ', NULLIF(first_name, ''), NULLIF(middle_name, ''), NULLIF(last_name, '')));

CREATE INDEX users_search_name_trgm_idx ON users USING gin (sesame_search_name(first_name, middle_name, last_name) gin_trgm_ops);
CREATE INDEX emails_address_trgm_idx ON emails USING gin (address gin_trgm_ops);
CREATE INDEX phone_numbers_number_trgm_idx ON phone_numbers USING gin (number gin_trgm_ops);
CREATE INDEX organizations_name_trgm_idx ON organizations USING gin (lower(name) gin_trgm_ops);
CREATE INDEX organizations_slug_trgm_idx ON organizations USING gin (lower(slug) gin_trgm_ops);
CREATE INDEX members_email_trgm_idx ON members USING gin (email gin_trgm_ops);
CREATE INDEX members_mfa_phone_trgm_idx ON members USING gin (mfa_phone_number gin_trgm_ops);
