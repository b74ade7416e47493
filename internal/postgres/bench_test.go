package postgres_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/internal/auth"
)

// BenchmarkSendVerify runs the store side of one OTP login: resolve (create)
// the phone's user, issue a challenge with its outbox message, count the
// attempt and consume it.
func BenchmarkSendVerify(b *testing.B) {
	e := newEnv(b)
	ctx := b.Context()
	p := e.project(b)
	payload := make([]byte, 256)
	i := 0
	for b.Loop() {
		i++
		phone := fmt.Sprintf("+1415%07d", i)
		userID, methodID, _, _, err := e.db.ResolveMethod(ctx, p, auth.ChannelSMS, phone, true, true)
		if err != nil {
			b.Fatal(err)
		}
		c := &auth.Challenge{ID: auth.NewID(auth.PrefixChallenge, p), ProjectID: p.ID, UserID: userID, MethodID: methodID,
			Channel: auth.ChannelSMS, CodeHMAC: hash(phone), ExpiresAt: time.Now().Add(10 * time.Minute)}
		m := &auth.Message{ID: auth.NewID(auth.PrefixMessage, p), Recipient: phone}
		if err := e.db.CreateChallenge(ctx, c, m, payload); err != nil {
			b.Fatal(err)
		}
		if _, err := e.db.AttemptChallenge(ctx, p.ID, methodID, 5); err != nil {
			b.Fatal(err)
		}
		if err := e.db.ConsumeChallenge(ctx, p.ID, c.ID); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMessageLifecycle runs a message through the store as a send and
// a delivery do: issue a code with its outbox message (256-byte payload),
// mark it published, begin and finish its delivery (sent, with a provider
// id). Besides the time, it reports what each lifecycle wrote to the WAL
// of the test database (pg_walinspect, when the server has it; other
// databases' records are left out, and the reading is not timed): records,
// bytes (with full-page images, which depend on when checkpoints fall, and
// without them), btree index inserts, and heap updates, HOT and not; and
// the records, bytes without full-page images and index inserts of the
// send's statement alone (the request path; send*/op).
func BenchmarkMessageLifecycle(b *testing.B) {
	e := newEnv(b)
	ctx := b.Context()
	p := e.project(b)
	pool := e.db.Pool()
	_, err := pool.Exec(ctx, `CREATE EXTENSION IF NOT EXISTS pg_walinspect`)
	walinspect := err == nil
	u := e.user(b, p, "", "+14155559999")
	payload := make([]byte, 256)
	// records, bytes, btree inserts, HOT updates, other updates, bytes
	// without full-page images; then the same three of the send alone
	var wal [9]float64
	lsn := func() (s string) {
		if err := pool.QueryRow(ctx, `SELECT pg_current_wal_insert_lsn()::text`).Scan(&s); err != nil {
			b.Fatal(err)
		}
		return s
	}
	n := 0
	for b.Loop() {
		n++
		var start string
		if walinspect {
			b.StopTimer()
			start = lsn()
			b.StartTimer()
		}
		e.clock.Advance(time.Millisecond) // each code supersedes the previous one
		c := &auth.Challenge{ID: auth.NewID(auth.PrefixChallenge, p), ProjectID: p.ID, UserID: u.ID, MethodID: u.Phones[0].ID,
			Channel: auth.ChannelSMS, CodeHMAC: hash(fmt.Sprint("lifecycle", n)), ExpiresAt: e.clock.Now().Add(10 * time.Minute)}
		m := &auth.Message{ID: auth.NewID(auth.PrefixMessage, p), Recipient: u.Phones[0].Number}
		if err := e.db.CreateChallenge(ctx, c, m, payload); err != nil {
			b.Fatal(err)
		}
		var sent string
		if walinspect {
			b.StopTimer()
			sent = lsn()
			b.StartTimer()
		}
		if err := e.db.MarkPublished(ctx, m.ID); err != nil {
			b.Fatal(err)
		}
		if d, err := e.db.BeginDelivery(ctx, m.ID, time.Minute); err != nil || d != auth.DeliverySend {
			b.Fatal(d, err)
		}
		if err := e.db.FinishDelivery(ctx, m.ID, auth.MessageSent, "SM"+c.ID, ""); err != nil {
			b.Fatal(err)
		}
		if !walinspect {
			continue
		}
		b.StopTimer()
		var r [9]float64
		err = pool.QueryRow(ctx, `
			SELECT count(*), coalesce(sum(record_length), 0),
				count(*) FILTER (WHERE resource_manager = 'Btree' AND record_type LIKE 'INSERT%'),
				count(*) FILTER (WHERE resource_manager = 'Heap' AND record_type LIKE 'HOT_UPDATE%'),
				count(*) FILTER (WHERE resource_manager = 'Heap' AND record_type LIKE 'UPDATE%'),
				coalesce(sum(record_length - fpi_length), 0),
				count(*) FILTER (WHERE send),
				coalesce(sum(record_length - fpi_length) FILTER (WHERE send), 0),
				count(*) FILTER (WHERE send AND resource_manager = 'Btree' AND record_type LIKE 'INSERT%')
			FROM (SELECT *, start_lsn < $2::pg_lsn AS send
				FROM pg_get_wal_records_info($1::pg_lsn, pg_current_wal_flush_lsn())) w
			WHERE block_ref ~ (' rel [0-9]+/' || (SELECT oid FROM pg_database WHERE datname = current_database()) || '/')`,
			start, sent).Scan(&r[0], &r[1], &r[2], &r[3], &r[4], &r[5], &r[6], &r[7], &r[8])
		if err != nil {
			b.Fatal(err)
		}
		for i := range wal {
			wal[i] += r[i]
		}
		b.StartTimer()
	}
	if !walinspect {
		return
	}
	for i, unit := range []string{"walrec/op", "walB/op", "idxins/op", "hotupd/op", "upd/op", "walB-nofpi/op",
		"sendrec/op", "sendB-nofpi/op", "sendidx/op"} {
		b.ReportMetric(wal[i]/float64(n), unit)
	}
}
