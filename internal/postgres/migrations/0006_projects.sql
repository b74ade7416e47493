-- Projects as a first-class resource: a name, an environment, settings,
-- and several secrets per project (each stored only as a keyed hash), so a
-- secret rotates with no downtime. Every change to a project, its secrets
-- or its settings notifies the channel sesame_projects with the project id:
-- each api replica drops its cached credentials and settings of that
-- project (LISTEN/NOTIFY, not a poll per request).

ALTER TABLE projects
	ADD COLUMN name        text NOT NULL DEFAULT '',
	ADD COLUMN environment text NOT NULL DEFAULT 'live' CONSTRAINT projects_environment_check CHECK (environment IN ('test', 'live')),
	ADD COLUMN settings    jsonb NOT NULL DEFAULT '{}',
	ADD COLUMN updated_at  timestamptz NOT NULL DEFAULT now();
UPDATE projects SET environment = 'test' WHERE id LIKE 'project-test-%';

CREATE TABLE project_secrets (
	id           text PRIMARY KEY,
	project_id   text NOT NULL CONSTRAINT project_secrets_project_fkey REFERENCES projects (id) ON DELETE CASCADE,
	secret_hash  bytea NOT NULL,
	-- The secret named by BOOTSTRAP_PROJECT_SECRET: replaced when that
	-- variable changes; secrets made by the CLI or the admin API are not.
	bootstrap    boolean NOT NULL DEFAULT false,
	created_at   timestamptz NOT NULL DEFAULT now(),
	last_used_at timestamptz
);
CREATE INDEX project_secrets_project_idx ON project_secrets (project_id, created_at);
CREATE UNIQUE INDEX project_secrets_one_bootstrap ON project_secrets (project_id) WHERE bootstrap;

INSERT INTO project_secrets (id, project_id, secret_hash, bootstrap, created_at)
SELECT 'project-secret-' || CASE WHEN id LIKE 'project-test-%' THEN 'test-' ELSE 'live-' END || md5(id), id, secret_hash, true, created_at
FROM projects;

ALTER TABLE projects DROP COLUMN secret_hash;
-- Same name as the old constraint, so a duplicate secret maps to the same error.
ALTER TABLE project_secrets ADD CONSTRAINT projects_secret_hash_key UNIQUE (secret_hash);

CREATE FUNCTION sesame_notify_project() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	-- TG_ARGV[0] names the column holding the project id.
	IF TG_OP = 'DELETE' THEN
		PERFORM pg_notify('sesame_projects', to_jsonb(OLD) ->> TG_ARGV[0]);
		RETURN OLD;
	END IF;
	PERFORM pg_notify('sesame_projects', to_jsonb(NEW) ->> TG_ARGV[0]);
	RETURN NEW;
END $$;

CREATE TRIGGER projects_notify AFTER UPDATE OR DELETE ON projects
	FOR EACH ROW EXECUTE FUNCTION sesame_notify_project('id');
-- last_used_at updates do not notify: only a new, replaced or removed secret does.
CREATE TRIGGER project_secrets_notify AFTER INSERT OR DELETE OR UPDATE OF secret_hash ON project_secrets
	FOR EACH ROW EXECUTE FUNCTION sesame_notify_project('project_id');
