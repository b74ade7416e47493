-- Limits without edges (GCRA) and the SMS-pumping guard. See
-- docs/architecture.md, "Send limits and the SMS-pumping guard".

-- GCRA state: one theoretical arrival time (TAT) per limited key. A key
-- whose tat is in the past is the same as no row, so Prune deletes those.
-- UNLOGGED: no WAL for the hottest writes of a send; after a Postgres
-- crash or a fail-over the limits start again from empty (documented).
CREATE UNLOGGED TABLE rate_limit_tats (
	key text NOT NULL CONSTRAINT rate_limit_tats_pkey PRIMARY KEY,
	tat timestamptz NOT NULL
);
CREATE INDEX rate_limit_tats_tat_idx ON rate_limit_tats (tat);

-- sesame_gcra_hit checks the keys in order, one GCRA each (emission
-- interval and burst tolerance in microseconds), at now_. It stops at the
-- first key that does not conform and then changes nothing at all (the
-- keys before it are rolled back with the block): a refused request uses
-- no capacity. Returns the 1-based index of the refusing key (0 when the
-- request conforms) and how long until that key conforms again.
CREATE FUNCTION sesame_gcra_hit(keys text[], emission_us bigint[], tolerance_us bigint[], now_ timestamptz)
RETURNS TABLE (denied integer, retry_after_us bigint)
LANGUAGE plpgsql AS $$
DECLARE
	i integer;
	d integer := 0;
	wait bigint := 0;
	t timestamptz;
BEGIN
	BEGIN
		FOR i IN 1 .. coalesce(array_length(keys, 1), 0) LOOP
			INSERT INTO rate_limit_tats AS r (key, tat)
			VALUES (keys[i], now_ + emission_us[i] * interval '1 microsecond')
			ON CONFLICT (key) DO UPDATE
				SET tat = greatest(r.tat, now_) + emission_us[i] * interval '1 microsecond'
				WHERE greatest(r.tat, now_) <= now_ + tolerance_us[i] * interval '1 microsecond'
			RETURNING r.tat INTO t;
			IF NOT FOUND THEN
				-- ON CONFLICT locked the row: this read is its latest version.
				SELECT r.tat INTO t FROM rate_limit_tats r WHERE r.key = keys[i];
				d := i;
				wait := greatest(1, ceil(extract(epoch FROM (t - now_)) * 1000000)::bigint - tolerance_us[i]);
				RAISE EXCEPTION USING ERRCODE = 'P0001', MESSAGE = 'sesame_gcra_denied';
			END IF;
		END LOOP;
	EXCEPTION WHEN raise_exception THEN
		IF d = 0 THEN
			RAISE;
		END IF;
	END;
	RETURN QUERY SELECT d, wait;
END
$$;

-- SMS traffic per subject (a number prefix such as +447700, or a country
-- calling code such as +44) in one-minute buckets: codes sent and codes
-- verified. UNLOGGED for the same reason as rate_limit_tats; a crash
-- forgets at most one window of evidence.
CREATE UNLOGGED TABLE sms_traffic (
	project_id text NOT NULL,
	kind       text NOT NULL,
	subject    text NOT NULL,
	bucket     timestamptz NOT NULL,
	sent       integer NOT NULL DEFAULT 0,
	verified   integer NOT NULL DEFAULT 0,
	CONSTRAINT sms_traffic_pkey PRIMARY KEY (project_id, kind, subject, bucket)
);
CREATE INDEX sms_traffic_bucket_idx ON sms_traffic (bucket);

-- The guard's decision per subject: ok, throttled or blocked. Logged: a
-- block and an operator's lift survive a restart. since is where the
-- evidence starts (a lift or an expired block moves it to the next
-- minute's bucket).
CREATE TABLE sms_guards (
	project_id    text NOT NULL CONSTRAINT sms_guards_project_fkey REFERENCES projects (id) ON DELETE CASCADE,
	kind          text NOT NULL CONSTRAINT sms_guards_kind_check CHECK (kind IN ('prefix', 'country')),
	subject       text NOT NULL,
	region        text NOT NULL DEFAULT '',
	state         text NOT NULL DEFAULT 'ok' CONSTRAINT sms_guards_state_check CHECK (state IN ('ok', 'throttled', 'blocked')),
	since         timestamptz NOT NULL,
	changed_at    timestamptz,
	blocked_until timestamptz,
	next_send_at  timestamptz,
	lifted_at     timestamptz,
	updated_at    timestamptz NOT NULL,
	CONSTRAINT sms_guards_pkey PRIMARY KEY (project_id, kind, subject)
);
CREATE INDEX sms_guards_updated_idx ON sms_guards (updated_at);

-- An SMS or WhatsApp code counts as sent for its number's prefix and
-- country in the minute it was created, and as verified in the minute it
-- was consumed. Both ride on the statements that create and consume codes
-- (consumer and member codes alike), so counting costs no round trip, and
-- only codes that really went out count (not a send refused later, such as
-- one to an unknown recipient). Subjects are matched against the guard rows
-- sesame_sms_send created, so the prefix length may change without a
-- migration.
CREATE FUNCTION sesame_sms_count() RETURNS trigger
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
	ON CONFLICT (project_id, kind, subject, bucket) DO UPDATE
		SET sent = t.sent + excluded.sent, verified = t.verified + excluded.verified;
	RETURN NULL;
END
$$;

CREATE TRIGGER challenges_sms_sent
	AFTER INSERT ON challenges
	FOR EACH ROW
	WHEN (NEW.channel IN ('sms', 'whatsapp'))
	EXECUTE FUNCTION sesame_sms_count();

CREATE TRIGGER challenges_sms_verified
	AFTER UPDATE OF consumed_at ON challenges
	FOR EACH ROW
	WHEN (OLD.consumed_at IS NULL AND NEW.consumed_at IS NOT NULL AND NEW.channel IN ('sms', 'whatsapp'))
	EXECUTE FUNCTION sesame_sms_count();

-- sesame_sms_send judges one SMS send against the guard of each subject
-- (kinds[i], subjects[i]) at now_, over the sliding window of win
-- (one-minute buckets, not before the subject's since). Sends younger than
-- settle (bucket-wise; 0 judges all) are not judged yet: their codes may still be on
-- the way to being typed in (verifications count whenever they happen). A
-- subject is
-- blocked when it has at least block_min[i] sends in the window and
-- fewer than block_below[i] of them verified (a fraction), throttled
-- when the same holds for throttle_min[i] and throttle_below[i]; a
-- threshold of 0 sends is off. A subject is throttled before it is
-- blocked (unless throttling is off). A block lasts block_for (or until an
-- operator lifts it); a throttled subject gets one send per throttle_every.
-- The send is allowed when no subject refuses it (only then does a
-- throttled subject's next send move on); the code it creates is counted
-- by sesame_sms_count. Returns one row per subject: its state before and after, the
-- window's counts, whether it refused the send and for how long.
CREATE FUNCTION sesame_sms_send(
	project text, kinds text[], subjects text[], region_ text, now_ timestamptz, win interval,
	throttle_min integer[], throttle_below float8[], block_min integer[], block_below float8[],
	throttle_every interval, block_for interval, settle interval)
RETURNS TABLE (kind text, subject text, old_state text, new_state text, sent bigint, verified bigint, refused boolean, retry_after_us bigint)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
	n integer := coalesce(array_length(subjects, 1), 0);
	g sms_guards;
	i integer;
	s bigint;
	v bigint;
	st text;
	nx timestamptz;
	bu timestamptz;
	sn timestamptz;
	ch timestamptz;
	ref boolean;
	wait bigint;
	any_refused boolean := false;
	olds text[] := '{}';
	news text[] := '{}';
	sents bigint[] := '{}';
	vers bigint[] := '{}';
	refs boolean[] := '{}';
	waits bigint[] := '{}';
	nexts timestamptz[] := '{}';
BEGIN
	FOR i IN 1 .. n LOOP
		INSERT INTO sms_guards AS x (project_id, kind, subject, region, since, updated_at)
		VALUES (project, kinds[i], subjects[i], region_, now_, now_)
		ON CONFLICT ON CONSTRAINT sms_guards_pkey DO UPDATE SET updated_at = now_
		RETURNING x.* INTO g;
		st := g.state;
		sn := g.since;
		ch := g.changed_at;
		bu := g.blocked_until;
		IF st = 'blocked' AND bu <= now_ THEN
			st := 'ok';
			sn := date_trunc('minute', now_) + interval '1 minute';
			bu := NULL;
			ch := now_;
		END IF;
		SELECT coalesce(sum(t.sent) FILTER (WHERE settle <= interval '0' OR t.bucket < date_trunc('minute', now_ - settle)), 0), coalesce(sum(t.verified), 0) INTO s, v
		FROM sms_traffic t
		WHERE t.project_id = project AND t.kind = kinds[i] AND t.subject = subjects[i]
			AND t.bucket > now_ - win AND t.bucket >= date_trunc('minute', sn);
		IF st <> 'blocked' THEN
			-- Throttled first, then blocked (unless throttling is off).
			IF block_min[i] > 0 AND s >= block_min[i] AND v < block_below[i] * s
					AND (st = 'throttled' OR throttle_min[i] = 0) THEN
				st := 'blocked';
				bu := now_ + block_for;
			ELSIF (throttle_min[i] > 0 AND s >= throttle_min[i] AND v < throttle_below[i] * s)
					OR (block_min[i] > 0 AND s >= block_min[i] AND v < block_below[i] * s) THEN
				st := 'throttled';
			ELSE
				st := 'ok';
			END IF;
		END IF;
		IF st <> g.state THEN
			ch := now_;
		END IF;
		nx := g.next_send_at;
		ref := false;
		wait := 0;
		IF st = 'blocked' THEN
			ref := true;
			wait := greatest(1, ceil(extract(epoch FROM (bu - now_)) * 1000000)::bigint);
		ELSIF st = 'throttled' THEN
			IF nx IS NOT NULL AND nx > now_ THEN
				ref := true;
				wait := greatest(1, ceil(extract(epoch FROM (nx - now_)) * 1000000)::bigint);
			ELSE
				nx := now_ + throttle_every;
			END IF;
		ELSE
			nx := NULL;
		END IF;
		any_refused := any_refused OR ref;
		UPDATE sms_guards x SET state = st, since = sn, changed_at = ch, blocked_until = bu
		WHERE x.project_id = project AND x.kind = kinds[i] AND x.subject = subjects[i];
		olds := array_append(olds, g.state);
		news := array_append(news, st);
		sents := array_append(sents, s);
		vers := array_append(vers, v);
		refs := array_append(refs, ref);
		waits := array_append(waits, wait);
		nexts := array_append(nexts, nx);
	END LOOP;
	IF NOT any_refused THEN
		FOR i IN 1 .. n LOOP
			UPDATE sms_guards x SET next_send_at = nexts[i]
			WHERE x.project_id = project AND x.kind = kinds[i] AND x.subject = subjects[i];
		END LOOP;
	END IF;
	RETURN QUERY SELECT kinds[j], subjects[j], olds[j], news[j], sents[j], vers[j], refs[j], waits[j]
		FROM generate_subscripts(subjects, 1) AS j;
END
$$;
