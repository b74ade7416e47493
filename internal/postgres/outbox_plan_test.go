package postgres_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/internal/pgtest"
	"github.com/sesame-auth/sesame/internal/postgres"
)

// TestMarkPublishedReadsNoExpiryIndex marks a backlog published in the
// state production leaves the outbox in: statistics taken while it was
// empty (its rows leave within milliseconds of their insert), then
// thousands of rows (a burst, or a NATS outage being caught up). Every
// mark runs on the same connection, often enough for a cached generic
// plan. A generic plan made for the empty table walked
// message_outbox_expires_idx once per id (the ids matched its second
// column), seconds of CPU per mark of 1,000 ids; a mark must not touch
// that index at all.
func TestMarkPublishedReadsNoExpiryIndex(t *testing.T) {
	t.Parallel()
	db := pgtest.MustOpenDB(t, postgres.WithMaxConns(1))
	ctx := ctxT(t)
	exec := func(sql string) {
		t.Helper()
		if _, err := db.Pool().Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	const churn, backlog, marks, batch = 20000, 3000, 10, 100
	insert := fmt.Sprintf(`INSERT INTO message_outbox (message_id, expires_at, queued_at)
		SELECT 'message-test-' || g || '-' || gen_random_uuid(), now() + interval '10 minutes', now()
		FROM generate_series(1, %d) g`, backlog)
	// Rows come and go: the table has pages, and no live row when
	// statistics are taken.
	exec(fmt.Sprintf(`INSERT INTO message_outbox (message_id, expires_at, queued_at)
		SELECT 'message-test-' || gen_random_uuid(), now(), now() FROM generate_series(1, %d) g`, churn))
	exec(`DELETE FROM message_outbox`)
	exec(`ANALYZE message_outbox`)
	exec(insert)
	// The one connection's statistics reach the shared counters when it
	// goes idle after pg_stat_force_next_flush; counters waits until they
	// show deleted rows deleted.
	counters := func(deleted int64) (scans, reads int64) {
		t.Helper()
		var del int64
		for deadline := time.Now().Add(10 * time.Second); ; {
			exec(`SELECT pg_stat_force_next_flush()`)
			wantCode(t, db.Pool().QueryRow(ctx, `
				SELECT t.n_tup_del, i.idx_scan, i.idx_tup_read FROM pg_stat_user_tables t
				JOIN pg_stat_user_indexes i ON i.relid = t.relid AND i.indexrelname = 'message_outbox_expires_idx'
				WHERE t.relname = 'message_outbox'`).Scan(&del, &scans, &reads), "")
			if del >= deleted || time.Now().After(deadline) {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if del != deleted {
			t.Fatalf("statistics show %d outbox rows deleted, want %d", del, deleted)
		}
		return scans, reads
	}
	var all []string
	wantCode(t, db.Pool().QueryRow(ctx, `SELECT array_agg(message_id ORDER BY message_id) FROM message_outbox`).Scan(&all), "")
	scans0, reads0 := counters(churn)
	for m := range marks {
		if err := db.MarkPublished(ctx, all[m*batch:(m+1)*batch]...); err != nil {
			t.Fatalf("MarkPublished: %v", err)
		}
	}
	scans, reads := counters(churn + marks*batch)
	if scans != scans0 || reads != reads0 {
		t.Errorf("marks scanned message_outbox_expires_idx %d times, reading %d entries; want none", scans-scans0, reads-reads0)
	}
}
