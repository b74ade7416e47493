package postgres

import (
	"context"
	"errors"
	"time"

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
//
// A B2B link (MemberID set, or Kind discovery, or Email without UserID)
// is stored with user_id NULL, its member_id and organization_id (NULL
// for a discovery link) and Email; its message belongs to the member.
// Its EmailID (the member's) is not stored: ConsumeB2BMagicLink reads it
// from the member.
// EMemberNotFound if the member is gone.
func (db *DB) CreateMagicLink(ctx context.Context, ml *auth.MagicLink, m *auth.Message, payload []byte) error {
	now := db.clock()
	if ml.CreatedAt.IsZero() {
		ml.CreatedAt = now
	}
	ml.ConsumedAt = nil
	// A user's link keeps user_id "" (not NULL) when unset, so that it
	// still fails on the users foreign key (EUserNotFound).
	var userID, memberID, orgID any = ml.UserID, nil, nil
	emailID := ml.EmailID
	if ml.MemberID != "" || ml.Kind == auth.MagicLinkDiscovery || (ml.UserID == "" && ml.Email != "") {
		// email_id references a user's email: a member's EmailID is
		// not stored but read back from the member on consumption.
		userID, emailID = nil, ""
		if ml.MemberID != "" {
			memberID, orgID = ml.MemberID, ml.OrganizationID
		}
	}
	var p params
	sql := `INSERT INTO magic_links (id, project_id, user_id, member_id, organization_id, email, email_id, kind, token_hash,
			code_challenge, expires_at, created_at)
		VALUES (` + p.add(ml.ID) + `, ` + p.add(ml.ProjectID) + `, ` + p.add(userID) + `::text, ` + p.add(memberID) + `::text, ` +
		p.add(orgID) + `::text, ` + p.add(ml.Email) + `, NULLIF(` + p.add(emailID) + `, ''), ` +
		p.add(string(ml.Kind)) + `, ` + p.add(ml.TokenHash) + `, ` + p.add(ml.CodeChallenge) + `, ` + p.add(ml.ExpiresAt) + `, ` +
		p.add(ml.CreatedAt) + `)`
	if m != nil {
		sql = `WITH l AS (` + sql + `) ` +
			insertMessage(&p, m, payload, auth.KindMagicLink, auth.ChannelEmail, ml.ProjectID, "$1", "$3", "$4", ml.ID, ml.ExpiresAt, ml.CreatedAt)
	}
	if _, err := db.pool.Exec(ctx, sql, p...); err != nil {
		return mapB2BErr(err)
	}
	return nil
}

// ConsumeMagicLink, in one statement, consumes the live link whose token
// hash is any of hashes and whose code_challenge equals verifierChallenge
// (a link created without a challenge accepts only ""), marks its email
// verified and activates its user. When nothing matched, a second query
// classifies: EMagicLinkNotFound (no such token in the project),
// EMagicLinkUsed (consumed or expired) or EPKCEMismatch. B2B links (user_id
// NULL) are never matched: their tokens are EMagicLinkNotFound here.
func (db *DB) ConsumeMagicLink(ctx context.Context, projectID string, hashes [][]byte, verifierChallenge string) (*auth.MagicLink, error) {
	ml, _, err := db.AuthenticateMagicLink(ctx, projectID, hashes, verifierChallenge, nil, nil)
	return ml, err
}

// classifyMagicLink tells why no live link of the kind selected by cond
// (an SQL condition on magic_links) matched: EMagicLinkNotFound,
// EMagicLinkUsed or EPKCEMismatch.
func (db *DB) classifyMagicLink(ctx context.Context, projectID string, hashes [][]byte, verifierChallenge string, now time.Time, cond string) error {
	var dead bool
	var challenge string
	err := db.pool.QueryRow(ctx, `
		SELECT consumed_at IS NOT NULL OR expires_at <= $3, code_challenge FROM magic_links
		WHERE project_id = $1 AND token_hash = ANY($2::bytea[]) AND `+cond+`
		ORDER BY created_at DESC LIMIT 1`, projectID, hashes, now).Scan(&dead, &challenge)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return errMagicLinkNotFound
	case err != nil:
		return internal(err)
	case dead:
		return errMagicLinkUsed
	case challenge != verifierChallenge:
		return errPKCEMismatch
	default:
		return errMagicLinkUsed // consumed concurrently between the two statements
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
