package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sesame-auth/sesame/internal/auth"
)

// SigningKeys returns the project's keys: next, then current, then retired
// (newest first within a state).
func (db *DB) SigningKeys(ctx context.Context, projectID string) ([]auth.SigningKey, error) {
	rows, err := db.pool.Query(ctx, `
		SELECT id, project_id, state, private_enc, created_at, rotated_at FROM signing_keys
		WHERE project_id = $1
		ORDER BY CASE state WHEN 'next' THEN 0 WHEN 'current' THEN 1 ELSE 2 END, rotated_at DESC, id`, projectID)
	if err != nil {
		return nil, internal(err)
	}
	defer rows.Close()
	keys := []auth.SigningKey{}
	for rows.Next() {
		var k auth.SigningKey
		if err := rows.Scan(&k.ID, &k.ProjectID, &k.State, &k.PrivateEnc, &k.CreatedAt, &k.RotatedAt); err != nil {
			return nil, internal(err)
		}
		keys = append(keys, k)
	}
	if err := rows.Err(); err != nil {
		return nil, internal(err)
	}
	return keys, nil
}

// RotateSigningKeys, in one transaction that locks the project row (so
// concurrent rotations run one after the other): if the project has keys,
// retires the current key and promotes next to current (both with
// rotated_at = now); inserts add, each with the State set by the caller
// (an empty State means next, or current when the project had no key);
// then deletes retired keys rotated before retireBefore. ENotFound if the
// project does not exist; EConflict if add would leave two current keys.
func (db *DB) RotateSigningKeys(ctx context.Context, projectID string, add []auth.SigningKey, retireBefore time.Time) error {
	now := db.clock()
	return db.inTx(ctx, func(tx pgx.Tx) error {
		var n int
		err := tx.QueryRow(ctx, `
			SELECT (SELECT count(*) FROM signing_keys WHERE project_id = p.id)
			FROM projects p WHERE p.id = $1 FOR NO KEY UPDATE`, projectID).Scan(&n)
		if errors.Is(err, pgx.ErrNoRows) {
			return notFound(auth.ENotFound, "project_id", "Project not found.")
		}
		if err != nil {
			return internal(err)
		}
		if n > 0 {
			if _, err := tx.Exec(ctx, `UPDATE signing_keys SET state = 'retired', rotated_at = $2
				WHERE project_id = $1 AND state = 'current'`, projectID, now); err != nil {
				return mapErr(err)
			}
			if _, err := tx.Exec(ctx, `UPDATE signing_keys SET state = 'current', rotated_at = $2
				WHERE project_id = $1 AND state = 'next'`, projectID, now); err != nil {
				return mapErr(err)
			}
		}
		for _, k := range add {
			state := k.State
			if state == "" {
				state = auth.KeyNext
				if n == 0 {
					state = auth.KeyCurrent
				}
			}
			created := k.CreatedAt
			if created.IsZero() {
				created = now
			}
			rotated := k.RotatedAt
			if rotated.IsZero() {
				rotated = now
			}
			if _, err := tx.Exec(ctx, `INSERT INTO signing_keys (id, project_id, state, private_enc, created_at, rotated_at)
				VALUES ($1, $2, $3, $4, $5, $6)`, k.ID, projectID, string(state), k.PrivateEnc, created, rotated); err != nil {
				return mapErr(err)
			}
		}
		if _, err := tx.Exec(ctx, `DELETE FROM signing_keys WHERE project_id = $1 AND state = 'retired' AND rotated_at < $2`,
			projectID, retireBefore); err != nil {
			return internal(err)
		}
		return nil
	})
}
