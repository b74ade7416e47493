-- B2B: organizations, their members and intermediate sessions. Member
-- codes, links and sessions are rows of the consumer tables (challenges,
-- magic_links, sessions, messages) with member_id set and user_id NULL;
-- the composite foreign keys to users skip rows whose user_id is NULL
-- (MATCH SIMPLE). Deleting an organization cascades to its members, and
-- deleting a member to its codes, links, sessions, messages and ISTs.

CREATE TABLE organizations (
	project_id            text NOT NULL CONSTRAINT organizations_project_fkey REFERENCES projects (id) ON DELETE CASCADE,
	id                    text NOT NULL,
	name                  text NOT NULL,
	slug                  text NOT NULL,
	logo_url              text NOT NULL DEFAULT '',
	external_id           text NOT NULL DEFAULT '',
	trusted_metadata      jsonb NOT NULL DEFAULT '{}',
	-- The settings that take effect, and the searched lists, as columns.
	email_allowed_domains  text[] NOT NULL DEFAULT '{}',
	email_jit_provisioning text NOT NULL DEFAULT 'NOT_ALLOWED',
	email_invites          text NOT NULL DEFAULT 'ALL_ALLOWED',
	auth_methods           text NOT NULL DEFAULT 'ALL_ALLOWED',
	allowed_auth_methods   text[] NOT NULL DEFAULT '{}',
	mfa_policy             text NOT NULL DEFAULT 'OPTIONAL',
	mfa_methods            text NOT NULL DEFAULT 'ALL_ALLOWED',
	allowed_mfa_methods    text[] NOT NULL DEFAULT '{}',
	claimed_email_domains  text[] NOT NULL DEFAULT '{}',
	-- The settings stored and returned without effect (SSO, OAuth tenants,
	-- connected apps, implicit role assignments).
	settings              jsonb NOT NULL DEFAULT '{}',
	created_at            timestamptz NOT NULL DEFAULT now(),
	updated_at            timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT organizations_pkey PRIMARY KEY (project_id, id),
	CONSTRAINT organizations_project_slug_key UNIQUE (project_id, slug)
);
CREATE UNIQUE INDEX organizations_project_external_id_key ON organizations (project_id, external_id) WHERE external_id <> '';
-- Keyset pagination of SearchOrganizations.
CREATE INDEX organizations_project_created_idx ON organizations (project_id, created_at, id);
-- Discovery by email domain and the domain filters of the search.
CREATE INDEX organizations_allowed_domains_idx ON organizations USING gin (email_allowed_domains);
CREATE INDEX organizations_claimed_domains_idx ON organizations USING gin (claimed_email_domains);

CREATE TABLE members (
	project_id         text NOT NULL,
	id                 text NOT NULL,
	organization_id    text NOT NULL,
	email              text NOT NULL,
	email_id           text NOT NULL,
	email_verified     boolean NOT NULL DEFAULT false,
	status             text NOT NULL DEFAULT 'active'
		CONSTRAINT members_status_check CHECK (status IN ('active', 'pending', 'invited', 'deleted')),
	name               text NOT NULL DEFAULT '',
	external_id        text NOT NULL DEFAULT '',
	is_breakglass      boolean NOT NULL DEFAULT false,
	role_ids           text[] NOT NULL DEFAULT '{}',
	mfa_phone_number   text NOT NULL DEFAULT '',
	mfa_phone_id       text NOT NULL DEFAULT '',
	mfa_phone_verified boolean NOT NULL DEFAULT false,
	mfa_enrolled       boolean NOT NULL DEFAULT false,
	default_mfa_method text NOT NULL DEFAULT '',
	trusted_metadata   jsonb NOT NULL DEFAULT '{}',
	untrusted_metadata jsonb NOT NULL DEFAULT '{}',
	created_at         timestamptz NOT NULL DEFAULT now(),
	updated_at         timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT members_pkey PRIMARY KEY (project_id, id),
	CONSTRAINT members_organization_fkey FOREIGN KEY (project_id, organization_id)
		REFERENCES organizations (project_id, id) ON DELETE CASCADE,
	CONSTRAINT members_org_email_key UNIQUE (project_id, organization_id, email)
);
CREATE UNIQUE INDEX members_org_external_id_key ON members (project_id, organization_id, external_id) WHERE external_id <> '';
-- Discovery: every membership of an email in the project.
CREATE INDEX members_email_idx ON members (project_id, email);
-- Keyset pagination of SearchMembers within an organization.
CREATE INDEX members_org_created_idx ON members (project_id, organization_id, created_at, id);

-- Intermediate sessions: a primary factor proven, MFA (or the choice of
-- an organization, for discovery) pending. Single use; the token is only
-- stored as its hash.
CREATE TABLE intermediate_sessions (
	id              text PRIMARY KEY,
	project_id      text NOT NULL CONSTRAINT intermediate_sessions_project_fkey REFERENCES projects (id) ON DELETE CASCADE,
	token_hash      bytea NOT NULL CONSTRAINT intermediate_sessions_token_hash_key UNIQUE,
	email           text NOT NULL DEFAULT '',
	organization_id text,
	member_id       text,
	factors         jsonb NOT NULL DEFAULT '[]',
	expires_at      timestamptz NOT NULL,
	consumed_at     timestamptz,
	created_at      timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT intermediate_sessions_organization_fkey FOREIGN KEY (project_id, organization_id)
		REFERENCES organizations (project_id, id) ON DELETE CASCADE,
	CONSTRAINT intermediate_sessions_member_fkey FOREIGN KEY (project_id, member_id)
		REFERENCES members (project_id, id) ON DELETE CASCADE
);
CREATE INDEX intermediate_sessions_member_idx ON intermediate_sessions (project_id, member_id) WHERE member_id IS NOT NULL;
CREATE INDEX intermediate_sessions_organization_idx ON intermediate_sessions (project_id, organization_id) WHERE organization_id IS NOT NULL;
CREATE INDEX intermediate_sessions_expires_idx ON intermediate_sessions (expires_at);

-- Member codes: user_id NULL, member_id set.
ALTER TABLE challenges ALTER COLUMN user_id DROP NOT NULL;
ALTER TABLE challenges ADD COLUMN member_id text;
ALTER TABLE challenges ADD CONSTRAINT challenges_member_fkey FOREIGN KEY (project_id, member_id)
	REFERENCES members (project_id, id) ON DELETE CASCADE;
ALTER TABLE challenges ADD CONSTRAINT challenges_owner_check CHECK ((user_id IS NULL) <> (member_id IS NULL));
CREATE INDEX challenges_member_idx ON challenges (project_id, member_id) WHERE member_id IS NOT NULL;

-- Member links (member_id and organization_id set, with the email sent
-- to) and discovery links (email only).
ALTER TABLE magic_links ALTER COLUMN user_id DROP NOT NULL;
ALTER TABLE magic_links ADD COLUMN member_id text;
ALTER TABLE magic_links ADD COLUMN organization_id text;
ALTER TABLE magic_links ADD COLUMN email text NOT NULL DEFAULT '';
ALTER TABLE magic_links ADD CONSTRAINT magic_links_member_fkey FOREIGN KEY (project_id, member_id)
	REFERENCES members (project_id, id) ON DELETE CASCADE;
ALTER TABLE magic_links ADD CONSTRAINT magic_links_owner_check CHECK (
	(user_id IS NOT NULL AND member_id IS NULL AND organization_id IS NULL)
	OR (user_id IS NULL AND (member_id IS NULL) = (organization_id IS NULL) AND (member_id IS NOT NULL OR email <> '')));
CREATE INDEX magic_links_member_idx ON magic_links (project_id, member_id) WHERE member_id IS NOT NULL;

-- Member sessions.
ALTER TABLE sessions ALTER COLUMN user_id DROP NOT NULL;
ALTER TABLE sessions ADD COLUMN member_id text;
ALTER TABLE sessions ADD COLUMN organization_id text;
ALTER TABLE sessions ADD CONSTRAINT sessions_member_fkey FOREIGN KEY (project_id, member_id)
	REFERENCES members (project_id, id) ON DELETE CASCADE;
ALTER TABLE sessions ADD CONSTRAINT sessions_owner_check CHECK (
	(user_id IS NOT NULL AND member_id IS NULL AND organization_id IS NULL)
	OR (user_id IS NULL AND member_id IS NOT NULL AND organization_id IS NOT NULL));
CREATE INDEX sessions_member_idx ON sessions (project_id, member_id, started_at DESC, id DESC) WHERE member_id IS NOT NULL;

-- A member's messages go away with the member.
ALTER TABLE messages ADD COLUMN member_id text;
ALTER TABLE messages ADD CONSTRAINT messages_member_fkey FOREIGN KEY (project_id, member_id)
	REFERENCES members (project_id, id) ON DELETE CASCADE;
CREATE INDEX messages_member_idx ON messages (project_id, member_id) WHERE member_id IS NOT NULL;
