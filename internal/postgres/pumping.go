package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sesame-auth/sesame/internal/auth"
)

// JudgeSMSSend judges one SMS send against each subject at the store's
// clock, in one statement (the sesame_sms_send function of migration
// 0007): each subject's guard row is created or locked, and its state
// recomputed from its sent and verified counts over the window (one-minute
// buckets of the UNLOGGED table sms_traffic, not before the row's since;
// sends younger than cfg.Settle are not judged yet). The counts come from
// the triggers on challenges (sesame_sms_count): a code is counted as sent
// when it is created and as verified when it is consumed.
func (db *DB) JudgeSMSSend(ctx context.Context, projectID, region string, subjects []auth.GuardSubject, cfg auth.PumpingConfig) ([]auth.GuardVerdict, error) {
	n := len(subjects)
	if n == 0 {
		return nil, nil
	}
	kinds, names := make([]string, n), make([]string, n)
	tMin, bMin := make([]int32, n), make([]int32, n)
	tBelow, bBelow := make([]float64, n), make([]float64, n)
	for i, s := range subjects {
		kinds[i], names[i] = s.Kind, s.Subject
		tMin[i], tBelow[i] = int32(max(s.Thresholds.ThrottleMinSends, 0)), s.Thresholds.ThrottleBelow
		bMin[i], bBelow[i] = int32(max(s.Thresholds.BlockMinSends, 0)), s.Thresholds.BlockBelow
	}
	rows, err := db.pool.Query(ctx, `
		SELECT kind, subject, old_state, new_state, sent, verified, refused, retry_after_us
		FROM sesame_sms_send($1, $2::text[], $3::text[], $4, $5::timestamptz, $6::bigint * interval '1 microsecond',
			$7::integer[], $8::float8[], $9::integer[], $10::float8[],
			$11::bigint * interval '1 microsecond', $12::bigint * interval '1 microsecond', $13::bigint * interval '1 microsecond')`,
		projectID, kinds, names, region, db.clock(), cfg.Window.Microseconds(),
		tMin, tBelow, bMin, bBelow, cfg.ThrottleEvery.Microseconds(), cfg.BlockFor.Microseconds(), max(cfg.Settle, 0).Microseconds())
	if err != nil {
		return nil, internal(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (auth.GuardVerdict, error) {
		var v auth.GuardVerdict
		var before, after string
		var sent, verified, wait int64
		err := r.Scan(&v.Kind, &v.Subject, &before, &after, &sent, &verified, &v.Refused, &wait)
		v.Before, v.After = auth.GuardState(before), auth.GuardState(after)
		v.Sent, v.Verified, v.RetryAfter = int(sent), int(verified), time.Duration(wait)*time.Microsecond
		return v, err
	})
	if err != nil {
		return nil, internal(err)
	}
	return out, nil
}

// guardColumns reads a guard row with its counts over a window ($2) that
// ends at now ($3): g is sms_guards.
const guardColumns = `g.kind, g.subject, g.region, g.state, g.since, g.changed_at, g.blocked_until, g.lifted_at, g.updated_at,
	coalesce((SELECT sum(t.sent) FROM sms_traffic t WHERE t.project_id = g.project_id AND t.kind = g.kind AND t.subject = g.subject
		AND t.bucket > $3::timestamptz - $2::bigint * interval '1 microsecond' AND t.bucket >= date_trunc('minute', g.since)), 0),
	coalesce((SELECT sum(t.verified) FROM sms_traffic t WHERE t.project_id = g.project_id AND t.kind = g.kind AND t.subject = g.subject
		AND t.bucket > $3::timestamptz - $2::bigint * interval '1 microsecond' AND t.bucket >= date_trunc('minute', g.since)), 0)`

func scanGuard(r pgx.Row) (*auth.SMSGuard, error) {
	var g auth.SMSGuard
	var state string
	var sent, verified int64
	if err := r.Scan(&g.Kind, &g.Subject, &g.Region, &state, &g.Since, &g.ChangedAt, &g.BlockedUntil, &g.LiftedAt, &g.UpdatedAt, &sent, &verified); err != nil {
		return nil, err
	}
	g.State, g.Sent, g.Verified = auth.GuardState(state), int(sent), int(verified)
	return &g, nil
}

// ListSMSGuards returns the project's guard rows (only throttled and
// blocked ones unless f.All) with their counts over window: blocked
// first, then throttled, then by last activity.
func (db *DB) ListSMSGuards(ctx context.Context, projectID string, window time.Duration, f auth.GuardFilter) ([]*auth.SMSGuard, error) {
	rows, err := db.pool.Query(ctx, `
		SELECT `+guardColumns+`
		FROM sms_guards g
		WHERE g.project_id = $1 AND ($4 OR g.state <> 'ok')
		ORDER BY CASE g.state WHEN 'blocked' THEN 0 WHEN 'throttled' THEN 1 ELSE 2 END, g.updated_at DESC, g.kind, g.subject
		LIMIT $5`, projectID, window.Microseconds(), db.clock(), f.All, f.Limit)
	if err != nil {
		return nil, internal(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*auth.SMSGuard, error) { return scanGuard(r) })
	if err != nil {
		return nil, internal(err)
	}
	return out, nil
}

// LiftSMSGuard sets a subject back to ok with its evidence restarting at
// the next minute's bucket (sends of the current minute no longer count).
// ENotFound when the project has no record of it.
func (db *DB) LiftSMSGuard(ctx context.Context, projectID, kind, subject string, window time.Duration) (*auth.SMSGuard, error) {
	now := db.clock()
	g, err := scanGuard(db.pool.QueryRow(ctx, `
		WITH g AS (
			UPDATE sms_guards SET state = 'ok', since = date_trunc('minute', $3::timestamptz) + interval '1 minute', changed_at = $3, blocked_until = NULL, next_send_at = NULL, lifted_at = $3, updated_at = $3
			WHERE project_id = $1 AND kind = $4 AND subject = $5
			RETURNING *
		)
		SELECT `+guardColumns+` FROM g`, projectID, window.Microseconds(), now, kind, subject))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound(auth.ENotFound, "subject", "No SMS guard record for this subject.")
	}
	if err != nil {
		return nil, internal(err)
	}
	return g, nil
}
