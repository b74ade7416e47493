package postgres

import (
	"context"
	"time"

	"github.com/sesame-auth/sesame/internal/auth"
)

// HitLimits checks keys in order with GCRA at the store's clock, in one
// statement (the sesame_gcra_hit function of migration 0007): each key
// conforms when its theoretical arrival time (TAT) is at most Tolerance
// ahead of now, and then moves on by Emission. The first key that does not
// conform refuses the request, and then no key is changed: a refused
// request uses no capacity. It returns the index of the refusing key (-1
// when the request conforms) and how long until that key conforms again.
// The state lives in the UNLOGGED table rate_limit_tats, shared by every
// api replica.
func (db *DB) HitLimits(ctx context.Context, keys []auth.LimitKey) (int, time.Duration, error) {
	if len(keys) == 0 {
		return -1, 0, nil
	}
	names, emission, tolerance, err := limitArrays(keys)
	if err != nil {
		return 0, 0, err
	}
	var denied int
	var waitUS int64
	err = db.pool.QueryRow(ctx, `SELECT denied, retry_after_us FROM sesame_gcra_hit($1::text[], $2::bigint[], $3::bigint[], $4::timestamptz)`,
		names, emission, tolerance, db.clock()).Scan(&denied, &waitUS)
	if err != nil {
		return 0, 0, internal(err)
	}
	return denied - 1, time.Duration(waitUS) * time.Microsecond, nil
}

// durUS is d in whole microseconds, rounded up (an emission interval is
// never shortened, so a limit is never exceeded by rounding).
func durUS(d time.Duration) int64 {
	us := int64(d / time.Microsecond)
	if d%time.Microsecond != 0 {
		us++
	}
	return us
}

// tolerance64 is d in whole microseconds, rounded down.
func tolerance64(d time.Duration) int64 { return int64(d / time.Microsecond) }

// HitRateLimit adds one hit to key's fixed window of length window that
// contains now (windows are aligned on the Unix epoch with date_bin) and
// returns the hits counted in that window, this one included. One
// statement. Windows are pruned a day after they start, so windows longer
// than 24 hours are not supported (EInvalid), nor are non-positive ones.
//
// The service no longer uses it (a fixed window lets twice the limit
// through across a window edge): sends are limited by HitLimits.
func (db *DB) HitRateLimit(ctx context.Context, key string, window time.Duration) (int, error) {
	if window <= 0 || window > 24*time.Hour {
		return 0, auth.Invalid("window", "The rate-limit window must be between 1µs and 24h.")
	}
	var n int
	err := db.pool.QueryRow(ctx, `
		INSERT INTO rate_limits (key, window_start, n)
		VALUES ($1, date_bin($2::bigint * interval '1 microsecond', $3::timestamptz, timestamptz 'epoch'), 1)
		ON CONFLICT (key, window_start) DO UPDATE SET n = rate_limits.n + 1
		RETURNING n`, key, window.Microseconds(), db.clock()).Scan(&n)
	if err != nil {
		return 0, internal(err)
	}
	return n, nil
}
