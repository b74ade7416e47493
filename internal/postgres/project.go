package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sesame-auth/sesame/internal/auth"
)

var _ auth.ProjectRegistry = (*DB)(nil)

// EnsureProject creates the project or replaces its bootstrap secret hash
// (auth.ProjectStore). EConflict if another project has the same secret hash.
func (db *DB) EnsureProject(ctx context.Context, id string, secretHash []byte) error {
	env := auth.EnvLive
	if len(id) > len("project-test-") && id[:len("project-test-")] == "project-test-" {
		env = auth.EnvTest
	}
	now := db.clock()
	return db.EnsureBootstrapProject(ctx, &auth.ProjectInfo{ID: id, Name: id, Environment: env, CreatedAt: now, UpdatedAt: now},
		&auth.ProjectSecret{ID: "project-secret-" + env + "-" + auth.NewUUID(), ProjectID: id, Bootstrap: true, CreatedAt: now}, secretHash)
}

// EnsureBootstrapProject creates the project if missing and makes
// secretHash its bootstrap secret, in one transaction. Nothing changes
// (and nobody is notified) when the hash is already the bootstrap secret.
func (db *DB) EnsureBootstrapProject(ctx context.Context, p *auth.ProjectInfo, sec *auth.ProjectSecret, secretHash []byte) error {
	return db.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `
			INSERT INTO projects (id, name, environment, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)
			ON CONFLICT (id) DO NOTHING`, p.ID, p.Name, p.Environment, p.CreatedAt); err != nil {
			return mapErr(err)
		}
		var same bool
		err := tx.QueryRow(ctx, `SELECT secret_hash = $2 FROM project_secrets WHERE project_id = $1 AND bootstrap`, p.ID, secretHash).Scan(&same)
		switch {
		case err == nil && same:
			return nil
		case err == nil:
			if _, err := tx.Exec(ctx, `UPDATE project_secrets SET secret_hash = $2, created_at = $3, last_used_at = NULL WHERE project_id = $1 AND bootstrap`,
				p.ID, secretHash, sec.CreatedAt); err != nil {
				return mapErr(err)
			}
			return nil
		case errors.Is(err, pgx.ErrNoRows):
			return insertSecret(ctx, tx, sec, secretHash)
		default:
			return internal(err)
		}
	})
}

func insertSecret(ctx context.Context, q pgx.Tx, sec *auth.ProjectSecret, hash []byte) error {
	_, err := q.Exec(ctx, `INSERT INTO project_secrets (id, project_id, secret_hash, bootstrap, created_at) VALUES ($1, $2, $3, $4, $5)`,
		sec.ID, sec.ProjectID, hash, sec.Bootstrap, sec.CreatedAt)
	return mapErr(err)
}

// CreateProject stores a project and its first secret in one transaction.
func (db *DB) CreateProject(ctx context.Context, p *auth.ProjectInfo, sec *auth.ProjectSecret, secretHash []byte) error {
	settings, err := json.Marshal(p.Settings)
	if err != nil {
		return internal(err)
	}
	return db.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO projects (id, name, environment, settings, created_at, updated_at) VALUES ($1, $2, $3, $4::jsonb, $5, $5)`,
			p.ID, p.Name, p.Environment, string(settings), p.CreatedAt); err != nil {
			return mapErr(err)
		}
		return insertSecret(ctx, tx, sec, secretHash)
	})
}

const projectColumns = `id, name, environment, settings, created_at, updated_at`

func scanProject(row pgx.Row) (*auth.ProjectInfo, error) {
	var p auth.ProjectInfo
	var settings []byte
	if err := row.Scan(&p.ID, &p.Name, &p.Environment, &settings, &p.CreatedAt, &p.UpdatedAt); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(settings, &p.Settings); err != nil {
		return nil, internal(err)
	}
	return &p, nil
}

// ListProjects returns every project, oldest first.
func (db *DB) ListProjects(ctx context.Context) ([]*auth.ProjectInfo, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+projectColumns+` FROM projects ORDER BY created_at, id LIMIT 10000`)
	if err != nil {
		return nil, internal(err)
	}
	defer rows.Close()
	out := []*auth.ProjectInfo{}
	for rows.Next() {
		p, err := scanProject(rows)
		if err != nil {
			return nil, internal(err)
		}
		out = append(out, p)
	}
	return out, internal(rows.Err())
}

var errProjectNotFound = &auth.Error{Code: auth.ENotFound, Field: "project_id", Message: "Project not found."}

// GetProject returns a project with its settings. ENotFound if missing.
func (db *DB) GetProject(ctx context.Context, id string) (*auth.ProjectInfo, error) {
	p, err := scanProject(db.pool.QueryRow(ctx, `SELECT `+projectColumns+` FROM projects WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errProjectNotFound
	}
	if err != nil {
		return nil, internal(err)
	}
	return p, nil
}

// UpdateProject changes the name and/or settings (nil: unchanged).
func (db *DB) UpdateProject(ctx context.Context, id string, name *string, settings *auth.Settings, now time.Time) (*auth.ProjectInfo, error) {
	var st *string
	if settings != nil {
		b, err := json.Marshal(settings)
		if err != nil {
			return nil, internal(err)
		}
		s := string(b)
		st = &s
	}
	p, err := scanProject(db.pool.QueryRow(ctx, `
		UPDATE projects SET name = COALESCE($2, name), settings = COALESCE($3::jsonb, settings), updated_at = $4
		WHERE id = $1 RETURNING `+projectColumns, id, name, st, now))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errProjectNotFound
	}
	if err != nil {
		return nil, mapErr(err)
	}
	return p, nil
}

// DeleteProject deletes a project; its rows go with it (ON DELETE CASCADE).
func (db *DB) DeleteProject(ctx context.Context, id string) error {
	tag, err := db.pool.Exec(ctx, `DELETE FROM projects WHERE id = $1`, id)
	if err != nil {
		return mapErr(err)
	}
	if tag.RowsAffected() == 0 {
		return errProjectNotFound
	}
	return nil
}

var errUnauthorized = &auth.Error{Code: auth.EUnauthorized, Message: "Unauthorized credentials."}

// UseProjectSecret returns the project (projectID, or any when "") with a
// secret whose hash is one of hashes and sets that secret's last_used_at,
// in one statement. EUnauthorized if none.
func (db *DB) UseProjectSecret(ctx context.Context, projectID string, hashes [][]byte, now time.Time) (*auth.ProjectInfo, error) {
	if len(hashes) == 0 {
		return nil, errUnauthorized
	}
	p, err := scanProject(db.pool.QueryRow(ctx, `
		WITH s AS (
			UPDATE project_secrets SET last_used_at = $3
			WHERE id = (SELECT id FROM project_secrets WHERE secret_hash = ANY($1::bytea[]) AND ($2 = '' OR project_id = $2) LIMIT 1)
			RETURNING project_id)
		SELECT p.id, p.name, p.environment, p.settings, p.created_at, p.updated_at FROM projects p JOIN s ON s.project_id = p.id`,
		hashes, projectID, now))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errUnauthorized
	}
	if err != nil {
		return nil, internal(err)
	}
	return p, nil
}

// FindProjectBySecret returns the project with a secret whose hash is any
// of hashes. EUnauthorized if none.
func (db *DB) FindProjectBySecret(ctx context.Context, hashes [][]byte) (*auth.Project, error) {
	p, err := db.UseProjectSecret(ctx, "", hashes, db.clock())
	if err != nil {
		return nil, err
	}
	return &auth.Project{ID: p.ID, CreatedAt: p.CreatedAt}, nil
}

// FindProjectWithSecret returns the project if one of its secrets hashes
// to any of hashes. EUnauthorized otherwise (also for an unknown project).
func (db *DB) FindProjectWithSecret(ctx context.Context, id string, hashes [][]byte) (*auth.Project, error) {
	if id == "" {
		return nil, errUnauthorized
	}
	p, err := db.UseProjectSecret(ctx, id, hashes, db.clock())
	if err != nil {
		return nil, err
	}
	return &auth.Project{ID: p.ID, CreatedAt: p.CreatedAt}, nil
}

// FindProject returns a project by id. ENotFound if missing.
func (db *DB) FindProject(ctx context.Context, id string) (*auth.Project, error) {
	var p auth.Project
	err := db.pool.QueryRow(ctx, `SELECT id, created_at FROM projects WHERE id = $1`, id).Scan(&p.ID, &p.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound(auth.ENotFound, "project_id", "Project not found.")
	}
	if err != nil {
		return nil, internal(err)
	}
	return &p, nil
}
