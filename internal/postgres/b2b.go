package postgres

import (
	"context"
	"errors"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/sesame-auth/sesame/internal/auth"
)

// mapB2BErr maps the violations of the B2B constraints to domain errors
// and leaves everything else to mapErr.
func mapB2BErr(err error) error {
	pe := pgError(err)
	if pe == nil {
		return mapErr(err)
	}
	switch pe.Code {
	case sqlUniqueViolation:
		switch pe.ConstraintName {
		case "organizations_project_slug_key":
			return &auth.Error{Code: auth.EDuplicateSlug, Field: "organization_slug", Message: "An organization with this slug already exists in the project.", Err: err}
		case "organizations_project_external_id_key":
			return &auth.Error{Code: auth.EDuplicateExternalID, Field: "organization_external_id", Message: "An organization with this external id already exists in the project.", Err: err}
		case "members_org_email_key":
			return &auth.Error{Code: auth.EDuplicateMemberEmail, Field: "email_address", Message: "A member with this email already exists in the organization.", Err: err}
		case "members_org_external_id_key":
			return &auth.Error{Code: auth.EDuplicateExternalID, Field: "external_id", Message: "A member with this external id already exists in the organization.", Err: err}
		case "organizations_pkey", "members_pkey", "intermediate_sessions_pkey", "intermediate_sessions_token_hash_key":
			return &auth.Error{Code: auth.EConflict, Message: "The record already exists.", Err: err}
		}
	case sqlForeignKeyViolation:
		switch {
		case strings.HasSuffix(pe.ConstraintName, "_member_fkey"):
			return &auth.Error{Code: auth.EMemberNotFound, Field: "member_id", Message: "Member not found.", Err: err}
		case strings.HasSuffix(pe.ConstraintName, "_organization_fkey"):
			return &auth.Error{Code: auth.EOrganizationNotFound, Field: "organization_id", Message: "Organization not found.", Err: err}
		}
	case sqlCheckViolation:
		switch pe.ConstraintName {
		case "members_status_check":
			return &auth.Error{Code: auth.EInvalid, Field: "status", Message: "A value is out of range.", Err: err}
		case "challenges_owner_check", "sessions_owner_check", "magic_links_owner_check":
			return auth.Internal(err) // the caller set neither or both of a user and a member
		}
	}
	return mapErr(err)
}

// memberMFASet returns the SET list applying upd to the members row (the
// table named members, joined with the consumed code or link), with now
// the parameter of the clock. The email is verified only when emailCond
// holds and the phone only when phoneCond holds (SQL conditions tying the
// code or link to the member's current email or phone).
func memberMFASet(p *params, upd auth.MemberMFAUpdate, now, emailCond, phoneCond string) string {
	dm := p.add(upd.DefaultMFAMethod)
	return `status = CASE WHEN ` + p.add(upd.Activate) + `::boolean AND members.status IN ('pending', 'invited')
				THEN 'active' ELSE members.status END,
			email_verified = members.email_verified OR (` + p.add(upd.VerifyEmail) + `::boolean AND ` + emailCond + `),
			mfa_phone_verified = members.mfa_phone_verified OR (` + p.add(upd.VerifyPhone) + `::boolean AND ` + phoneCond + `),
			mfa_enrolled = COALESCE(` + p.add(upd.SetEnrolled) + `::boolean, members.mfa_enrolled),
			default_mfa_method = CASE WHEN ` + dm + `::text = '' THEN members.default_mfa_method ELSE ` + dm + `::text END,
			updated_at = ` + now
}

// ConsumeMemberChallenge, in one statement: locks the member's challenge
// if it is unconsumed and, with istID != "", the IST if it is live and
// not bound to another member; then, only if both are there, consumes
// them and applies upd to the challenge's member (VerifyEmail only when
// the code went to the member's email id, VerifyPhone only when it went
// to the current MFA phone id), and returns the updated member. Nothing is
// consumed otherwise: EOTPExpired if the code is not there (consumed,
// concurrently or before, or not a member's), else EISTNotFound (the IST
// is unknown, expired, used or another member's). Expiry and attempts are
// AttemptChallenge's business.
func (db *DB) ConsumeMemberChallenge(ctx context.Context, projectID, challengeID, istID string, upd auth.MemberMFAUpdate) (*auth.Member, error) {
	var p params
	p.add(projectID)
	p.add(challengeID)
	p.add(istID)
	now := p.add(db.clock())
	set := memberMFASet(&p, upd, now, "members.email_id = c.method_id", "members.mfa_phone_id = c.method_id")
	var chLive, istLive, found bool
	var m auth.Member
	mt, finish := memberTargets(&m)
	err := db.pool.QueryRow(ctx, `
		WITH ch AS MATERIALIZED (
			SELECT id, member_id FROM challenges
			WHERE project_id = $1 AND id = $2 AND consumed_at IS NULL AND member_id IS NOT NULL
			FOR UPDATE
		), ist AS MATERIALIZED (
			SELECT i.id FROM intermediate_sessions i
			WHERE $3::text <> '' AND i.project_id = $1 AND i.id = $3 AND i.consumed_at IS NULL AND i.expires_at > `+now+`
				AND (i.member_id IS NULL OR i.member_id IN (SELECT member_id FROM ch))
			FOR UPDATE OF i
		), ok AS MATERIALIZED (
			SELECT EXISTS (SELECT 1 FROM ch) AS ch_live, ($3::text = '' OR EXISTS (SELECT 1 FROM ist)) AS ist_live
		), ci AS (
			UPDATE intermediate_sessions SET consumed_at = `+now+`
			FROM ok WHERE intermediate_sessions.id IN (SELECT id FROM ist) AND ok.ch_live AND ok.ist_live
		), c AS (
			UPDATE challenges SET consumed_at = `+now+`
			FROM ok WHERE challenges.id IN (SELECT id FROM ch) AND ok.ch_live AND ok.ist_live
			RETURNING challenges.member_id, challenges.method_id
		), m AS (
			UPDATE members SET `+set+`
			FROM c WHERE members.project_id = $1 AND members.id = c.member_id
			RETURNING `+memberColumns("members", false)+`
		)
		SELECT ok.ch_live, ok.ist_live, m.id IS NOT NULL, `+memberColumns("m", true)+`
		FROM ok LEFT JOIN m ON true`, p...).Scan(append([]any{&chLive, &istLive, &found}, mt...)...)
	if err != nil {
		return nil, internal(err)
	}
	switch {
	case !chLive:
		return nil, errOTPExpired
	case !istLive:
		return nil, errISTNotFound
	case !found:
		return nil, errOTPExpired // the member is gone (cascade): cannot happen in one snapshot
	}
	finish()
	return &m, nil
}

// ConsumeB2BMagicLink, in one statement, consumes the live B2B link (user
// id NULL: a discovery link when discovery is set, else a member link whose
// member still has the link's address) whose token hash is any of hashes and whose
// code_challenge equals verifierChallenge, and for a member link applies
// upd to the member (VerifyEmail only if the link went to the member's
// current email) and returns it with the link, whose EmailID is the
// member's. For a discovery link the member is nil. When nothing matched, a
// second query classifies like ConsumeMagicLink: EMagicLinkNotFound (no
// such B2B token: consumer links never match), EMagicLinkUsed or
// EPKCEMismatch.
func (db *DB) ConsumeB2BMagicLink(ctx context.Context, projectID string, hashes [][]byte, verifierChallenge string, discovery bool, upd auth.MemberMFAUpdate) (*auth.MagicLink, *auth.Member, error) {
	if len(hashes) == 0 {
		return nil, nil, errMagicLinkNotFound
	}
	at := db.clock()
	var p params
	p.add(projectID)
	p.add(hashes)
	p.add(verifierChallenge)
	now := p.add(at)
	set := memberMFASet(&p, upd, now, "members.email = l.email", "true")
	kind := b2bLinkKind(discovery)
	var ml auth.MagicLink
	var m auth.Member
	var found bool
	mt, finish := memberTargets(&m)
	targets := append([]any{&ml.ID, &ml.ProjectID, &ml.MemberID, &ml.OrganizationID, &ml.Email, &ml.Kind,
		&ml.TokenHash, &ml.CodeChallenge, &ml.ExpiresAt, &ml.ConsumedAt, &ml.CreatedAt, &found}, mt...)
	err := db.pool.QueryRow(ctx, `
		WITH l AS (
			UPDATE magic_links SET consumed_at = `+now+`
			WHERE project_id = $1 AND token_hash = ANY($2::bytea[]) AND consumed_at IS NULL
				AND expires_at > `+now+` AND code_challenge = $3 AND `+kind+`
			RETURNING id, project_id, COALESCE(member_id, '') AS member_id, COALESCE(organization_id, '') AS organization_id,
				email, kind, token_hash, code_challenge, expires_at, consumed_at, created_at
		), m AS (
			UPDATE members SET `+set+`
			FROM l WHERE members.project_id = $1 AND members.id = l.member_id
			RETURNING `+memberColumns("members", false)+`
		)
		SELECT l.id, l.project_id, l.member_id, l.organization_id, l.email, l.kind, l.token_hash, l.code_challenge,
			l.expires_at, l.consumed_at, l.created_at, m.id IS NOT NULL, `+memberColumns("m", true)+`
		FROM l LEFT JOIN m ON true LIMIT 1`, p...).Scan(targets...)
	if err == nil {
		if !found {
			return &ml, nil, nil
		}
		finish()
		ml.EmailID = m.EmailID
		return &ml, &m, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return nil, nil, internal(err)
	}
	return nil, nil, db.classifyMagicLink(ctx, projectID, hashes, verifierChallenge, at, kind)
}

// b2bLinkKind is the condition on magic_links rows a B2B consume may match:
// discovery links, or member links whose member still has the address the
// link was sent to (a link mailed to an old address dies with the change).
// Consumer links (user_id set) never match either.
func b2bLinkKind(discovery bool) string {
	if discovery {
		return `user_id IS NULL AND kind = 'discovery'`
	}
	return `user_id IS NULL AND kind <> 'discovery' AND EXISTS (SELECT 1 FROM members mm
		WHERE mm.project_id = magic_links.project_id AND mm.id = magic_links.member_id AND mm.email = magic_links.email)`
}

// RevokeMemberInvites deletes the unconsumed invite links of the member and
// returns how many there were. Their queued messages become DeliveryDead
// ("revoked"). One statement.
func (db *DB) RevokeMemberInvites(ctx context.Context, projectID, memberID string) (int, error) {
	tag, err := db.pool.Exec(ctx, `
		DELETE FROM magic_links
		WHERE project_id = $1 AND member_id = $2 AND kind = 'invite' AND consumed_at IS NULL`, projectID, memberID)
	if err != nil {
		return 0, internal(err)
	}
	return int(tag.RowsAffected()), nil
}
