-- Authenticator-app (TOTP) registrations of users and members, and their
-- recovery codes. The secret is stored encrypted under SECRET_KEYS
-- (associated data = the registration id); a recovery code as its keyed
-- hash (for the single-use consumption) and encrypted (so the get calls
-- can show the unused ones again). last_step is the newest accepted RFC
-- 6238 time step: a code is accepted only for a newer step, in the same
-- UPDATE that counts the attempt, so a replay is refused across replicas.
CREATE TABLE totps (
	id              text PRIMARY KEY,
	project_id      text NOT NULL CONSTRAINT totps_project_fkey REFERENCES projects (id) ON DELETE CASCADE,
	user_id         text,
	member_id       text,
	organization_id text,
	secret_enc      bytea NOT NULL,
	verified        boolean NOT NULL DEFAULT false,
	last_step       bigint NOT NULL DEFAULT 0,
	attempts        integer NOT NULL DEFAULT 0,
	last_attempt_at timestamptz,
	expires_at      timestamptz NOT NULL,
	created_at      timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT totps_owner_check CHECK ((user_id IS NULL) <> (member_id IS NULL)
		AND (member_id IS NULL) = (organization_id IS NULL)),
	CONSTRAINT totps_user_fkey FOREIGN KEY (project_id, user_id) REFERENCES users (project_id, id) ON DELETE CASCADE,
	CONSTRAINT totps_member_fkey FOREIGN KEY (project_id, member_id) REFERENCES members (project_id, id) ON DELETE CASCADE
);
-- At most one verified registration per user or member.
CREATE UNIQUE INDEX totps_user_verified_key ON totps (project_id, user_id) WHERE verified AND user_id IS NOT NULL;
CREATE UNIQUE INDEX totps_member_verified_key ON totps (project_id, member_id) WHERE verified AND member_id IS NOT NULL;
CREATE INDEX totps_user_idx ON totps (project_id, user_id) WHERE user_id IS NOT NULL;
CREATE INDEX totps_member_idx ON totps (project_id, member_id) WHERE member_id IS NOT NULL;

CREATE TABLE totp_recovery_codes (
	id         text PRIMARY KEY,
	project_id text NOT NULL,
	totp_id    text NOT NULL CONSTRAINT totp_recovery_codes_totp_fkey REFERENCES totps (id) ON DELETE CASCADE,
	code_hash  bytea NOT NULL,
	code_enc   bytea NOT NULL,
	position   smallint NOT NULL DEFAULT 0, -- the order they were shown in
	used_at    timestamptz,
	created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX totp_recovery_codes_totp_idx ON totp_recovery_codes (totp_id);
