package postgres

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/sesame-auth/sesame/internal/auth"
)

var errISTNotFound = &auth.Error{Code: auth.EISTNotFound, Field: "intermediate_session_token",
	Message: "The intermediate session token is unknown, has expired or was already used."}

// An intermediate session is live while consumed_at is NULL and expires_at
// is after now.

// CreateIntermediateSession inserts ist. A zero CreatedAt is set to now;
// empty OrganizationID and MemberID (discovery) are stored as NULL. One
// statement. EOrganizationNotFound, EMemberNotFound.
func (db *DB) CreateIntermediateSession(ctx context.Context, ist *auth.IntermediateSession) error {
	if ist.CreatedAt.IsZero() {
		ist.CreatedAt = db.clock()
	}
	ist.ConsumedAt = nil
	if ist.Factors == nil {
		ist.Factors = []auth.Factor{}
	}
	factors, err := json.Marshal(ist.Factors)
	if err != nil {
		return internal(err)
	}
	_, err = db.pool.Exec(ctx, `
		INSERT INTO intermediate_sessions (id, project_id, token_hash, email, organization_id, member_id, factors,
			expires_at, created_at)
		VALUES ($1, $2, $3, $4, NULLIF($5, ''), NULLIF($6, ''), $7::jsonb, $8, $9)`,
		ist.ID, ist.ProjectID, ist.TokenHash, ist.EmailAddress, ist.OrganizationID, ist.MemberID, string(factors),
		ist.ExpiresAt, ist.CreatedAt)
	if err != nil {
		return mapB2BErr(err)
	}
	return nil
}

// FindIntermediateSession returns the project's live IST whose token hash
// is any of hashes. One statement. EISTNotFound.
func (db *DB) FindIntermediateSession(ctx context.Context, projectID string, hashes [][]byte) (*auth.IntermediateSession, error) {
	if len(hashes) == 0 {
		return nil, errISTNotFound
	}
	var ist auth.IntermediateSession
	var factors []byte
	err := db.pool.QueryRow(ctx, `
		SELECT id, project_id, token_hash, email, COALESCE(organization_id, ''), COALESCE(member_id, ''), factors,
			expires_at, consumed_at, created_at
		FROM intermediate_sessions
		WHERE project_id = $1 AND token_hash = ANY($2::bytea[]) AND consumed_at IS NULL AND expires_at > $3
		LIMIT 1`, projectID, hashes, db.clock()).Scan(
		&ist.ID, &ist.ProjectID, &ist.TokenHash, &ist.EmailAddress, &ist.OrganizationID, &ist.MemberID, &factors,
		&ist.ExpiresAt, &ist.ConsumedAt, &ist.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errISTNotFound
	}
	if err != nil {
		return nil, internal(err)
	}
	if err := json.Unmarshal(factors, &ist.Factors); err != nil {
		return nil, internal(err)
	}
	if ist.Factors == nil {
		ist.Factors = []auth.Factor{}
	}
	return &ist, nil
}

// ConsumeIntermediateSession marks a live IST consumed. One statement.
// EISTNotFound if it is unknown, expired or already consumed (a concurrent
// consumer lost the race).
func (db *DB) ConsumeIntermediateSession(ctx context.Context, projectID, istID string) error {
	now := db.clock()
	tag, err := db.pool.Exec(ctx, `
		UPDATE intermediate_sessions SET consumed_at = $3
		WHERE project_id = $1 AND id = $2 AND consumed_at IS NULL AND expires_at > $3`, projectID, istID, now)
	if err != nil {
		return internal(err)
	}
	if tag.RowsAffected() == 0 {
		return errISTNotFound
	}
	return nil
}
