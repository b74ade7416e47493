package postgres

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sesame-auth/sesame/internal/auth"
)

var (
	errOTPExpired  = &auth.Error{Code: auth.EOTPExpired, Field: "code", Message: "The one-time passcode has expired, was already used or had too many attempts. Request a new one."}
	errOTPNotFound = &auth.Error{Code: auth.EOTPNotFound, Field: "method_id", Message: "No one-time passcode was sent to this method."}
)

// params collects positional arguments while a statement is built.
type params []any

func (p *params) add(v any) string {
	*p = append(*p, v)
	return "$" + strconv.Itoa(len(*p))
}

// insertMessage fills the store-owned fields of a new outbox message and
// returns, to follow a WITH clause's first query, its INSERT with that of
// its outbox row, which holds the payload (migrations 0018 and 0020), with
// challengeRef/userRef/memberRef naming the parameters that already hold
// the challenge (or link) id, the user id and the member id (either may be
// NULL).
func insertMessage(p *params, m *auth.Message, payload []byte, kind auth.EventKind, ch auth.Channel,
	projectID, challengeRef, userRef, memberRef string, challengeID string, expires, now time.Time) string {
	m.ProjectID = projectID
	m.ChallengeID = challengeID
	m.Status = auth.MessageQueued
	if m.Kind == "" {
		m.Kind = kind
	}
	if m.Channel == "" {
		m.Channel = ch
	}
	if m.ExpiresAt.IsZero() {
		m.ExpiresAt = expires
	}
	if m.CreatedAt.IsZero() {
		m.CreatedAt = now
	}
	m.UpdatedAt = m.CreatedAt
	m.Attempts, m.ProviderID, m.LastError, m.SentAt = 0, "", "", nil
	id, exp, at := p.add(m.ID), p.add(m.ExpiresAt), p.add(m.CreatedAt)
	return `, msg AS (INSERT INTO messages (id, project_id, user_id, member_id, kind, channel, recipient, status, challenge_id,
			publish_gen, expires_at, created_at, updated_at)
		VALUES (` + id + `, ` + p.add(projectID) + `, ` + userRef + `, ` + memberRef + `, ` + p.add(string(m.Kind)) + `, ` +
		p.add(string(m.Channel)) + `, ` + p.add(m.Recipient) + `, 'queued', ` + challengeRef + `, 0, ` + exp + `, ` + at + `, ` + at + `)
		)
		INSERT INTO message_outbox (message_id, expires_at, queued_at, payload)
		VALUES (` + id + `, ` + exp + `, ` + at + `, ` + p.add(payload) + `::bytea)`
}

// CreateChallenge inserts the challenge and, when m is not nil, its outbox
// message (status queued, publish generation 0, with the encrypted payload)
// in one statement. A zero c.CreatedAt is set to now. The store sets m's
// ProjectID, ChallengeID (c.ID), Status, and, where zero, Kind (otp),
// Channel, ExpiresAt (c's) and CreatedAt. EUserNotFound if the user is gone.
//
// A member's code (c.MemberID set) is stored with user_id NULL and its
// member_id, and so is its message; EMemberNotFound if the member is gone.
func (db *DB) CreateChallenge(ctx context.Context, c *auth.Challenge, m *auth.Message, payload []byte) error {
	now := db.clock()
	if c.CreatedAt.IsZero() {
		c.CreatedAt = now
	}
	c.Attempts, c.ConsumedAt = 0, nil
	// A user's code keeps user_id "" (not NULL) when unset, so that it
	// still fails on the users foreign key (EUserNotFound).
	var userID, memberID any = c.UserID, nil
	if c.MemberID != "" {
		userID, memberID = nil, c.MemberID
	}
	var p params
	sql := `INSERT INTO challenges (id, project_id, user_id, member_id, method_id, channel, code_hmac, attempts, expires_at, created_at, sms_counted)
		VALUES (` + p.add(c.ID) + `, ` + p.add(c.ProjectID) + `, ` + p.add(userID) + `::text, ` + p.add(memberID) + `::text, ` +
		p.add(c.MethodID) + `, ` + p.add(string(c.Channel)) + `, ` + p.add(c.CodeHMAC) + `, 0, ` + p.add(c.ExpiresAt) + `, ` +
		p.add(c.CreatedAt) + `, ` + p.add(!c.SMSUncounted) + `::bool)`
	if m != nil {
		sql = `WITH c AS (` + sql + `) ` +
			insertMessage(&p, m, payload, auth.KindOTP, c.Channel, c.ProjectID, "$1", "$3", "$4", c.ID, c.ExpiresAt, c.CreatedAt)
	}
	if _, err := db.pool.Exec(ctx, sql, p...); err != nil {
		return mapB2BErr(err)
	}
	return nil
}

// challengeColumns reads user_id and member_id as "" when NULL.
const challengeColumns = `id, project_id, COALESCE(user_id, ''), COALESCE(member_id, ''), method_id, channel, code_hmac,
	attempts, expires_at, consumed_at, created_at`

// AttemptChallenge counts one attempt on the method's newest challenge
// (created_at desc, id desc) if it is live: unconsumed, unexpired and with
// fewer than maxAttempts attempts. One UPDATE; a second query runs only
// when it matched nothing, to tell EOTPNotFound (the method never had a
// challenge) from EOTPExpired (the newest one is dead). limits, when
// given, are checked at the head of the same round trip (limitedRow): a
// refusal is a *auth.LimitRefusal and counts no attempt.
func (db *DB) AttemptChallenge(ctx context.Context, projectID, methodID string, maxAttempts int, limits ...auth.LimitKey) (*auth.Challenge, error) {
	var c auth.Challenge
	now := db.clock()
	err := db.limitedRow(ctx, limits, now, `
		UPDATE challenges SET attempts = attempts + 1
		WHERE id = (
			SELECT id FROM challenges WHERE project_id = $1 AND method_id = $2
			ORDER BY created_at DESC, id DESC LIMIT 1
		) AND consumed_at IS NULL AND expires_at > $3 AND attempts < $4
		RETURNING `+challengeColumns,
		[]any{projectID, methodID, now, maxAttempts},
		&c.ID, &c.ProjectID, &c.UserID, &c.MemberID, &c.MethodID, &c.Channel, &c.CodeHMAC, &c.Attempts, &c.ExpiresAt, &c.ConsumedAt, &c.CreatedAt)
	if err == nil {
		return &c, nil
	}
	if errors.As(err, new(*auth.LimitRefusal)) {
		return nil, err
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return nil, internal(err)
	}
	var exists bool
	if err := db.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM challenges WHERE project_id = $1 AND method_id = $2)`,
		projectID, methodID).Scan(&exists); err != nil {
		return nil, internal(err)
	}
	if exists {
		return nil, errOTPExpired
	}
	return nil, errOTPNotFound
}

// ConsumeChallenge, in one statement, marks the challenge consumed if it is
// still unconsumed, marks its method (email or phone, by method_id)
// verified and activates its user. EOTPExpired if it was already consumed
// (or does not exist, or is a member's code: see ConsumeMemberChallenge).
func (db *DB) ConsumeChallenge(ctx context.Context, projectID, challengeID string) error {
	var ok bool
	err := db.pool.QueryRow(ctx, `
		WITH c AS (
			UPDATE challenges SET consumed_at = $3
			WHERE project_id = $1 AND id = $2 AND consumed_at IS NULL AND user_id IS NOT NULL
			RETURNING user_id, method_id
		), e AS (
			UPDATE emails SET verified = true, updated_at = $3
			WHERE project_id = $1 AND id IN (SELECT method_id FROM c) AND NOT verified
		), p AS (
			UPDATE phone_numbers SET verified = true, updated_at = $3
			WHERE project_id = $1 AND id IN (SELECT method_id FROM c) AND NOT verified
		), u AS (
			UPDATE users SET status = 'active', updated_at = $3
			WHERE project_id = $1 AND id IN (SELECT user_id FROM c) AND status <> 'active'
		)
		SELECT true FROM c`, projectID, challengeID, db.clock()).Scan(&ok)
	if errors.Is(err, pgx.ErrNoRows) {
		return errOTPExpired
	}
	if err != nil {
		return internal(err)
	}
	return nil
}
