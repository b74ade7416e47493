package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sesame-auth/sesame/internal/auth"
)

var (
	errTOTPNotFound = &auth.Error{Code: auth.ETOTPNotFound, Message: "No usable TOTP registration was found."}
	errTOTPExists   = &auth.Error{Code: auth.ETOTPExists, Message: "A verified TOTP registration already exists; delete it first."}
	errTOTPLocked   = &auth.Error{Code: auth.ETOTPLocked, Message: "Too many wrong codes; try again later or use a recovery code."}
	errRecoveryCode = &auth.Error{Code: auth.ERecoveryCodeWrong, Field: "recovery_code", Message: "The recovery code is incorrect or was already used."}
)

const totpColumns = `id, project_id, COALESCE(user_id, ''), COALESCE(member_id, ''), COALESCE(organization_id, ''),
	secret_enc, verified, last_step, attempts, last_attempt_at, expires_at, created_at`

func scanTOTP(row pgx.Row) (*auth.TOTPRegistration, error) {
	var t auth.TOTPRegistration
	err := row.Scan(&t.ID, &t.ProjectID, &t.UserID, &t.MemberID, &t.OrganizationID, &t.SecretEnc, &t.Verified,
		&t.LastStep, &t.Attempts, &t.LastAttemptAt, &t.ExpiresAt, &t.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errTOTPNotFound
	}
	if err != nil {
		return nil, internal(err)
	}
	return &t, nil
}

// CreateTOTP, in one transaction: refuses when the owner has a verified
// registration (ETOTPExists), deletes its unverified ones, and inserts t
// with its recovery codes. EUserNotFound or EMemberNotFound when the owner
// is gone.
func (db *DB) CreateTOTP(ctx context.Context, t *auth.TOTPRegistration, codes []auth.RecoveryCode) error {
	if t.CreatedAt.IsZero() {
		t.CreatedAt = db.clock()
	}
	return db.inTx(ctx, func(tx pgx.Tx) error {
		var verified bool
		err := tx.QueryRow(ctx, `
			WITH owner AS (
				SELECT id, verified FROM totps
				WHERE project_id = $1 AND (user_id = NULLIF($2, '') OR member_id = NULLIF($3, ''))
				FOR UPDATE
			), del AS (
				DELETE FROM totps WHERE id IN (SELECT id FROM owner WHERE NOT verified)
				AND NOT EXISTS (SELECT 1 FROM owner WHERE verified)
			)
			SELECT EXISTS (SELECT 1 FROM owner WHERE verified)`, t.ProjectID, t.UserID, t.MemberID).Scan(&verified)
		if err != nil {
			return internal(err)
		}
		if verified {
			return errTOTPExists
		}
		b := &pgx.Batch{}
		b.Queue(`INSERT INTO totps (id, project_id, user_id, member_id, organization_id, secret_enc, verified, expires_at, created_at)
			VALUES ($1, $2, NULLIF($3, ''), NULLIF($4, ''), NULLIF($5, ''), $6, $7, $8, $9)`,
			t.ID, t.ProjectID, t.UserID, t.MemberID, t.OrganizationID, t.SecretEnc, t.Verified, t.ExpiresAt, t.CreatedAt)
		queueRecoveryCodes(b, t.ProjectID, t.ID, codes, t.CreatedAt)
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return mapTOTPErr(err)
		}
		return nil
	})
}

// queueRecoveryCodes queues one INSERT of every code.
func queueRecoveryCodes(b *pgx.Batch, projectID, totpID string, codes []auth.RecoveryCode, now time.Time) {
	ids := make([]string, len(codes))
	hashes := make([][]byte, len(codes))
	encs := make([][]byte, len(codes))
	for i, c := range codes {
		ids[i], hashes[i], encs[i] = c.ID, c.CodeHash, c.CodeEnc
	}
	b.Queue(`INSERT INTO totp_recovery_codes (id, project_id, totp_id, code_hash, code_enc, position, created_at)
		SELECT id, $1, $2, h, e, n, $6 FROM unnest($3::text[], $4::bytea[], $5::bytea[]) WITH ORDINALITY AS u(id, h, e, n)`,
		projectID, totpID, ids, hashes, encs, now)
}

func mapTOTPErr(err error) error {
	pe := pgError(err)
	if pe == nil {
		return internal(err)
	}
	switch {
	case pe.Code == sqlUniqueViolation && (pe.ConstraintName == "totps_user_verified_key" || pe.ConstraintName == "totps_member_verified_key"):
		return errTOTPExists
	case pe.Code == sqlForeignKeyViolation && pe.ConstraintName == "totps_user_fkey":
		return &auth.Error{Code: auth.EUserNotFound, Field: "user_id", Message: "User could not be found.", Err: err}
	case pe.Code == sqlForeignKeyViolation && pe.ConstraintName == "totps_member_fkey":
		return &auth.Error{Code: auth.EMemberNotFound, Field: "member_id", Message: "Member could not be found.", Err: err}
	}
	return mapB2BErr(err)
}

// FindUserTOTP returns the user's verified registration, else its newest
// unverified one. One statement. ETOTPNotFound.
func (db *DB) FindUserTOTP(ctx context.Context, projectID, userID string) (*auth.TOTPRegistration, error) {
	return scanTOTP(db.pool.QueryRow(ctx, `SELECT `+totpColumns+` FROM totps
		WHERE project_id = $1 AND user_id = $2 ORDER BY verified DESC, created_at DESC, id DESC LIMIT 1`, projectID, userID))
}

// FindMemberTOTP returns the member's verified registration, else its
// newest unverified one, within the organization. One statement.
// ETOTPNotFound.
func (db *DB) FindMemberTOTP(ctx context.Context, projectID, orgID, memberID string) (*auth.TOTPRegistration, error) {
	return scanTOTP(db.pool.QueryRow(ctx, `SELECT `+totpColumns+` FROM totps
		WHERE project_id = $1 AND organization_id = $2 AND member_id = $3
		ORDER BY verified DESC, created_at DESC, id DESC LIMIT 1`, projectID, orgID, memberID))
}

// AttemptTOTP records one attempt in one statement (see auth.TOTPStore):
// an UPDATE of the registration gated on its usability, its lock and the
// IST's liveness, which accepts a newer step or counts the attempt; then,
// only on acceptance, the IST is consumed and the member updated. When the
// UPDATE matched nothing, a second query picks the error.
func (db *DB) AttemptTOTP(ctx context.Context, projectID string, at auth.TOTPAttempt, now time.Time) (*auth.TOTPAttemptResult, error) {
	var p params
	p.add(projectID)
	p.add(at.TOTPID)
	p.add(at.Step)
	p.add(now)
	p.add(now.Add(-at.Lockout))
	p.add(at.MaxAttempts)
	p.add(at.ISTID)
	p.add(at.Member != nil)
	upd := auth.MemberMFAUpdate{}
	if at.Member != nil {
		upd = *at.Member
	}
	set := memberMFASet(&p, upd, "$4", "false", "false")
	var updated, accepted, istOK, found bool
	var m auth.Member
	mt, finish := memberTargets(&m)
	err := db.pool.QueryRow(ctx, `
		WITH t AS (
			UPDATE totps SET
				last_step = GREATEST(last_step, $3::bigint),
				verified = verified OR $3::bigint > last_step,
				attempts = CASE WHEN $3::bigint > last_step THEN 0
					WHEN last_attempt_at IS NOT NULL AND last_attempt_at <= $5 THEN 1
					ELSE attempts + 1 END,
				last_attempt_at = CASE WHEN $3::bigint > last_step THEN NULL ELSE $4 END
			WHERE project_id = $1 AND id = $2 AND (verified OR expires_at > $4)
				AND (attempts < $6 OR last_attempt_at <= $5)
				AND ($7::text = '' OR EXISTS (
					SELECT 1 FROM intermediate_sessions i
					WHERE i.project_id = $1 AND i.id = $7 AND i.consumed_at IS NULL AND i.expires_at > $4
						AND i.member_id = totps.member_id AND i.organization_id = totps.organization_id))
			RETURNING member_id, attempts, last_step
		), acc AS MATERIALIZED (
			SELECT member_id FROM t WHERE $3::bigint > 0 AND t.attempts = 0 AND t.last_step = $3::bigint
		), ci AS (
			UPDATE intermediate_sessions SET consumed_at = $4
			WHERE $7::text <> '' AND project_id = $1 AND id = $7 AND consumed_at IS NULL
				AND member_id IN (SELECT member_id FROM acc)
			RETURNING id
		), m AS (
			UPDATE members SET `+set+`
			FROM acc WHERE $8::boolean AND members.project_id = $1 AND members.id = acc.member_id
				AND ($7::text = '' OR EXISTS (SELECT 1 FROM ci))
			RETURNING `+memberColumns("members", false)+`
		)
		SELECT EXISTS (SELECT 1 FROM t), EXISTS (SELECT 1 FROM acc), ($7::text = '' OR EXISTS (SELECT 1 FROM ci)),
			m.id IS NOT NULL, `+memberColumns("m", true)+`
		FROM (SELECT 1) one LEFT JOIN m ON true`, p...).Scan(append([]any{&updated, &accepted, &istOK, &found}, mt...)...)
	if err != nil {
		return nil, mapTOTPErr(err)
	}
	if !updated {
		return nil, db.classifyTOTP(ctx, projectID, at, now)
	}
	res := &auth.TOTPAttemptResult{Outcome: auth.TOTPWrongCode}
	switch {
	case accepted && !istOK:
		return nil, errISTNotFound // the IST was consumed concurrently; the step is spent
	case accepted:
		res.Outcome = auth.TOTPAccepted
		if found {
			finish()
			m.TOTPRegistrationID = at.TOTPID
			res.Member = &m
		}
	case at.Step > 0:
		res.Outcome = auth.TOTPReplay
	}
	return res, nil
}

// classifyTOTP tells why AttemptTOTP matched nothing.
func (db *DB) classifyTOTP(ctx context.Context, projectID string, at auth.TOTPAttempt, now time.Time) error {
	var usable, locked bool
	var lastAttempt *time.Time
	err := db.pool.QueryRow(ctx, `SELECT verified OR expires_at > $3,
			attempts >= $4 AND (last_attempt_at IS NULL OR last_attempt_at > $5), last_attempt_at
		FROM totps WHERE project_id = $1 AND id = $2`,
		projectID, at.TOTPID, now, at.MaxAttempts, now.Add(-at.Lockout)).Scan(&usable, &locked, &lastAttempt)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return errTOTPNotFound
	case err != nil:
		return internal(err)
	case !usable:
		return errTOTPNotFound
	case locked:
		// The lock lifts Lockout after the last counted attempt.
		wait := at.Lockout
		if lastAttempt != nil {
			wait = lastAttempt.Add(at.Lockout).Sub(now)
		}
		e := *errTOTPLocked
		e.RetryAfter = max(wait, time.Second)
		return &e
	}
	return errISTNotFound
}

// ListRecoveryCodes returns the registration's unused codes in the order
// they were issued.
func (db *DB) ListRecoveryCodes(ctx context.Context, projectID, totpID string) ([]auth.RecoveryCode, error) {
	rows, err := db.pool.Query(ctx, `SELECT id, totp_id, code_hash, code_enc, created_at FROM totp_recovery_codes
		WHERE project_id = $1 AND totp_id = $2 AND used_at IS NULL ORDER BY position, id`, projectID, totpID)
	if err != nil {
		return nil, internal(err)
	}
	defer rows.Close()
	var out []auth.RecoveryCode
	for rows.Next() {
		var c auth.RecoveryCode
		if err := rows.Scan(&c.ID, &c.TOTPID, &c.CodeHash, &c.CodeEnc, &c.CreatedAt); err != nil {
			return nil, internal(err)
		}
		out = append(out, c)
	}
	return out, internal(rows.Err())
}

// ConsumeRecoveryCode, in one statement: marks the unused code used (only
// while its registration is usable and, with istID, the IST live and bound
// to the registration's member), resets the registration's attempts,
// consumes the IST and applies upd to the member. A second query tells a
// wrong code from a dead IST. ERecoveryCodeWrong, EISTNotFound.
func (db *DB) ConsumeRecoveryCode(ctx context.Context, projectID, totpID string, hashes [][]byte, istID string, upd *auth.MemberMFAUpdate, now time.Time) (*auth.RecoveryCode, int, *auth.Member, error) {
	if len(hashes) == 0 {
		return nil, 0, nil, errRecoveryCode
	}
	var p params
	p.add(projectID)
	p.add(totpID)
	p.add(hashes)
	p.add(now)
	p.add(istID)
	p.add(upd != nil)
	u := auth.MemberMFAUpdate{}
	if upd != nil {
		u = *upd
	}
	set := memberMFASet(&p, u, "$4", "false", "false")
	var (
		rc        auth.RecoveryCode
		consumed  bool
		remaining int
		found     bool
		m         auth.Member
		rcID      string
		rcCreated time.Time
	)
	mt, finish := memberTargets(&m)
	err := db.pool.QueryRow(ctx, `
		WITH rc AS (
			UPDATE totp_recovery_codes SET used_at = $4
			WHERE id = (
				SELECT c.id FROM totp_recovery_codes c JOIN totps t ON t.id = c.totp_id
				WHERE c.project_id = $1 AND c.totp_id = $2 AND c.code_hash = ANY($3::bytea[]) AND c.used_at IS NULL
					AND (t.verified OR t.expires_at > $4)
					AND ($5::text = '' OR EXISTS (
						SELECT 1 FROM intermediate_sessions i
						WHERE i.project_id = $1 AND i.id = $5 AND i.consumed_at IS NULL AND i.expires_at > $4
							AND i.member_id = t.member_id AND i.organization_id = t.organization_id))
				LIMIT 1)
			AND used_at IS NULL
			RETURNING id, totp_id, created_at
		), t AS (
			UPDATE totps SET attempts = 0, last_attempt_at = NULL
			FROM rc WHERE totps.id = rc.totp_id
			RETURNING totps.member_id
		), ci AS (
			UPDATE intermediate_sessions SET consumed_at = $4
			WHERE $5::text <> '' AND project_id = $1 AND id = $5 AND consumed_at IS NULL
				AND member_id IN (SELECT member_id FROM t)
			RETURNING id
		), m AS (
			UPDATE members SET `+set+`
			FROM t WHERE $6::boolean AND members.project_id = $1 AND members.id = t.member_id
				AND ($5::text = '' OR EXISTS (SELECT 1 FROM ci))
			RETURNING `+memberColumns("members", false)+`
		)
		SELECT EXISTS (SELECT 1 FROM rc) AND ($5::text = '' OR EXISTS (SELECT 1 FROM ci)),
			COALESCE((SELECT id FROM rc), ''), COALESCE((SELECT created_at FROM rc), 'epoch'),
			(SELECT count(*) FROM totp_recovery_codes WHERE project_id = $1 AND totp_id = $2 AND used_at IS NULL)
				- (SELECT count(*) FROM rc),
			m.id IS NOT NULL, `+memberColumns("m", true)+`
		FROM (SELECT 1) one LEFT JOIN m ON true`, p...).Scan(append([]any{&consumed, &rcID, &rcCreated, &remaining, &found}, mt...)...)
	if err != nil {
		return nil, 0, nil, mapTOTPErr(err)
	}
	if !consumed {
		if rcID != "" {
			return nil, 0, nil, errISTNotFound // consumed concurrently: the code is spent
		}
		if istID != "" {
			var live bool
			if err := db.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM intermediate_sessions
				WHERE project_id = $1 AND id = $2 AND consumed_at IS NULL AND expires_at > $3)`, projectID, istID, now).Scan(&live); err != nil {
				return nil, 0, nil, internal(err)
			}
			if !live {
				return nil, 0, nil, errISTNotFound
			}
		}
		return nil, 0, nil, errRecoveryCode
	}
	rc.ID, rc.TOTPID, rc.CreatedAt, rc.UsedAt = rcID, totpID, rcCreated, &now
	var mp *auth.Member
	if found {
		finish()
		mp = &m
	}
	return &rc, remaining, mp, nil
}

// ReplaceRecoveryCodes deletes the registration's codes and inserts codes,
// in one transaction. ETOTPNotFound.
func (db *DB) ReplaceRecoveryCodes(ctx context.Context, projectID, totpID string, codes []auth.RecoveryCode) error {
	now := db.clock()
	return db.inTx(ctx, func(tx pgx.Tx) error {
		var ok bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM totps WHERE project_id = $1 AND id = $2 FOR UPDATE)`,
			projectID, totpID).Scan(&ok); err != nil {
			return internal(err)
		}
		if !ok {
			return errTOTPNotFound
		}
		b := &pgx.Batch{}
		b.Queue(`DELETE FROM totp_recovery_codes WHERE project_id = $1 AND totp_id = $2`, projectID, totpID)
		queueRecoveryCodes(b, projectID, totpID, codes, now)
		return internal(tx.SendBatch(ctx, b).Close())
	})
}

// DeleteUserTOTP deletes a user's registration (its codes cascade) and
// returns the user id. One statement. ETOTPNotFound.
func (db *DB) DeleteUserTOTP(ctx context.Context, projectID, totpID string) (string, error) {
	var userID string
	err := db.pool.QueryRow(ctx, `DELETE FROM totps WHERE project_id = $1 AND id = $2 AND user_id IS NOT NULL
		RETURNING user_id`, projectID, totpID).Scan(&userID)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", errTOTPNotFound
	}
	if err != nil {
		return "", internal(err)
	}
	return userID, nil
}

// DeleteMemberTOTP deletes every registration of the member and reports
// whether one was verified. One statement.
func (db *DB) DeleteMemberTOTP(ctx context.Context, projectID, memberID string) (bool, error) {
	var had bool
	err := db.pool.QueryRow(ctx, `WITH d AS (DELETE FROM totps WHERE project_id = $1 AND member_id = $2 RETURNING verified)
		SELECT COALESCE(bool_or(verified), false) FROM d`, projectID, memberID).Scan(&had)
	if err != nil {
		return false, internal(err)
	}
	return had, nil
}

// memberTOTPColumn is the member's verified registration id (” when
// none), appended to memberColumns: an index lookup per member row.
func memberTOTPColumn(alias string) string {
	return `COALESCE((SELECT t.id FROM totps t WHERE t.project_id = ` + alias + `.project_id AND t.member_id = ` + alias +
		`.id AND t.verified LIMIT 1), '')`
}

// readUserTOTPs reads the registrations queued by queueMethodsWhere.
func readUserTOTPs(br pgx.BatchResults, users map[string]*auth.User) error {
	rows, err := br.Query()
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var t auth.TOTP
		var userID string
		if err := rows.Scan(&t.ID, &userID, &t.Verified); err != nil {
			return err
		}
		if u := users[userID]; u != nil {
			u.TOTPs = append(u.TOTPs, t)
		}
	}
	return rows.Err()
}
