package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sesame-auth/sesame/internal/auth"
)

// Send runs a consumer send in one round trip: one pipelined batch, which
// Postgres runs as one implicit transaction. Its first statement checks
// the limits (sesame_gcra_check of migration 0009 raises when one refuses,
// so the whole batch, and with it the send, writes nothing). Its second
// statement, one CTE, judges an SMS send with the pumping guard
// (sesame_sms_send), resolves the recipient or creates the user and its
// method, and, unless the guard refused, inserts the code (or link) and
// its outbox message. A lost race creating the same recipient (unique
// violation) rolls everything back and runs the batch once more, which
// then finds the winner's row. An unknown recipient that is not created
// returns the outcome (the guard's verdicts) with EEmailNotFound or
// EPhoneNotFound.
func (db *DB) Send(ctx context.Context, p *auth.Project, req *auth.SendRequest) (*auth.SendOutcome, error) {
	for try := 0; ; try++ {
		out, err := db.send(ctx, p, req)
		if try == 0 && isUniqueViolation(err) {
			continue
		}
		return out, err
	}
}

func (db *DB) send(ctx context.Context, p *auth.Project, req *auth.SendRequest) (*auth.SendOutcome, error) {
	now := db.clock()
	b := &pgx.Batch{}
	if len(req.Limits) > 0 {
		names, emission, tolerance, err := limitArrays(req.Limits)
		if err != nil {
			return nil, err
		}
		b.Queue(`SELECT sesame_gcra_check($1::text[], $2::bigint[], $3::bigint[], $4::timestamptz)`, names, emission, tolerance, now)
	}
	sql, args, err := db.sendSQL(p, req, now)
	if err != nil {
		return nil, err
	}
	b.Queue(sql, args...)
	br := db.pool.SendBatch(ctx, b)
	defer br.Close()
	out := &auth.SendOutcome{Denied: -1}
	if len(req.Limits) > 0 {
		if _, err := br.Exec(); err != nil {
			var pe *pgconn.PgError
			if errors.As(err, &pe) && pe.Code == "SL429" {
				i, wait, _ := strings.Cut(pe.Detail, ":")
				n, _ := strconv.Atoi(i)
				us, _ := strconv.ParseInt(wait, 10, 64)
				out.Denied, out.RetryAfter = n-1, time.Duration(us)*time.Microsecond
				return out, nil
			}
			return nil, internal(err)
		}
	}
	var ok, issued bool
	var userID, methodID, status *string
	var created *bool
	var verdicts []byte
	err = br.QueryRow().Scan(&ok, &issued, &userID, &methodID, &status, &created, &verdicts)
	if err != nil {
		if isUniqueViolation(err) {
			return nil, err
		}
		return nil, mapB2BErr(err)
	}
	if err := br.Close(); err != nil {
		return nil, mapB2BErr(err)
	}
	if len(verdicts) > 0 {
		if out.Verdicts, err = readVerdicts(verdicts); err != nil {
			return nil, internal(err)
		}
	}
	if m := req.Member; m != nil {
		if methodID == nil && ok {
			return out, errMemberNotFound
		}
		if req.UpdateMember && ok {
			m.UpdatedAt, m.TrustedMetadata, m.UntrustedMetadata = now, rawObject(m.TrustedMetadata), rawObject(m.UntrustedMetadata)
		}
		out.Found, out.Issued, out.MethodID = ok, issued, req.Challenge.MethodID
		return out, nil
	}
	if userID == nil {
		return out, methodNotFound(req.Channel)
	}
	out.Found, out.Issued, out.UserID, out.MethodID, out.Status, out.Created = true, issued, *userID, *methodID, auth.UserStatus(*status), *created
	return out, nil
}

// limitArrays are HitLimits' arguments.
func limitArrays(keys []auth.LimitKey) ([]string, []int64, []int64, error) {
	names := make([]string, len(keys))
	emission := make([]int64, len(keys))
	tolerance := make([]int64, len(keys))
	for i, k := range keys {
		if k.Key == "" || k.Emission <= 0 || k.Tolerance < 0 {
			return nil, nil, nil, auth.Invalid("limit", "A limit needs a key, a positive emission interval and a tolerance of at least 0.")
		}
		names[i], emission[i], tolerance[i] = k.Key, durUS(k.Emission), tolerance64(k.Tolerance)
	}
	return names, emission, tolerance, nil
}

// sendSQL builds the send's CTE: guard (optional) → ok → existing → u →
// m → r → the code or link → its message, then one row: whether the
// guard let the send through, the recipient (NULLs when not found) and
// the guard's verdicts as JSON.
func (db *DB) sendSQL(p *auth.Project, req *auth.SendRequest, now time.Time) (string, []any, error) {
	table, col, prefix, err := methodTable(req.Channel)
	if err != nil {
		return "", nil, err
	}
	status := auth.UserActive
	if req.Pending {
		status = auth.UserPending
	}
	var a params
	if req.Member != nil && req.UpdateMember {
		a = append(a, memberArgs(req.Member)...) // $1..$18 of updateMemberSQL
		a = append(a, now)                       // $19
	}
	pid := a.add(p.ID)
	// now is a parameter only where the statement uses it: an unused
	// parameter has no type, and Postgres refuses the statement (a member
	// code with the guard off used none).
	var nowRef string
	now_ := func() string {
		if nowRef == "" {
			nowRef = a.add(now)
		}
		return nowRef
	}
	var sb strings.Builder
	sb.WriteString(`WITH `)
	if g := req.Guard; g != nil && len(g.Subjects) > 0 {
		n := len(g.Subjects)
		kinds, names := make([]string, n), make([]string, n)
		tMin, bMin := make([]int32, n), make([]int32, n)
		tBelow, bBelow := make([]float64, n), make([]float64, n)
		for i, s := range g.Subjects {
			kinds[i], names[i] = s.Kind, s.Subject
			tMin[i], tBelow[i] = int32(max(s.Thresholds.ThrottleMinSends, 0)), s.Thresholds.ThrottleBelow
			bMin[i], bBelow[i] = int32(max(s.Thresholds.BlockMinSends, 0)), s.Thresholds.BlockBelow
		}
		us := func(d time.Duration) string { return a.add(d.Microseconds()) + `::bigint * interval '1 microsecond'` }
		sb.WriteString(`guard AS MATERIALIZED (
			SELECT * FROM sesame_sms_send(` + pid + `, ` + a.add(kinds) + `::text[], ` + a.add(names) + `::text[], ` + a.add(g.Region) + `, ` +
			now_() + `::timestamptz, ` + us(g.Config.Window) + `, ` + a.add(tMin) + `::integer[], ` + a.add(tBelow) + `::float8[], ` +
			a.add(bMin) + `::integer[], ` + a.add(bBelow) + `::float8[], ` + us(g.Config.ThrottleEvery) + `, ` + us(g.Config.BlockFor) + `, ` +
			us(max(g.Config.Settle, 0)) + `)
		), ok AS (SELECT NOT coalesce(bool_or(refused), false) AS go FROM guard), `)
	} else {
		sb.WriteString(`guard AS (SELECT NULL::text AS kind, NULL::text AS subject, NULL::text AS old_state, NULL::text AS new_state,
			NULL::bigint AS sent, NULL::bigint AS verified, NULL::boolean AS refused, NULL::bigint AS retry_after_us WHERE false),
		ok AS (SELECT true AS go), `)
	}
	if req.Member != nil {
		memberRecipient(&sb, &a, req)
	} else {
		newMethodID := req.NewMethodID
		if newMethodID == "" {
			newMethodID = auth.NewID(prefix, p)
		}
		val, st := a.add(req.Value), a.add(string(status))
		// The new user's search columns (migration 0013) hold its one
		// unverified method from the start, so the method insert's trigger
		// finds them current and writes no second version of the row.
		searchCol, searchFlag := "search_phones", "search_phone_unverified"
		if table == "emails" {
			searchCol, searchFlag = "search_emails", "search_email_unverified"
		}
		sb.WriteString(`existing AS (
			SELECT m.user_id, m.id, u.status FROM ` + table + ` m
			JOIN users u ON u.project_id = m.project_id AND u.id = m.user_id
			WHERE m.project_id = ` + pid + ` AND m.` + col + ` = ` + val + `
		), u AS (
			INSERT INTO users (id, project_id, status, created_at, updated_at, ` + searchCol + `, ` + searchFlag + `)
			SELECT ` + a.add(auth.NewID(auth.PrefixUser, p)) + `, ` + pid + `, ` + st + `, ` + now_() + `, ` + now_() + `, ` + val + `, true
			WHERE ` + a.add(req.Create) + `::bool AND (SELECT go FROM ok) AND NOT EXISTS (SELECT 1 FROM existing)
			RETURNING id
		), m AS (
			INSERT INTO ` + table + ` (id, project_id, user_id, ` + col + `, verified, created_at, updated_at)
			SELECT ` + a.add(newMethodID) + `, ` + pid + `, u.id, ` + val + `, false, ` + now_() + `, ` + now_() + ` FROM u
			RETURNING user_id, id
		), r AS (
			SELECT user_id, id, status, false AS created FROM existing
			UNION ALL
			SELECT user_id, id, ` + st + `, true FROM m
		), `)
	}
	msg := req.Message
	payload := a.add(req.Payload)
	var memberID any
	if req.Member != nil {
		memberID = req.Member.ID
	}
	switch {
	case req.Challenge != nil:
		c := req.Challenge
		c.Attempts, c.ConsumedAt = 0, nil
		if c.CreatedAt.IsZero() {
			c.CreatedAt = now
		}
		exp := a.add(c.ExpiresAt)
		// A member's code is bound to its challenge (CodeHMAC set); a
		// consumer code to its method: the MAC for the method created now
		// or for the one the service expected, else no code (Issued false).
		var mac, bound string
		if c.CodeHMAC != nil {
			mac = a.add(c.CodeHMAC)
		} else {
			known := a.add(req.KnownMethodID)
			mac = `CASE WHEN r.created THEN ` + a.add(req.NewMethodMAC) + `::bytea WHEN r.id = ` + known + `::text THEN ` +
				a.add(req.KnownMethodMAC) + `::bytea END`
			bound = ` AND (r.created OR r.id = ` + known + `::text)`
		}
		sb.WriteString(`c AS (
			INSERT INTO challenges (id, project_id, user_id, member_id, method_id, channel, code_hmac, attempts, expires_at, created_at, sms_counted)
			SELECT ` + a.add(c.ID) + `, ` + pid + `, r.user_id, ` + a.add(memberID) + `::text, r.id, ` + a.add(string(c.Channel)) + `, ` +
			mac + `, 0, ` + exp + `, ` + a.add(c.CreatedAt) + `, ` + a.add(!c.SMSUncounted) + `::bool FROM r WHERE (SELECT go FROM ok)` + bound + `
			RETURNING id, user_id, member_id, expires_at, created_at, false AS signup
		)`)
		if msg != nil {
			msg.ChallengeID, msg.ExpiresAt = c.ID, c.ExpiresAt
		}
	case req.Link != nil:
		l := req.Link
		l.ConsumedAt = nil
		if l.CreatedAt.IsZero() {
			l.CreatedAt = now
		}
		sb.WriteString(`c AS (
			INSERT INTO magic_links (id, project_id, user_id, member_id, organization_id, email, email_id, kind, token_hash,
				code_challenge, expires_at, created_at)
			SELECT ` + a.add(l.ID) + `, ` + pid + `, r.user_id, NULL, NULL, ` + a.add(l.Email) + `, r.id,
				CASE WHEN r.created THEN ` + a.add(string(req.SignupKind)) + ` ELSE ` + a.add(string(l.Kind)) + ` END, ` +
			a.add(l.TokenHash) + `, ` + a.add(l.CodeChallenge) + `,
				CASE WHEN r.created THEN ` + a.add(req.SignupExpires) + `::timestamptz ELSE ` + a.add(l.ExpiresAt) + `::timestamptz END, ` +
			a.add(l.CreatedAt) + ` FROM r WHERE (SELECT go FROM ok)
			RETURNING id, user_id, member_id, expires_at, created_at, kind = ` + a.add(string(req.SignupKind)) + ` AS signup
		)`)
		if msg != nil {
			msg.ChallengeID = l.ID
		}
		if req.SignupPayload != nil {
			payload = `CASE WHEN c.signup THEN ` + a.add(req.SignupPayload) + `::bytea ELSE ` + payload + `::bytea END`
		}
	default:
		return "", nil, errors.New("postgres: a send needs a challenge or a link")
	}
	if msg != nil {
		// The message and its outbox row, which holds the payload
		// (migrations 0018 and 0020): two rows.
		id := a.add(msg.ID)
		sb.WriteString(`, msg AS (
			INSERT INTO messages (id, project_id, user_id, member_id, kind, channel, recipient, status, challenge_id,
				publish_gen, expires_at, created_at, updated_at)
			SELECT ` + id + `, ` + pid + `, c.user_id, c.member_id, ` + a.add(string(msg.Kind)) + `, ` + a.add(string(msg.Channel)) + `, ` +
			a.add(msg.Recipient) + `, 'queued', c.id, 0, c.expires_at, c.created_at, c.created_at FROM c
		), mo AS (
			INSERT INTO message_outbox (message_id, expires_at, queued_at, payload)
			SELECT ` + id + `, c.expires_at, c.created_at, ` + payload + `::bytea FROM c
		)`)
	}
	sb.WriteString(`
		SELECT (SELECT go FROM ok), (SELECT count(*) FROM c) > 0, r.user_id, r.id, r.status, r.created,
			(SELECT json_agg(json_build_object('kind', kind, 'subject', subject, 'old', old_state, 'new', new_state, 'sent', sent,
				'verified', verified, 'refused', refused, 'wait', retry_after_us)) FROM guard)
		FROM ok LEFT JOIN r ON true`)
	return sb.String(), a, nil
}

// readVerdicts decodes the guard's verdicts of sendSQL.
func readVerdicts(b []byte) ([]auth.GuardVerdict, error) {
	var rows []struct {
		Kind, Subject, Old, New string
		Sent, Verified          int64
		Refused                 bool
		Wait                    int64
	}
	if err := json.Unmarshal(b, &rows); err != nil {
		return nil, err
	}
	out := make([]auth.GuardVerdict, len(rows))
	for i, r := range rows {
		out[i] = auth.GuardVerdict{Kind: r.Kind, Subject: r.Subject, Before: auth.GuardState(r.Old), After: auth.GuardState(r.New),
			Sent: int(r.Sent), Verified: int(r.Verified), Refused: r.Refused, RetryAfter: time.Duration(r.Wait) * time.Microsecond}
	}
	return out, nil
}

// memberRecipient writes the recipient part of a member's code: the
// member's row is updated first when asked (updateMemberSQL, $1..$19, only
// if the guard lets the send through), and r is the member's method, or
// nothing when the updated member is gone.
func memberRecipient(sb *strings.Builder, a *params, req *auth.SendRequest) {
	method := a.add(req.Challenge.MethodID)
	if !req.UpdateMember {
		sb.WriteString(`r AS (SELECT NULL::text AS user_id, ` + method + `::text AS id, ''::text AS status, false AS created), `)
		return
	}
	sb.WriteString(`um AS (` + updateMemberSQL + ` AND (SELECT go FROM ok) RETURNING id
		), r AS (SELECT NULL::text AS user_id, ` + method + `::text AS id, ''::text AS status, false AS created WHERE EXISTS (SELECT 1 FROM um)), `)
}
