package postgres

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

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

// limitedRow runs sql, a statement returning one row scanned into dest,
// after the GCRA check of keys (sesame_gcra_check of migration 0009), in
// one pipelined batch: one round trip, one implicit transaction. When a
// key refuses, the check raises, so the statement does not run and nothing
// is written: it returns a *auth.LimitRefusal. Without keys it is a plain
// QueryRow. Errors are pgx's (pgx.ErrNoRows when the statement returned no
// row, after the limits were counted).
func (db *DB) limitedRow(ctx context.Context, keys []auth.LimitKey, now time.Time, sql string, args []any, dest ...any) error {
	if len(keys) == 0 {
		return db.pool.QueryRow(ctx, sql, args...).Scan(dest...)
	}
	names, emission, tolerance, err := limitArrays(keys)
	if err != nil {
		return err
	}
	b := &pgx.Batch{}
	b.Queue(`SELECT sesame_gcra_check($1::text[], $2::bigint[], $3::bigint[], $4::timestamptz)`, names, emission, tolerance, now)
	b.Queue(sql, args...)
	br := db.pool.SendBatch(ctx, b)
	defer br.Close()
	if _, err := br.Exec(); err != nil {
		if r := limitRefusal(err); r != nil {
			return r
		}
		return err
	}
	err = br.QueryRow().Scan(dest...)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return err
	}
	if cerr := br.Close(); cerr != nil {
		return cerr
	}
	return err
}

// limitRefusal reads sesame_gcra_check's refusal (SQLSTATE SL429, detail
// "index:retry_after_us", the index 1-based); nil for any other error.
func limitRefusal(err error) *auth.LimitRefusal {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "SL429" {
		return nil
	}
	i, wait, _ := strings.Cut(pe.Detail, ":")
	n, _ := strconv.Atoi(i)
	us, _ := strconv.ParseInt(wait, 10, 64)
	return &auth.LimitRefusal{Index: n - 1, RetryAfter: time.Duration(us) * time.Microsecond}
}
