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
