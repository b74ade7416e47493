package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/sesame-auth/sesame/internal/auth"
)

var (
	errMagicLinkNotFound = &auth.Error{Code: auth.EMagicLinkNotFound, Field: "token", Message: "The magic link could not be found."}
	errMagicLinkUsed     = &auth.Error{Code: auth.EMagicLinkUsed, Field: "token", Message: "The magic link has already been used or has expired."}
	errPKCEMismatch      = &auth.Error{Code: auth.EPKCEMismatch, Field: "code_verifier", Message: "The code_verifier does not match the code_challenge of the magic link."}
)

// CreateMagicLink inserts the link and, when m is not nil, its outbox
// message, in one statement. A zero ml.CreatedAt is set to now; m is filled
// as in CreateChallenge (Kind magiclink, Channel email). An empty EmailID
// is stored as NULL (embedded links).
func (db *DB) CreateMagicLink(ctx context.Context, ml *auth.MagicLink, m *auth.Message, payload []byte) error {
	now := db.clock()
	if ml.CreatedAt.IsZero() {
		ml.CreatedAt = now
	}
	ml.ConsumedAt = nil
	var p params
	sql := `INSERT INTO magic_links (id, project_id, user_id, email_id, kind, token_hash, code_challenge, expires_at, created_at)
		VALUES (` + p.add(ml.ID) + `, ` + p.add(ml.ProjectID) + `, ` + p.add(ml.UserID) + `, NULLIF(` + p.add(ml.EmailID) + `, ''), ` +
		p.add(string(ml.Kind)) + `, ` + p.add(ml.TokenHash) + `, ` + p.add(ml.CodeChallenge) + `, ` + p.add(ml.ExpiresAt) + `, ` +
		p.add(ml.CreatedAt) + `)`
	if m != nil {
		sql = `WITH l AS (` + sql + `) ` +
			insertMessage(&p, m, payload, auth.KindMagicLink, auth.ChannelEmail, ml.ProjectID, "$1", "$3", ml.ID, ml.ExpiresAt, ml.CreatedAt)
	}
	if _, err := db.pool.Exec(ctx, sql, p...); err != nil {
		return mapErr(err)
	}
	return nil
}

// ConsumeMagicLink, in one statement, consumes the live link whose token
// hash is any of hashes and whose code_challenge equals verifierChallenge
// (a link created without a challenge accepts only ""), marks its email
// verified and activates its user. When nothing matched, a second query
// classifies: EMagicLinkNotFound (no such token in the project),
// EMagicLinkUsed (consumed or expired) or EPKCEMismatch.
func (db *DB) ConsumeMagicLink(ctx context.Context, projectID string, hashes [][]byte, verifierChallenge string) (*auth.MagicLink, error) {
	if len(hashes) == 0 {
		return nil, errMagicLinkNotFound
	}
	now := db.clock()
	var ml auth.MagicLink
	var emailID *string
	err := db.pool.QueryRow(ctx, `
		WITH l AS (
			UPDATE magic_links SET consumed_at = $4
			WHERE project_id = $1 AND token_hash = ANY($2::bytea[]) AND consumed_at IS NULL
				AND expires_at > $4 AND code_challenge = $3
			RETURNING id, project_id, user_id, email_id, kind, token_hash, code_challenge, expires_at, consumed_at, created_at
		), e AS (
			UPDATE emails SET verified = true, updated_at = $4
			WHERE project_id = $1 AND id IN (SELECT email_id FROM l) AND NOT verified
		), u AS (
			UPDATE users SET status = 'active', updated_at = $4
			WHERE project_id = $1 AND id IN (SELECT user_id FROM l) AND status <> 'active'
		)
		SELECT * FROM l LIMIT 1`, projectID, hashes, verifierChallenge, now).Scan(
		&ml.ID, &ml.ProjectID, &ml.UserID, &emailID, &ml.Kind, &ml.TokenHash, &ml.CodeChallenge, &ml.ExpiresAt, &ml.ConsumedAt, &ml.CreatedAt)
	if err == nil {
		if emailID != nil {
			ml.EmailID = *emailID
		}
		return &ml, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return nil, internal(err)
	}
	var dead bool
	var challenge string
	err = db.pool.QueryRow(ctx, `
		SELECT consumed_at IS NOT NULL OR expires_at <= $3, code_challenge FROM magic_links
		WHERE project_id = $1 AND token_hash = ANY($2::bytea[])
		ORDER BY created_at DESC LIMIT 1`, projectID, hashes, now).Scan(&dead, &challenge)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil, errMagicLinkNotFound
	case err != nil:
		return nil, internal(err)
	case dead:
		return nil, errMagicLinkUsed
	case challenge != verifierChallenge:
		return nil, errPKCEMismatch
	default:
		return nil, errMagicLinkUsed // consumed concurrently between the two statements
	}
}

// RevokeInvites deletes the unconsumed invite links of the project's email
// address and returns how many there were. Their queued messages become
// DeliveryDead ("revoked").
func (db *DB) RevokeInvites(ctx context.Context, projectID, email string) (int, error) {
	tag, err := db.pool.Exec(ctx, `
		DELETE FROM magic_links
		WHERE project_id = $1 AND kind = 'invite' AND consumed_at IS NULL
			AND email_id IN (SELECT id FROM emails WHERE project_id = $1 AND address = $2)`, projectID, email)
	if err != nil {
		return 0, internal(err)
	}
	return int(tag.RowsAffected()), nil
}
