-- The send path. See docs/architecture.md, "A send in one round trip".

-- sesame_sms_count upserts one sms_traffic row per guard subject of the
-- number (a prefix and a country). Concurrent codes to numbers sharing
-- both subjects upserted them in whatever order the guard scan gave, and
-- two such inserts could deadlock; the rows are now taken in one order
-- (kind, subject).
CREATE OR REPLACE FUNCTION sesame_sms_count() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
	num text;
	ts timestamptz;
	is_sent integer := 0;
BEGIN
	IF TG_OP = 'INSERT' THEN
		ts := NEW.created_at;
		is_sent := 1;
	ELSE
		ts := NEW.consumed_at;
	END IF;
	IF NEW.user_id IS NOT NULL THEN
		SELECT number INTO num FROM phone_numbers WHERE id = NEW.method_id AND project_id = NEW.project_id;
	ELSE
		SELECT mfa_phone_number INTO num FROM members
		WHERE project_id = NEW.project_id AND id = NEW.member_id AND mfa_phone_id = NEW.method_id;
	END IF;
	IF num IS NULL OR num = '' THEN
		RETURN NULL;
	END IF;
	INSERT INTO sms_traffic AS t (project_id, kind, subject, bucket, sent, verified)
	SELECT g.project_id, g.kind, g.subject, date_trunc('minute', ts), is_sent, 1 - is_sent
	FROM sms_guards g
	WHERE g.project_id = NEW.project_id AND (
		(g.kind = 'country' AND g.subject IN (left(num, 2), left(num, 3), left(num, 4)))
		OR (g.kind = 'prefix' AND g.subject IN (left(num, 5), left(num, 6), left(num, 7), left(num, 8), left(num, 9), left(num, 10)))
	)
	ORDER BY g.kind, g.subject
	ON CONFLICT (project_id, kind, subject, bucket) DO UPDATE
		SET sent = t.sent + excluded.sent, verified = t.verified + excluded.verified;
	RETURN NULL;
END
$$;

-- sesame_gcra_check is sesame_gcra_hit for a send's pipelined batch: it
-- raises (SQLSTATE SL429, detail "index:retry_after_us", the 1-based index
-- of the refusing key) when a key refuses, so the whole batch, the send's
-- user, code and message with it, writes nothing.
CREATE FUNCTION sesame_gcra_check(keys text[], emission_us bigint[], tolerance_us bigint[], now_ timestamptz)
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
	d integer;
	w bigint;
BEGIN
	SELECT h.denied, h.retry_after_us INTO d, w FROM sesame_gcra_hit(keys, emission_us, tolerance_us, now_) h;
	IF d > 0 THEN
		RAISE EXCEPTION USING ERRCODE = 'SL429', MESSAGE = 'sesame_send_limited', DETAIL = d || ':' || w;
	END IF;
END
$$;
