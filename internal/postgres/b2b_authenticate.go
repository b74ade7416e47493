package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sesame-auth/sesame/internal/auth"
)

// lit is a constant of package auth as an SQL string literal (the
// constants hold no quote).
func lit(s string) string { return `'` + s + `'` }

// smsGateSQL is the condition, over the organization o, the member m and
// the IST i of CheckMemberSMS, under which the service's checks before an
// SMS code (checkSMSMember, istBoundTo, checkSMSProof) pass: the member is
// active, the organization allows it SMS codes (smsAllowed), the IST is
// bound to it and holds a primary factor the organization accepts
// (primaryOK, authMethodOf), and it has an MFA phone. NULL when the
// member or the IST is missing.
var smsGateSQL = `m.status = ` + lit(string(auth.MemberActive)) + `
	AND (o.mfa_methods <> ` + lit(auth.Restricted) + ` OR m.is_breakglass OR ` + lit(auth.MFAMethodSMS) + ` = ANY(o.allowed_mfa_methods))
	AND i.member_id = m.id AND i.organization_id = o.id
	AND EXISTS (SELECT 1 FROM jsonb_array_elements(i.factors) f
		CROSS JOIN LATERAL (SELECT CASE WHEN f ->> 'delivery_method' = ` + lit(auth.DeliveryEmail) + ` THEN
			CASE f ->> 'type' WHEN ` + lit(auth.FactorMagicLink) + ` THEN ` + lit(auth.AuthMethodMagicLink) + `
				WHEN ` + lit(auth.FactorOTP) + ` THEN ` + lit(auth.AuthMethodEmailOTP) + ` END END AS method) x
		WHERE x.method IS NOT NULL
			AND (o.auth_methods <> ` + lit(auth.Restricted) + ` OR m.is_breakglass OR x.method = ANY(o.allowed_auth_methods)))
	AND m.mfa_phone_id <> ''`

// CheckMemberSMS is a B2B SMS code check with an IST in one statement (see
// auth.MemberSMSCheck), after the verify limits when given (checked in
// the same statement once the member's phone is known: a refusal raises
// and writes nothing). The statement locks the IST (FOR UPDATE) before
// it counts the attempt, so that a concurrent consumer of the IST cannot
// leave the code consumed without it; the member and the session are
// written only if that very statement consumed the code, the member only
// if something changes (its updated_at stays otherwise). Its reads saw
// the rows before its writes: the member's new phone, enrollment and
// default MFA method come back from the UPDATE. EOrganizationNotFound.
func (db *DB) CheckMemberSMS(ctx context.Context, in auth.MemberSMSCheck) (*auth.MemberSMSOutcome, error) {
	now := db.clock()
	var p params
	project, at, macs, orgRef := p.add(in.ProjectID), p.add(now), p.add(in.MACs), p.add(in.OrgRef)
	gate, err := preGate(&p, in.Limits, auth.MFAPhoneLimitKey, "pre.mfa_phone_id", at)
	if err != nil {
		return nil, err
	}
	s := in.Session
	if s == nil || len(s.Factors) != 1 {
		return nil, internal(errors.New("CheckMemberSMS needs a session with the SMS factor"))
	}
	if s.CustomClaims == nil {
		s.CustomClaims = map[string]any{}
	}
	attrs, factors, claims, err := sessionJSON(s)
	if err != nil {
		return nil, internal(err)
	}
	f := p.add(factors) + `::jsonb`
	consumed := codeConsumed
	// The member's new enrollment and default MFA method; the row is
	// written only when something changes (an enrolled member's every
	// login changes nothing: no new row version, no index entries).
	newEnrolled := `CASE WHEN pre.mfa_policy = ` + lit(auth.MFARequiredForAll) + ` THEN true
					ELSE COALESCE(` + p.add(in.SetEnrolled) + `::boolean, members.mfa_enrolled) END`
	newDefault := `CASE WHEN ` + p.add(in.SetDefault) + `::boolean OR members.default_mfa_method = ''
					THEN ` + lit(auth.MFAMethodSMS) + ` ELSE members.default_mfa_method END`
	sql := `
		WITH o AS MATERIALIZED (
			SELECT * FROM organizations o WHERE o.project_id = ` + project + ` AND ` + orgRefCond(orgRef) + `
			ORDER BY ` + orgRefOrder(orgRef) + ` LIMIT 1
		), m AS MATERIALIZED (
			SELECT m.* FROM o CROSS JOIN LATERAL (
				SELECT * FROM ` + memberByRef("o.project_id", "o.id", p.add(in.MemberRef)) + ` m ORDER BY m.ref_pref LIMIT 1) m
		), i AS MATERIALIZED (
			SELECT id, organization_id, member_id, email, factors, expires_at, created_at FROM intermediate_sessions
			WHERE project_id = ` + project + ` AND token_hash = ANY(` + p.add(in.ISTHashes) + `::bytea[])
				AND consumed_at IS NULL AND expires_at > ` + at + `
			LIMIT 1 FOR UPDATE
		), pre AS MATERIALIZED (
			SELECT o.id AS org_id, o.mfa_policy, m.id AS member_id, m.mfa_phone_id, m.mfa_phone_number, i.id AS ist_id,
				i.factors AS ist_factors, COALESCE(` + smsGateSQL + `, false) AS ok
			FROM o LEFT JOIN m ON true LEFT JOIN i ON true
		), g AS MATERIALIZED (
			` + gate + `
		), ` + memberCodeCTEs(project, at, macs, p.add(in.MaxAttempts), "pre.mfa_phone_id") + `, ci AS (
			UPDATE intermediate_sessions SET consumed_at = ` + at + `
			WHERE id = (SELECT ist_id FROM pre) AND ` + consumed + `
		), mu AS (
			UPDATE members SET mfa_phone_verified = members.mfa_phone_verified OR members.mfa_phone_id = pre.mfa_phone_id,
				mfa_enrolled = ` + newEnrolled + `, default_mfa_method = ` + newDefault + `, updated_at = ` + at + `
			FROM pre WHERE members.project_id = ` + project + ` AND members.id = pre.member_id AND ` + consumed + `
				AND ((NOT members.mfa_phone_verified AND members.mfa_phone_id = pre.mfa_phone_id)
					OR members.mfa_enrolled <> ` + newEnrolled + ` OR members.default_mfa_method <> ` + newDefault + `)
			RETURNING members.mfa_phone_verified, members.mfa_enrolled, members.default_mfa_method, members.updated_at
		), s AS (
			INSERT INTO sessions (id, project_id, user_id, member_id, organization_id, token_hash, token_enc, started_at,
				last_accessed_at, expires_at, attributes, factors, custom_claims)
			SELECT ` + p.add(s.ID) + `, ` + project + `, NULL, pre.member_id, pre.org_id, ` + p.add(s.TokenHash) + `, ` +
		p.add(in.TokenEnc) + `, ` + p.add(s.StartedAt) + `, ` + p.add(s.LastAccessedAt) + `, ` + p.add(s.ExpiresAt) + `, ` +
		p.add(attrs) + `::jsonb,
				pre.ist_factors || jsonb_build_array((` + f + ` -> 0) ||
					jsonb_build_object('method_id', pre.mfa_phone_id, 'value', pre.mfa_phone_number)), ` + p.add(claims) + `::jsonb
			FROM pre WHERE ` + consumed + `
			RETURNING id
		)
		SELECT ` + orgColumns + `, m.id IS NOT NULL, ` + memberColumns("m", true) + `,
			i.id IS NOT NULL, COALESCE(i.id, ''), COALESCE(i.organization_id, ''), COALESCE(i.member_id, ''),
			COALESCE(i.email, ''), COALESCE(i.factors, '[]'), COALESCE(i.expires_at, 'epoch'), COALESCE(i.created_at, 'epoch'),
			pre.ok, c.id IS NOT NULL, COALESCE(c.id, ''), COALESCE(c.member_id, ''), COALESCE(c.channel, ''), c.code_hmac, COALESCE(c.attempts, 0),
			a.attempts, COALESCE(a.consumed, false), COALESCE(a.matched, false),
			mu.mfa_phone_verified, mu.mfa_enrolled, mu.default_mfa_method, mu.updated_at, EXISTS (SELECT 1 FROM s)
		FROM o CROSS JOIN pre LEFT JOIN m ON true LEFT JOIN i ON true LEFT JOIN c ON true LEFT JOIN a ON true LEFT JOIN mu ON true`
	var (
		org                     auth.Organization
		mem                     auth.Member
		ist                     auth.IntermediateSession
		ch                      auth.Challenge
		memberFound, istFound   bool
		chFound                 bool
		istFactors              []byte
		attempts                *int
		phoneVerified, enrolled *bool
		defaultMethod           *string
		updatedAt               *time.Time
		out                     auth.MemberSMSOutcome
	)
	ot, ofinish := orgTargets(&org)
	mt, mfinish := memberTargets(&mem)
	dest := append(append(append(ot, &memberFound), mt...),
		&istFound, &ist.ID, &ist.OrganizationID, &ist.MemberID, &ist.EmailAddress, &istFactors, &ist.ExpiresAt, &ist.CreatedAt,
		&out.Checked, &chFound, &ch.ID, &ch.MemberID, &ch.Channel, &ch.CodeHMAC, &ch.Attempts,
		&attempts, &out.Consumed, &out.Matched,
		&phoneVerified, &enrolled, &defaultMethod, &updatedAt, &out.SessionInserted)
	if err := db.scanMemberCheck(ctx, sql, p, dest, ofinish); err != nil {
		return nil, err
	}
	out.Organization = &org
	if memberFound {
		mfinish()
		if updatedAt != nil { // the statement's update of the member
			mem.MFAPhoneVerified, mem.MFAEnrolled, mem.DefaultMFAMethod, mem.UpdatedAt = *phoneVerified, *enrolled, *defaultMethod, *updatedAt
		}
		out.Member = &mem
	}
	if istFound {
		ist.ProjectID = in.ProjectID
		if err := json.Unmarshal(istFactors, &ist.Factors); err != nil {
			return nil, internal(err)
		}
		if ist.Factors == nil {
			ist.Factors = []auth.Factor{}
		}
		out.IST = &ist
	}
	if chFound {
		out.Challenge, out.Attempted = checkedCode(&ch, in.ProjectID, mem.MFAPhoneID, attempts, out.Consumed, now)
	}
	return &out, nil
}

// scanMemberCheck runs a one-statement member code check (CheckMemberSMS,
// CheckMemberEmailOTP) into dest and finishes the organization's columns
// (ofinish): no row is an unknown organization, a verify limit's refusal
// is returned as such (limitRefusal: a 429 with Retry-After), and any
// other failure is mapped as every B2B statement's is (mapB2BErr).
func (db *DB) scanMemberCheck(ctx context.Context, sql string, args, dest []any, ofinish func() error) error {
	err := db.pool.QueryRow(ctx, sql, args...).Scan(dest...)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return errOrganizationNotFound
	case limitRefusal(err) != nil:
		return limitRefusal(err)
	case err != nil:
		return mapB2BErr(err)
	}
	if err := ofinish(); err != nil {
		return internal(err)
	}
	return nil
}

// checkedCode completes the code a member code check read (memberCodeCTEs'
// c) with its project and method, and with what a did: attempts is the
// count after the check's attempt, nil when no attempt was counted (the
// code was dead), and a consumed code is stamped now. attempted reports
// whether the attempt was counted.
func checkedCode(ch *auth.Challenge, projectID, methodID string, attempts *int, consumed bool, now time.Time) (*auth.Challenge, bool) {
	ch.ProjectID, ch.MethodID = projectID, methodID
	if consumed {
		ch.ConsumedAt = &now
	}
	if attempts == nil {
		return ch, false
	}
	ch.Attempts = *attempts
	return ch, true
}

// codeConsumed is true in a statement built with memberCodeCTEs once its
// a consumed the code: the condition of every write that follows.
const codeConsumed = `EXISTS (SELECT 1 FROM a WHERE a.consumed)`

// memberCodeCTEs are the c and a parts of a one-statement member code
// check (CheckMemberSMS, CheckMemberEmailOTP): c is the newest code of the
// method whose id the SQL expression method yields (a column of pre),
// read only once the gate g let the check through; a counts its attempt
// before the compare and consumes it when one of macs matches and the
// code is pre's member's, unless it is consumed, expired or out of
// attempts. The statement's other parts read a's consumed and matched
// (codeConsumed).
func memberCodeCTEs(project, at, macs, maxAttempts, method string) string {
	return `c AS (
			SELECT t.id, t.member_id, t.channel, t.code_hmac, t.attempts FROM challenges t CROSS JOIN pre
			WHERE EXISTS (SELECT 1 FROM g) AND t.project_id = ` + project + ` AND t.method_id = ` + method + `
			ORDER BY t.created_at DESC, t.id DESC LIMIT 1
		), a AS (
			UPDATE challenges t SET attempts = t.attempts + 1,
				consumed_at = CASE WHEN t.code_hmac = ANY(` + macs + `::bytea[]) AND t.member_id = (SELECT member_id FROM pre)
					THEN ` + at + `::timestamptz END
			FROM c WHERE t.id = c.id AND t.project_id = ` + project + ` AND t.consumed_at IS NULL
				AND t.expires_at > ` + at + ` AND t.attempts < ` + maxAttempts + `
			RETURNING t.attempts, t.consumed_at IS NOT NULL AS consumed, t.code_hmac = ANY(` + macs + `::bytea[]) AS matched
		)`
}

// preGate returns the gate of a one-statement member check: a row when
// the CTE pre found what to check (pre.ok), after the verify limits when
// there are any (sesame_gcra_check, which raises a refusal and so writes
// nothing), their keys naming the checked method by placeholder (the key
// of the method, replaced with the column col of pre, whose id the
// request does not name).
func preGate(p *params, limits []auth.LimitKey, placeholder, col, at string) (string, error) {
	if len(limits) == 0 {
		return `SELECT 1 FROM pre WHERE pre.ok`, nil
	}
	names, emission, tolerance, err := limitArrays(limits)
	if err != nil {
		return "", err
	}
	return `SELECT sesame_gcra_check(ARRAY(SELECT replace(k.name, ` + p.add(placeholder) + `, ` + col + `)
			FROM unnest(` + p.add(names) + `::text[]) WITH ORDINALITY AS k(name, n) ORDER BY k.n),
		` + p.add(emission) + `::bigint[], ` + p.add(tolerance) + `::bigint[], ` + at + `::timestamptz)
		FROM pre WHERE pre.ok`, nil
}
