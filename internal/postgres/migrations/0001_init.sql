-- Sesame schema. Every row belongs to one project; rows hanging off a user
-- reference users(project_id, id) so a row can never point at another
-- project's user, and deleting a user (or a project) cascades.

CREATE TABLE projects (
	id          text PRIMARY KEY,
	secret_hash bytea NOT NULL CONSTRAINT projects_secret_hash_key UNIQUE,
	created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE users (
	project_id         text NOT NULL CONSTRAINT users_project_fkey REFERENCES projects (id) ON DELETE CASCADE,
	id                 text NOT NULL,
	status             text NOT NULL DEFAULT 'active' CONSTRAINT users_status_check CHECK (status IN ('active', 'pending')),
	first_name         text NOT NULL DEFAULT '',
	middle_name        text NOT NULL DEFAULT '',
	last_name          text NOT NULL DEFAULT '',
	external_id        text NOT NULL DEFAULT '',
	trusted_metadata   jsonb NOT NULL DEFAULT '{}',
	untrusted_metadata jsonb NOT NULL DEFAULT '{}',
	created_at         timestamptz NOT NULL DEFAULT now(),
	updated_at         timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT users_pkey PRIMARY KEY (project_id, id)
);
-- Keyset pagination of SearchUsers.
CREATE INDEX users_project_created_idx ON users (project_id, created_at, id);
CREATE UNIQUE INDEX users_project_external_id_key ON users (project_id, external_id) WHERE external_id <> '';

CREATE TABLE emails (
	id         text PRIMARY KEY,
	project_id text NOT NULL,
	user_id    text NOT NULL,
	address    text NOT NULL,
	verified   boolean NOT NULL DEFAULT false,
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT emails_project_address_key UNIQUE (project_id, address),
	CONSTRAINT emails_user_fkey FOREIGN KEY (project_id, user_id) REFERENCES users (project_id, id) ON DELETE CASCADE
);
CREATE INDEX emails_user_idx ON emails (project_id, user_id);

CREATE TABLE phone_numbers (
	id         text PRIMARY KEY,
	project_id text NOT NULL,
	user_id    text NOT NULL,
	number     text NOT NULL,
	verified   boolean NOT NULL DEFAULT false,
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT phone_numbers_project_number_key UNIQUE (project_id, number),
	CONSTRAINT phone_numbers_user_fkey FOREIGN KEY (project_id, user_id) REFERENCES users (project_id, id) ON DELETE CASCADE
);
CREATE INDEX phone_numbers_user_idx ON phone_numbers (project_id, user_id);

-- One-time code challenges. method_id is an email id or a phone id; only
-- the newest challenge of a method (created_at desc, id desc) is live.
CREATE TABLE challenges (
	id          text PRIMARY KEY,
	project_id  text NOT NULL,
	user_id     text NOT NULL,
	method_id   text NOT NULL,
	channel     text NOT NULL,
	code_hmac   bytea NOT NULL,
	attempts    integer NOT NULL DEFAULT 0,
	expires_at  timestamptz NOT NULL,
	consumed_at timestamptz,
	created_at  timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT challenges_user_fkey FOREIGN KEY (project_id, user_id) REFERENCES users (project_id, id) ON DELETE CASCADE
);
CREATE INDEX challenges_method_idx ON challenges (project_id, method_id, created_at DESC, id DESC);
CREATE INDEX challenges_user_idx ON challenges (project_id, user_id);
CREATE INDEX challenges_expires_idx ON challenges (expires_at);

CREATE TABLE magic_links (
	id             text PRIMARY KEY,
	project_id     text NOT NULL,
	user_id        text NOT NULL,
	email_id       text CONSTRAINT magic_links_email_fkey REFERENCES emails (id) ON DELETE CASCADE,
	kind           text NOT NULL,
	token_hash     bytea NOT NULL CONSTRAINT magic_links_token_hash_key UNIQUE,
	code_challenge text NOT NULL DEFAULT '',
	expires_at     timestamptz NOT NULL,
	consumed_at    timestamptz,
	created_at     timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT magic_links_user_fkey FOREIGN KEY (project_id, user_id) REFERENCES users (project_id, id) ON DELETE CASCADE
);
CREATE INDEX magic_links_user_idx ON magic_links (project_id, user_id);
CREATE INDEX magic_links_email_idx ON magic_links (email_id) WHERE email_id IS NOT NULL;
CREATE INDEX magic_links_expires_idx ON magic_links (expires_at);

CREATE TABLE sessions (
	id               text PRIMARY KEY,
	project_id       text NOT NULL,
	user_id          text NOT NULL,
	token_hash       bytea NOT NULL CONSTRAINT sessions_token_hash_key UNIQUE,
	token_enc        bytea NOT NULL,
	started_at       timestamptz NOT NULL,
	last_accessed_at timestamptz NOT NULL,
	expires_at       timestamptz NOT NULL,
	attributes       jsonb NOT NULL DEFAULT '{}',
	factors          jsonb NOT NULL DEFAULT '[]',
	custom_claims    jsonb NOT NULL DEFAULT '{}',
	revoked_at       timestamptz,
	CONSTRAINT sessions_user_fkey FOREIGN KEY (project_id, user_id) REFERENCES users (project_id, id) ON DELETE CASCADE
);
CREATE INDEX sessions_user_idx ON sessions (project_id, user_id, started_at DESC, id DESC);
CREATE INDEX sessions_expires_idx ON sessions (expires_at);
CREATE INDEX sessions_revoked_idx ON sessions (revoked_at) WHERE revoked_at IS NOT NULL;

-- The transactional outbox and the delivery record of outbound messages.
-- payload is the encrypted event; it is dropped once the message is sent or
-- skipped, and by Prune once the code or link has expired. user_id (not in
-- auth.Message) makes a user's messages go away with the user.
CREATE TABLE messages (
	id                text PRIMARY KEY,
	project_id        text NOT NULL CONSTRAINT messages_project_fkey REFERENCES projects (id) ON DELETE CASCADE,
	user_id           text,
	kind              text NOT NULL,
	channel           text NOT NULL,
	recipient         text NOT NULL,
	status            text NOT NULL DEFAULT 'queued' CONSTRAINT messages_status_check
		CHECK (status IN ('queued', 'published', 'sending', 'retrying', 'sent', 'failed', 'skipped')),
	provider_id       text NOT NULL DEFAULT '',
	attempts          integer NOT NULL DEFAULT 0,
	last_error        text NOT NULL DEFAULT '',
	challenge_id      text NOT NULL,
	payload           bytea,
	publish_gen       integer NOT NULL DEFAULT 0,
	relay_lease_until timestamptz,
	lease_until       timestamptz,
	expires_at        timestamptz NOT NULL,
	created_at        timestamptz NOT NULL DEFAULT now(),
	updated_at        timestamptz NOT NULL DEFAULT now(),
	sent_at           timestamptz,
	CONSTRAINT messages_user_fkey FOREIGN KEY (project_id, user_id) REFERENCES users (project_id, id) ON DELETE CASCADE
);
-- The outbox relay's queue (ClaimOutbox, CountOutbox).
CREATE INDEX messages_queued_idx ON messages (updated_at, id) WHERE status = 'queued';
CREATE INDEX messages_project_idx ON messages (project_id, created_at DESC, id DESC);
CREATE INDEX messages_user_idx ON messages (project_id, user_id) WHERE user_id IS NOT NULL;
CREATE INDEX messages_payload_expires_idx ON messages (expires_at) WHERE payload IS NOT NULL;
CREATE INDEX messages_created_idx ON messages (created_at);

CREATE TABLE signing_keys (
	id          text PRIMARY KEY,
	project_id  text NOT NULL CONSTRAINT signing_keys_project_fkey REFERENCES projects (id) ON DELETE CASCADE,
	state       text NOT NULL CONSTRAINT signing_keys_state_check CHECK (state IN ('next', 'current', 'retired')),
	private_enc bytea NOT NULL,
	created_at  timestamptz NOT NULL DEFAULT now(),
	rotated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX signing_keys_project_idx ON signing_keys (project_id, state);
CREATE UNIQUE INDEX signing_keys_one_current_key ON signing_keys (project_id) WHERE state = 'current';

-- Fixed-window rate-limit counters. key names the limited subject.
CREATE TABLE rate_limits (
	key          text NOT NULL,
	window_start timestamptz NOT NULL,
	n            integer NOT NULL,
	CONSTRAINT rate_limits_pkey PRIMARY KEY (key, window_start)
);
CREATE INDEX rate_limits_window_idx ON rate_limits (window_start);
