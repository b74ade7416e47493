package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sesame-auth/sesame/internal/auth"
)

// A verify costs one round trip: one pgx batch (one implicit transaction:
// the statements run in order and all roll back if one fails) holding
//   - the statement that counts the attempt, compares and consumes (and
//     marks the method verified, activates the user and, if asked, inserts
//     the new session, all in one CTE, so that nothing is written unless the
//     code or link was consumed by that very statement);
//   - the reads of the user, its emails, phones and TOTPs, selected through
//     the row the first statement consumed (they return nothing otherwise).

// sessionInsert returns a data-modifying CTE inserting s (when s is not nil)
// for the user_id of the consumed row selected by from, with factor 0's
// fields overwritten by the jsonb object the SQL expression patch yields
// (what only the consumed row tells: the method's value, a link's method).
func sessionInsert(p *params, s *auth.Session, tokenEnc []byte, from, projectRef, patch string) (string, error) {
	if s == nil {
		return "", nil
	}
	if s.CustomClaims == nil {
		s.CustomClaims = map[string]any{}
	}
	attrs, factors, claims, err := sessionJSON(s)
	if err != nil {
		return "", err
	}
	f := p.add(factors) + `::jsonb`
	return `, s AS (
		INSERT INTO sessions (id, project_id, user_id, token_hash, token_enc, started_at, last_accessed_at, expires_at,
			attributes, factors, custom_claims)
		SELECT ` + p.add(s.ID) + `, ` + projectRef + `, user_id, ` + p.add(s.TokenHash) + `, ` + p.add(tokenEnc) + `, ` +
		p.add(s.StartedAt) + `, ` + p.add(s.LastAccessedAt) + `, ` + p.add(s.ExpiresAt) + `, ` + p.add(attrs) + `::jsonb,
			jsonb_set(` + f + `, '{0}', (` + f + ` -> 0) || ` + patch + `), ` + p.add(claims) + `::jsonb
		FROM ` + from + `)`, nil
}

// methodValueSQL is the address or number of the method whose id the SQL
// expression method yields, or "".
func methodValueSQL(projectRef, method string) string {
	return `COALESCE((SELECT address FROM emails WHERE project_id = ` + projectRef + ` AND id = ` + method + `),
		(SELECT number FROM phone_numbers WHERE project_id = ` + projectRef + ` AND id = ` + method + `), '')`
}

// userJSON is a jsonb object of the user u with its emails, phones and
// TOTPs (decodeUserJSON reads it), for a verify that reads its user in the
// statement that consumes the code.
const userJSON = `jsonb_build_object('id', u.id, 'project_id', u.project_id, 'status', u.status,
	'first_name', u.first_name, 'middle_name', u.middle_name, 'last_name', u.last_name, 'external_id', u.external_id,
	'trusted', u.trusted_metadata, 'untrusted', u.untrusted_metadata, 'created_at', u.created_at, 'updated_at', u.updated_at,
	'emails', COALESCE((SELECT jsonb_agg(jsonb_build_object('id', x.id, 'address', x.address, 'verified', x.verified,
		'created_at', x.created_at, 'updated_at', x.updated_at) ORDER BY x.created_at, x.id)
		FROM emails x WHERE x.project_id = u.project_id AND x.user_id = u.id), '[]'),
	'phones', COALESCE((SELECT jsonb_agg(jsonb_build_object('id', x.id, 'number', x.number, 'verified', x.verified,
		'created_at', x.created_at, 'updated_at', x.updated_at) ORDER BY x.created_at, x.id)
		FROM phone_numbers x WHERE x.project_id = u.project_id AND x.user_id = u.id), '[]'),
	'totps', COALESCE((SELECT jsonb_agg(jsonb_build_object('id', x.id, 'verified', x.verified) ORDER BY x.created_at, x.id)
		FROM totps x WHERE x.project_id = u.project_id AND x.user_id = u.id), '[]'))`

// decodeUserJSON reads a userJSON object as scanUser and readMethods would
// (times in the local zone, as pgx scans them).
func decodeUserJSON(b []byte) (*auth.User, error) {
	type method struct {
		ID, Address, Number string
		Verified            bool
		Created             time.Time `json:"created_at"`
		Updated             time.Time `json:"updated_at"`
	}
	var j struct {
		ID                 string          `json:"id"`
		ProjectID          string          `json:"project_id"`
		Status             auth.UserStatus `json:"status"`
		First              string          `json:"first_name"`
		Middle             string          `json:"middle_name"`
		Last               string          `json:"last_name"`
		ExternalID         string          `json:"external_id"`
		Trusted, Untrusted json.RawMessage
		Created            time.Time `json:"created_at"`
		Updated            time.Time `json:"updated_at"`
		Emails, Phones     []method
		TOTPs              []auth.TOTP `json:"totps"`
	}
	if err := json.Unmarshal(b, &j); err != nil {
		return nil, err
	}
	obj := func(m json.RawMessage) []byte {
		if len(m) == 0 || string(m) == "null" {
			return []byte("{}")
		}
		return m
	}
	u := &auth.User{ID: j.ID, ProjectID: j.ProjectID, Status: j.Status, ExternalID: j.ExternalID,
		TrustedMetadata: obj(j.Trusted), UntrustedMetadata: obj(j.Untrusted), CreatedAt: j.Created.Local(), UpdatedAt: j.Updated.Local(),
		Emails: []auth.Email{}, Phones: []auth.Phone{}}
	if len(j.TOTPs) > 0 {
		u.TOTPs = j.TOTPs
	}
	u.Name.First, u.Name.Middle, u.Name.Last = j.First, j.Middle, j.Last
	for _, e := range j.Emails {
		u.Emails = append(u.Emails, auth.Email{ID: e.ID, UserID: u.ID, Address: e.Address, Verified: e.Verified,
			CreatedAt: e.Created.Local(), UpdatedAt: e.Updated.Local()})
	}
	for _, p := range j.Phones {
		u.Phones = append(u.Phones, auth.Phone{ID: p.ID, UserID: u.ID, Number: p.Number, Verified: p.Verified,
			CreatedAt: p.Created.Local(), UpdatedAt: p.Updated.Local()})
	}
	return u, nil
}

// markVerified applies to u what a consuming verify statement wrote: the
// method verified and a pending user activated, each stamped now if it
// changed.
func markVerified(u *auth.User, methodID string, now time.Time) {
	now = now.Truncate(time.Microsecond).Local()
	if u.Status != auth.UserActive {
		u.Status, u.UpdatedAt = auth.UserActive, now
	}
	for i := range u.Emails {
		if e := &u.Emails[i]; e.ID == methodID && !e.Verified {
			e.Verified, e.UpdatedAt = true, now
		}
	}
	for i := range u.Phones {
		if p := &u.Phones[i]; p.ID == methodID && !p.Verified {
			p.Verified, p.UpdatedAt = true, now
		}
	}
}

// queueUserOf queues the reads of the user (and its methods) whose id the
// SQL expression userExpr (over args) yields.
func queueUserOf(b *pgx.Batch, userExpr string, args ...any) {
	b.Queue(`SELECT `+userColumns+` FROM users u WHERE u.project_id = $1 AND u.id = (`+userExpr+`)`, args...)
	queueMethodsWhere(b, `user_id = (`+userExpr+`)`, args...)
}

// readUserOf reads what queueUserOf queued: nil when no user matched.
func readUserOf(br pgx.BatchResults) (*auth.User, error) {
	u, err := scanUser(br.QueryRow())
	if errors.Is(err, pgx.ErrNoRows) {
		u = &auth.User{} // the method reads still have to be consumed
	} else if err != nil {
		return nil, err
	}
	if err := readMethods(br, map[string]*auth.User{u.ID: u}); err != nil {
		return nil, err
	}
	if u.ID == "" {
		return nil, nil
	}
	return u, nil
}

// VerifyCode counts one attempt on the method's newest challenge if it is
// live, compares its code_hmac with in.MACs in the same UPDATE and, when it
// matches (and belongs to in.UserID, if set), consumes it, marks the method
// verified, activates the user and inserts in.Session for that user: one
// statement, read back with the user in the same round trip. in.Limits,
// when given, are checked at the head of the same round trip
// (limitedRow): a refusal is a *auth.LimitRefusal and counts no attempt.
// EOTPNotFound when the method never had a user's challenge, EOTPExpired
// when the newest one is dead.
func (db *DB) VerifyCode(ctx context.Context, in auth.VerifyCodeInput) (*auth.VerifyCodeResult, error) {
	now := db.clock()
	var p params
	project, method, at, macs := p.add(in.ProjectID), p.add(in.MethodID), p.add(now), p.add(in.MACs)
	sess, err := sessionInsert(&p, in.Session, in.TokenEnc, "a WHERE consumed", project,
		`jsonb_build_object('delivery_method', a.channel, 'value', `+methodValueSQL(project, method)+`)`)
	if err != nil {
		return nil, internal(err)
	}
	sql := `
		WITH c AS (
			SELECT id, user_id, member_id, channel, code_hmac, attempts, expires_at, created_at FROM challenges
			WHERE project_id = ` + project + ` AND method_id = ` + method + `
			ORDER BY created_at DESC, id DESC LIMIT 1
		), a AS (
			UPDATE challenges t SET attempts = t.attempts + 1,
				consumed_at = CASE WHEN t.code_hmac = ANY(` + macs + `::bytea[]) AND ` + p.add(in.UserID) + ` IN ('', t.user_id)
					THEN ` + at + `::timestamptz END
			FROM c WHERE t.id = c.id AND t.project_id = ` + project + ` AND t.user_id IS NOT NULL
				AND t.consumed_at IS NULL AND t.expires_at > ` + at + ` AND t.attempts < ` + p.add(in.MaxAttempts) + `
			RETURNING t.user_id, t.channel, t.attempts, t.consumed_at IS NOT NULL AS consumed, t.code_hmac = ANY(` + macs + `::bytea[]) AS matched
		), e AS (
			UPDATE emails SET verified = true, updated_at = ` + at + `
			WHERE project_id = ` + project + ` AND id = ` + method + ` AND NOT verified AND EXISTS (SELECT 1 FROM a WHERE consumed)
		), ph AS (
			UPDATE phone_numbers SET verified = true, updated_at = ` + at + `
			WHERE project_id = ` + project + ` AND id = ` + method + ` AND NOT verified AND EXISTS (SELECT 1 FROM a WHERE consumed)
		), u AS (
			UPDATE users SET status = 'active', updated_at = ` + at + `
			WHERE project_id = ` + project + ` AND id IN (SELECT user_id FROM a WHERE consumed) AND status <> 'active'
		)` + sess + `
		SELECT c.id, COALESCE(c.user_id, ''), COALESCE(c.member_id, ''), c.channel, c.code_hmac, COALESCE(a.attempts, c.attempts),
			c.expires_at, c.created_at, a.user_id IS NOT NULL, COALESCE(a.consumed, false), COALESCE(a.matched, false),
			(SELECT ` + userJSON + ` FROM users u WHERE u.project_id = ` + project + ` AND u.id = a.user_id AND a.consumed)
		FROM c LEFT JOIN a ON true`
	c := &auth.Challenge{ProjectID: in.ProjectID, MethodID: in.MethodID}
	var attempted bool
	var user []byte
	res := &auth.VerifyCodeResult{Challenge: c}
	err = db.limitedRow(ctx, in.Limits, now, sql, p, &c.ID, &c.UserID, &c.MemberID, &c.Channel, &c.CodeHMAC, &c.Attempts, &c.ExpiresAt,
		&c.CreatedAt, &attempted, &res.Consumed, &res.Matched, &user)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil, errOTPNotFound
	case errors.As(err, new(*auth.LimitRefusal)):
		return nil, err
	case err != nil:
		return nil, mapB2BErr(err)
	}
	if user != nil {
		// The statement's reads saw the rows before its own writes: apply
		// them (exactly the CTEs' e, ph and u) to what it returned.
		if res.User, err = decodeUserJSON(user); err != nil {
			return nil, internal(err)
		}
		markVerified(res.User, in.MethodID, now)
	}
	switch {
	case c.MemberID != "":
		return nil, errOTPNotFound // a member's code: only the B2B routes take it
	case !attempted:
		return nil, errOTPExpired
	case res.Consumed:
		c.ConsumedAt = &now
	}
	return res, nil
}

// AuthenticateMagicLink consumes the live link as ConsumeMagicLink does and,
// in the same statement, inserts sess (if not nil) for the link's user,
// reading the user back in the same round trip. The error path costs a
// second query to classify the failure, as ConsumeMagicLink's.
func (db *DB) AuthenticateMagicLink(ctx context.Context, projectID string, hashes [][]byte, verifierChallenge string,
	sess *auth.Session, tokenEnc []byte) (*auth.MagicLink, *auth.User, error) {
	if len(hashes) == 0 {
		return nil, nil, errMagicLinkNotFound
	}
	now := db.clock()
	var p params
	project, hs, at := p.add(projectID), p.add(hashes), p.add(now)
	si, err := sessionInsert(&p, sess, tokenEnc, "l", project, `CASE WHEN l.kind = 'embedded'
		THEN jsonb_build_object('delivery_method', 'embedded', 'method_id', l.id, 'value', '')
		ELSE jsonb_build_object('delivery_method', 'email', 'method_id', l.email_id, 'value', `+methodValueSQL(project, "l.email_id")+`) END`)
	if err != nil {
		return nil, nil, internal(err)
	}
	b := &pgx.Batch{}
	b.Queue(`
		WITH l AS (
			UPDATE magic_links SET consumed_at = `+at+`
			WHERE project_id = `+project+` AND token_hash = ANY(`+hs+`::bytea[]) AND consumed_at IS NULL
				AND expires_at > `+at+` AND code_challenge = `+p.add(verifierChallenge)+` AND user_id IS NOT NULL
			RETURNING id, project_id, user_id, email_id, kind, token_hash, code_challenge, expires_at, consumed_at, created_at
		), e AS (
			UPDATE emails SET verified = true, updated_at = `+at+`
			WHERE project_id = `+project+` AND id IN (SELECT email_id FROM l) AND NOT verified
		), u AS (
			UPDATE users SET status = 'active', updated_at = `+at+`
			WHERE project_id = `+project+` AND id IN (SELECT user_id FROM l) AND status <> 'active'
		)`+si+`
		SELECT * FROM l LIMIT 1`, p...)
	queueUserOf(b, `SELECT user_id FROM magic_links WHERE project_id = $1 AND token_hash = ANY($2::bytea[])
		AND consumed_at = $3 AND user_id IS NOT NULL LIMIT 1`, projectID, hashes, now)
	br := db.pool.SendBatch(ctx, b)
	defer br.Close()
	var ml auth.MagicLink
	var emailID *string
	err = br.QueryRow().Scan(&ml.ID, &ml.ProjectID, &ml.UserID, &emailID, &ml.Kind, &ml.TokenHash, &ml.CodeChallenge,
		&ml.ExpiresAt, &ml.ConsumedAt, &ml.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		if err := br.Close(); err != nil {
			return nil, nil, internal(err)
		}
		return nil, nil, db.classifyMagicLink(ctx, projectID, hashes, verifierChallenge, now, "user_id IS NOT NULL")
	} else if err != nil {
		return nil, nil, mapB2BErr(err)
	}
	if emailID != nil {
		ml.EmailID = *emailID
	}
	u, err := readUserOf(br)
	if err != nil {
		return nil, nil, internal(err)
	}
	if err := br.Close(); err != nil {
		return nil, nil, mapB2BErr(err)
	}
	if u == nil {
		return nil, nil, errUserNotFound
	}
	return &ml, u, nil
}
