package postgres

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/sesame-auth/sesame/internal/auth"
)

var errSessionNotFound = &auth.Error{Code: auth.ESessionNotFound, Field: "session", Message: "Session not found."}

// A session is live while revoked_at is null and expires_at is after now.

// A member session has user_id NULL and member_id, organization_id set;
// a user session the reverse. Both read as "" when NULL.
const sessionColumns = `id, project_id, COALESCE(user_id, ''), COALESCE(member_id, ''), COALESCE(organization_id, ''),
	token_hash, started_at, last_accessed_at, expires_at, attributes, factors, custom_claims, revoked_at, token_enc`

func scanSession(row pgx.Row) (*auth.Session, []byte, error) {
	var s auth.Session
	var attrs, factors, claims, tokenEnc []byte
	if err := row.Scan(&s.ID, &s.ProjectID, &s.UserID, &s.MemberID, &s.OrganizationID, &s.TokenHash, &s.StartedAt, &s.LastAccessedAt, &s.ExpiresAt,
		&attrs, &factors, &claims, &s.RevokedAt, &tokenEnc); err != nil {
		return nil, nil, err
	}
	if err := json.Unmarshal(attrs, &s.Attributes); err != nil {
		return nil, nil, err
	}
	if err := json.Unmarshal(factors, &s.Factors); err != nil {
		return nil, nil, err
	}
	if err := json.Unmarshal(claims, &s.CustomClaims); err != nil {
		return nil, nil, err
	}
	if s.Factors == nil {
		s.Factors = []auth.Factor{}
	}
	if s.CustomClaims == nil {
		s.CustomClaims = map[string]any{}
	}
	return &s, tokenEnc, nil
}

// sessionJSON encodes the jsonb columns of s.
func sessionJSON(s *auth.Session) (attrs, factors, claims string, err error) {
	a, err := json.Marshal(s.Attributes)
	if err != nil {
		return "", "", "", err
	}
	f := []byte("[]")
	if len(s.Factors) > 0 {
		if f, err = json.Marshal(s.Factors); err != nil {
			return "", "", "", err
		}
	}
	c := []byte("{}")
	if len(s.CustomClaims) > 0 {
		if c, err = json.Marshal(s.CustomClaims); err != nil {
			return "", "", "", auth.Invalid("session_custom_claims", "Custom claims must be JSON.")
		}
	}
	return string(a), string(f), string(c), nil
}

// CreateSession inserts s with its token hash and encrypted token. Zero
// StartedAt and LastAccessedAt are set to now. A member session (MemberID
// set) is stored with user_id NULL and its MemberID and OrganizationID.
func (db *DB) CreateSession(ctx context.Context, s *auth.Session, tokenEnc []byte) error {
	now := db.clock()
	if s.StartedAt.IsZero() {
		s.StartedAt = now
	}
	if s.LastAccessedAt.IsZero() {
		s.LastAccessedAt = s.StartedAt
	}
	if s.CustomClaims == nil {
		s.CustomClaims = map[string]any{}
	}
	attrs, factors, claims, err := sessionJSON(s)
	if err != nil {
		return internal(err)
	}
	// A user session keeps user_id "" (not NULL) when unset, so that it
	// still fails on the users foreign key (EUserNotFound).
	var userID, memberID, orgID any = s.UserID, nil, nil
	if s.MemberID != "" {
		userID, memberID, orgID = nil, s.MemberID, s.OrganizationID
	}
	_, err = db.pool.Exec(ctx, `
		INSERT INTO sessions (id, project_id, user_id, member_id, organization_id, token_hash, token_enc, started_at,
			last_accessed_at, expires_at, attributes, factors, custom_claims, revoked_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb, $12::jsonb, $13::jsonb, $14)`,
		s.ID, s.ProjectID, userID, memberID, orgID, s.TokenHash, tokenEnc, s.StartedAt, s.LastAccessedAt, s.ExpiresAt,
		attrs, factors, claims, s.RevokedAt)
	if err != nil {
		return mapB2BErr(err)
	}
	return nil
}

// FindSessionByToken returns the live session whose token hash is any of
// hashes, with its encrypted token. ESessionNotFound otherwise.
func (db *DB) FindSessionByToken(ctx context.Context, projectID string, hashes [][]byte) (*auth.Session, []byte, error) {
	if len(hashes) == 0 {
		return nil, nil, errSessionNotFound
	}
	return db.findSession(ctx, `SELECT `+sessionColumns+` FROM sessions
		WHERE project_id = $1 AND token_hash = ANY($2::bytea[]) AND revoked_at IS NULL AND expires_at > $3 LIMIT 1`,
		projectID, hashes, db.clock())
}

// FindSession returns a live session by id with its encrypted token.
// ESessionNotFound otherwise.
func (db *DB) FindSession(ctx context.Context, projectID, sessionID string) (*auth.Session, []byte, error) {
	return db.findSession(ctx, `SELECT `+sessionColumns+` FROM sessions
		WHERE project_id = $1 AND id = $2 AND revoked_at IS NULL AND expires_at > $3`,
		projectID, sessionID, db.clock())
}

func (db *DB) findSession(ctx context.Context, sql string, args ...any) (*auth.Session, []byte, error) {
	s, enc, err := scanSession(db.pool.QueryRow(ctx, sql, args...))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil, errSessionNotFound
	}
	if err != nil {
		return nil, nil, internal(err)
	}
	return s, enc, nil
}

// UpdateSession stores s's expiry, last access, factors and custom claims.
// ESessionNotFound if the session is no longer live.
func (db *DB) UpdateSession(ctx context.Context, s *auth.Session) error {
	_, factors, claims, err := sessionJSON(s)
	if err != nil {
		return internal(err)
	}
	tag, err := db.pool.Exec(ctx, `
		UPDATE sessions SET expires_at = $3, last_accessed_at = $4, factors = $5::jsonb, custom_claims = $6::jsonb
		WHERE project_id = $1 AND id = $2 AND revoked_at IS NULL AND expires_at > $7`,
		s.ProjectID, s.ID, s.ExpiresAt, s.LastAccessedAt, factors, claims, db.clock())
	if err != nil {
		return internal(err)
	}
	if tag.RowsAffected() == 0 {
		return errSessionNotFound
	}
	return nil
}

// ListSessions returns the user's live sessions, newest first, and their
// encrypted tokens in the same order.
func (db *DB) ListSessions(ctx context.Context, projectID, userID string) ([]*auth.Session, [][]byte, error) {
	return db.listSessions(ctx, `SELECT `+sessionColumns+` FROM sessions
		WHERE project_id = $1 AND user_id = $2 AND revoked_at IS NULL AND expires_at > $3
		ORDER BY started_at DESC, id DESC`, projectID, userID, db.clock())
}

func (db *DB) listSessions(ctx context.Context, sql string, args ...any) ([]*auth.Session, [][]byte, error) {
	rows, err := db.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, nil, internal(err)
	}
	defer rows.Close()
	sessions, tokens := []*auth.Session{}, [][]byte{}
	for rows.Next() {
		s, enc, err := scanSession(rows)
		if err != nil {
			return nil, nil, internal(err)
		}
		sessions, tokens = append(sessions, s), append(tokens, enc)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, internal(err)
	}
	return sessions, tokens, nil
}

// RevokeSession ends a live session. ESessionNotFound otherwise.
func (db *DB) RevokeSession(ctx context.Context, projectID, sessionID string) error {
	tag, err := db.pool.Exec(ctx, `
		UPDATE sessions SET revoked_at = $3
		WHERE project_id = $1 AND id = $2 AND revoked_at IS NULL AND expires_at > $3`,
		projectID, sessionID, db.clock())
	if err != nil {
		return internal(err)
	}
	if tag.RowsAffected() == 0 {
		return errSessionNotFound
	}
	return nil
}
