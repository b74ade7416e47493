package postgres_test

import (
	"testing"
	"time"

	"github.com/sesame-auth/sesame/internal/postgres"
)

func TestPruneBatches(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := ctxT(t)
	now := e.clock.Now()
	old := now.Add(-postgres.RateLimitRetention - time.Hour)
	tests := []struct {
		name       string
		old, fresh int
	}{
		{"FewerThanABatchAllPrunedInOneStatement", 3, 2},
		{"ExactlyABatchAllPruned", postgres.PruneBatchSize, 1},
		{"SeveralBatchesAllPrunedFreshKept", 2*postgres.PruneBatchSize + 7, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := e.db.Pool().Exec(ctx, `TRUNCATE rate_limits`); err != nil {
				t.Fatal(err)
			}
			if _, err := e.db.Pool().Exec(ctx, `INSERT INTO rate_limits (key, window_start, n)
				SELECT 'k' || i, CASE WHEN i <= $1::int THEN $3::timestamptz ELSE $4::timestamptz END, 1
				FROM generate_series(1, $1::int + $2::int) i`, tt.old, tt.fresh, old, now); err != nil {
				t.Fatal(err)
			}
			n, err := e.db.Prune(ctx, now)
			if err != nil {
				t.Fatal(err)
			}
			var left int
			if err := e.db.Pool().QueryRow(ctx, `SELECT count(*) FROM rate_limits`).Scan(&left); err != nil {
				t.Fatal(err)
			}
			if n != int64(tt.old) || left != tt.fresh {
				t.Fatalf("pruned %d, %d left; want %d, %d", n, left, tt.old, tt.fresh)
			}
		})
	}
}
