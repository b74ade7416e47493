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
// thousands of rows (a burst, or a NATS outage being caught up), every
// mark on the same connection, often enough for a cached generic plan.
// Before 0022 that plan walked the expiry index, then on (expires_at,
// message_id), once per id; a mark must not touch that index at all.
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
				JOIN pg_stat_user_indexes i ON i.relid = t.relid AND i.indexrelname = 'message_outbox_expiry_idx'
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
		t.Errorf("marks scanned message_outbox_expiry_idx %d times, reading %d entries; want none", scans-scans0, reads-reads0)
	}
}

// TestOutboxIdLookupsHaveOnlyThePrimaryKey: no index of message_outbox
// but its primary key has message_id as a key column. Marks, the relay's
// lease and a message's status look rows up by message id; an index with
// message_id as a later key column (0018's (expires_at, message_id)) let
// the planner, with statistics taken while the outbox was empty, walk the
// whole index once per id of a mark, custom plans included (auto_explain
// under make bench: 50 ms to 1.7 s per mark). Included (non-key) columns
// cannot be index conditions.
func TestOutboxIdLookupsHaveOnlyThePrimaryKey(t *testing.T) {
	t.Parallel()
	db := pgtest.MustOpenDB(t)
	rows, err := db.Pool().Query(ctxT(t), `
		SELECT c.relname FROM pg_index i
		JOIN pg_class c ON c.oid = i.indexrelid
		JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attname = 'message_id'
		WHERE i.indrelid = 'message_outbox'::regclass AND NOT i.indisprimary
			AND a.attnum = ANY((i.indkey::int2[])[0:i.indnkeyatts - 1])`)
	wantCode(t, err, "")
	defer rows.Close()
	for rows.Next() {
		var index string
		wantCode(t, rows.Scan(&index), "")
		t.Errorf("index %s has message_id as a key column", index)
	}
	wantCode(t, rows.Err(), "")
}
