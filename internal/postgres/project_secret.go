package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/sesame-auth/sesame/internal/auth"
)

// CreateProjectSecret adds a secret to a project. ENotFound if the project
// is missing, EConflict if the hash is another secret's.
func (db *DB) CreateProjectSecret(ctx context.Context, sec *auth.ProjectSecret, secretHash []byte) error {
	return db.inTx(ctx, func(tx pgx.Tx) error { return insertSecret(ctx, tx, sec, secretHash) })
}

// ListProjectSecrets lists a project's secrets, oldest first (never a hash).
func (db *DB) ListProjectSecrets(ctx context.Context, projectID string) ([]*auth.ProjectSecret, error) {
	rows, err := db.pool.Query(ctx, `
		SELECT id, project_id, bootstrap, created_at, last_used_at FROM project_secrets
		WHERE project_id = $1 ORDER BY created_at, id LIMIT 1000`, projectID)
	if err != nil {
		return nil, internal(err)
	}
	defer rows.Close()
	out := []*auth.ProjectSecret{}
	for rows.Next() {
		var s auth.ProjectSecret
		if err := rows.Scan(&s.ID, &s.ProjectID, &s.Bootstrap, &s.CreatedAt, &s.LastUsedAt); err != nil {
			return nil, internal(err)
		}
		out = append(out, &s)
	}
	return out, internal(rows.Err())
}

// RevokeProjectSecret deletes one of a project's secrets. ENotFound (field
// secret_id) if the project has no such secret.
func (db *DB) RevokeProjectSecret(ctx context.Context, projectID, secretID string) error {
	var id string
	err := db.pool.QueryRow(ctx, `DELETE FROM project_secrets WHERE project_id = $1 AND id = $2 RETURNING id`, projectID, secretID).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return &auth.Error{Code: auth.ENotFound, Field: "secret_id", Message: "Secret not found in this project."}
	}
	return internal(err)
}
