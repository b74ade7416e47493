package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/sesame-auth/sesame/internal/auth"
)

// EnsureProject creates the project or replaces its secret hash. EConflict
// if another project has the same secret hash.
func (db *DB) EnsureProject(ctx context.Context, id string, secretHash []byte) error {
	_, err := db.pool.Exec(ctx, `
		INSERT INTO projects (id, secret_hash, created_at) VALUES ($1, $2, $3)
		ON CONFLICT (id) DO UPDATE SET secret_hash = EXCLUDED.secret_hash`,
		id, secretHash, db.clock())
	if err != nil {
		return mapErr(err)
	}
	return nil
}

var errUnauthorized = &auth.Error{Code: auth.EUnauthorized, Message: "Unauthorized credentials."}

// FindProjectBySecret returns the project whose secret hash is any of
// hashes. EUnauthorized if none.
func (db *DB) FindProjectBySecret(ctx context.Context, hashes [][]byte) (*auth.Project, error) {
	if len(hashes) == 0 {
		return nil, errUnauthorized
	}
	p, err := db.findProject(ctx, `SELECT id, created_at FROM projects WHERE secret_hash = ANY($1::bytea[]) LIMIT 1`, hashes)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errUnauthorized
	}
	return p, err
}

// FindProjectWithSecret returns the project if its secret hash is any of
// hashes. EUnauthorized otherwise (also for an unknown project).
func (db *DB) FindProjectWithSecret(ctx context.Context, id string, hashes [][]byte) (*auth.Project, error) {
	if len(hashes) == 0 {
		return nil, errUnauthorized
	}
	p, err := db.findProject(ctx, `SELECT id, created_at FROM projects WHERE id = $1 AND secret_hash = ANY($2::bytea[])`, id, hashes)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errUnauthorized
	}
	return p, err
}

// FindProject returns a project by id. ENotFound if missing.
func (db *DB) FindProject(ctx context.Context, id string) (*auth.Project, error) {
	p, err := db.findProject(ctx, `SELECT id, created_at FROM projects WHERE id = $1`, id)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound(auth.ENotFound, "project_id", "Project not found.")
	}
	return p, err
}

func (db *DB) findProject(ctx context.Context, sql string, args ...any) (*auth.Project, error) {
	var p auth.Project
	if err := db.pool.QueryRow(ctx, sql, args...).Scan(&p.ID, &p.CreatedAt); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, err
		}
		return nil, internal(err)
	}
	return &p, nil
}
