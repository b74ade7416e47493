package postgres

import (
	"bytes"
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sesame-auth/sesame/internal/auth"
)

// IdempotencyRetention is how long a request's result answers retries.
const IdempotencyRetention = 24 * time.Hour

// idempotencyStale is when an unfinished claim (its request crashed) may be
// taken over by a retry.
const idempotencyStale = time.Minute

// BeginIdempotent claims key for a request with fingerprint, in one
// statement. It returns the stored result of an earlier request with the
// same key (done), or claims the key (not done). EConflict when the key
// was used with another request, or its first request is still running.
func (db *DB) BeginIdempotent(ctx context.Context, projectID, key string, fingerprint []byte) ([]byte, bool, error) {
	now := db.clock()
	var (
		claimed bool
		fp      []byte
		result  []byte
	)
	err := db.pool.QueryRow(ctx, `
		WITH ins AS (
			INSERT INTO idempotency_keys (project_id, key, fingerprint, created_at)
			VALUES ($1, $2, $3, $4)
			ON CONFLICT (project_id, key) DO UPDATE SET created_at = EXCLUDED.created_at
				WHERE idempotency_keys.result IS NULL AND idempotency_keys.created_at < $5
					AND idempotency_keys.fingerprint = EXCLUDED.fingerprint
			RETURNING true AS claimed
		)
		SELECT claimed, NULL::bytea, NULL::jsonb FROM ins
		UNION ALL
		SELECT false, fingerprint, result FROM idempotency_keys
		WHERE project_id = $1 AND key = $2 AND NOT EXISTS (SELECT 1 FROM ins)`,
		projectID, key, fingerprint, now, now.Add(-idempotencyStale)).Scan(&claimed, &fp, &result)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		// A concurrent request inserted the key after this statement's snapshot.
		return nil, false, auth.Errorf(auth.EConflict, "A request with this Idempotency-Key is still in progress; retry shortly.")
	case err != nil:
		return nil, false, mapErr(err)
	case claimed:
		return nil, false, nil
	case !bytes.Equal(fp, fingerprint):
		return nil, false, auth.Errorf(auth.EConflict, "This Idempotency-Key was already used with a different request.")
	case result == nil:
		return nil, false, auth.Errorf(auth.EConflict, "A request with this Idempotency-Key is still in progress; retry shortly.")
	}
	return result, true, nil
}

// FinishIdempotent stores the result of a claimed key, or with a nil
// result releases the claim so that a retry runs the request again.
func (db *DB) FinishIdempotent(ctx context.Context, projectID, key string, result []byte) error {
	var err error
	if result == nil {
		_, err = db.pool.Exec(ctx, `DELETE FROM idempotency_keys WHERE project_id = $1 AND key = $2 AND result IS NULL`, projectID, key)
	} else {
		_, err = db.pool.Exec(ctx, `UPDATE idempotency_keys SET result = $3 WHERE project_id = $1 AND key = $2`, projectID, key, string(result))
	}
	return mapErr(err)
}
