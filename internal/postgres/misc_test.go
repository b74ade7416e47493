package postgres_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/internal/auth"
)

func testSigningKeys(t *testing.T, e *env) {
	ctx := ctxT(t)
	p := e.project(t)
	key := func(id string, st auth.SigningKeyState) auth.SigningKey {
		return auth.SigningKey{ID: id, State: st, PrivateEnc: []byte("enc-" + id)}
	}
	states := func(t *testing.T) string {
		t.Helper()
		keys, err := e.db.SigningKeys(ctx, p.ID)
		wantCode(t, err, "")
		s := ""
		for _, k := range keys {
			if k.ProjectID != p.ID || string(k.PrivateEnc) != "enc-"+k.ID {
				t.Fatalf("key %+v", k)
			}
			s += fmt.Sprintf("%s=%s ", k.ID, k.State)
		}
		return s
	}

	t.Run("NoKeysEmpty", func(t *testing.T) {
		if got := states(t); got != "" {
			t.Fatalf("keys %s", got)
		}
	})
	t.Run("FirstSetInsertedWithCallerStates", func(t *testing.T) {
		wantCode(t, e.db.RotateSigningKeys(ctx, p.ID, []auth.SigningKey{key("k1", auth.KeyCurrent), key("k2", auth.KeyNext)}, time.Time{}), "")
		if got := states(t); got != "k2=next k1=current " {
			t.Fatalf("keys %s", got)
		}
	})
	t.Run("RotatePromotesNextAndRetiresCurrent", func(t *testing.T) {
		e.clock.Advance(time.Hour)
		wantCode(t, e.db.RotateSigningKeys(ctx, p.ID, []auth.SigningKey{key("k3", "")}, time.Time{}), "")
		if got := states(t); got != "k3=next k2=current k1=retired " {
			t.Fatalf("keys %s", got)
		}
	})
	t.Run("RotateDeletesOldRetired", func(t *testing.T) {
		e.clock.Advance(time.Hour)
		// k1 retired an hour ago is deleted; k2, retired now, is kept.
		wantCode(t, e.db.RotateSigningKeys(ctx, p.ID, []auth.SigningKey{key("k4", auth.KeyNext)}, e.clock.Now().Add(-time.Minute)), "")
		if got := states(t); got != "k4=next k3=current k2=retired " {
			t.Fatalf("keys %s", got)
		}
	})
	t.Run("TwoCurrentConflictRollsBack", func(t *testing.T) {
		err := e.db.RotateSigningKeys(ctx, p.ID, []auth.SigningKey{key("k5", auth.KeyCurrent)}, time.Time{})
		wantCode(t, err, auth.EConflict)
		if got := states(t); got != "k4=next k3=current k2=retired " {
			t.Fatalf("keys %s", got)
		}
	})
	t.Run("MissingProjectNotFound", func(t *testing.T) {
		wantCode(t, e.db.RotateSigningKeys(ctx, "project-test-missing", nil, time.Time{}), auth.ENotFound)
	})
	t.Run("ConcurrentRotationsSerialize", func(t *testing.T) {
		q := e.project(t)
		wantCode(t, e.db.RotateSigningKeys(ctx, q.ID, []auth.SigningKey{key("q1", auth.KeyCurrent), key("q2", auth.KeyNext)}, time.Time{}), "")
		var wg sync.WaitGroup
		for i := range 4 {
			wg.Go(func() {
				k := key(fmt.Sprintf("q%d", i+3), auth.KeyNext)
				if err := e.db.RotateSigningKeys(ctx, q.ID, []auth.SigningKey{k}, time.Time{}); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		keys, _ := e.db.SigningKeys(ctx, q.ID)
		count := map[auth.SigningKeyState]int{}
		for _, k := range keys {
			count[k.State]++
		}
		if count[auth.KeyCurrent] != 1 || count[auth.KeyNext] != 1 || count[auth.KeyRetired] != 4 {
			t.Fatalf("states %v", count)
		}
	})
}

func TestPrune(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := ctxT(t)
	p := e.project(t)
	count := func(t *testing.T, sql string) int {
		t.Helper()
		var n int
		if err := e.db.Pool().QueryRow(ctx, sql).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	start := e.clock.Now()

	u := e.user(t, p, "prune@example.com", "+14155551100")
	// Challenges: a long one superseded by a short one (both must go once
	// the short one is pruned), and a live one on another method.
	_, longMsg := e.challenge(t, p, u, u.Phones[0].ID, auth.ChannelSMS, 48*time.Hour)
	e.clock.Advance(time.Millisecond)
	_, shortMsg := e.challenge(t, p, u, u.Phones[0].ID, auth.ChannelSMS, 10*time.Minute)
	_, liveMsg := e.challenge(t, p, u, u.Emails[0].ID, auth.ChannelEmail, 48*time.Hour)
	// Magic links: one short, one long.
	for i, ttl := range []time.Duration{10 * time.Minute, 48 * time.Hour} {
		ml := &auth.MagicLink{ID: id(auth.PrefixMagicLink, p), ProjectID: p.ID, UserID: u.ID, EmailID: u.Emails[0].ID,
			Kind: auth.MagicLinkLogin, TokenHash: hash(fmt.Sprint("prune", i)), ExpiresAt: start.Add(ttl)}
		wantCode(t, e.db.CreateMagicLink(ctx, ml, nil, nil), "")
	}
	// Sessions: expired soon, revoked now, live.
	for i, ttl := range []time.Duration{10 * time.Minute, 48 * time.Hour, 48 * time.Hour} {
		s := &auth.Session{ID: id(auth.PrefixSession, p), ProjectID: p.ID, UserID: u.ID, TokenHash: hash(fmt.Sprint("ps", i)),
			StartedAt: start, ExpiresAt: start.Add(ttl)}
		wantCode(t, e.db.CreateSession(ctx, s, []byte("x")), "")
		if i == 1 {
			wantCode(t, e.db.RevokeSession(ctx, p.ID, s.ID), "")
		}
	}
	// A sent message, and a failed one (its payload kept for a replay).
	wantCode(t, e.db.FinishDelivery(ctx, liveMsg.ID, auth.MessageSent, "SM1", ""), "")
	wantCode(t, e.db.FinishDeliveryAttempt(ctx, longMsg.ID, auth.MessageFailed, "", "twilio 21211", auth.ProviderAttempt{}, []byte("ciphertext")), "")
	// A window of the old fixed-window limits (the table stays until
	// nothing prunes it).
	if _, err := e.db.Pool().Exec(ctx, `INSERT INTO rate_limits (key, window_start, n) VALUES ('k', $1, 1)`, start.Truncate(time.Minute)); err != nil {
		t.Fatal(err)
	}

	t.Run("NothingDueNothingPruned", func(t *testing.T) {
		n, err := e.db.Prune(ctx, start)
		wantCode(t, err, "")
		if n != 0 {
			t.Fatalf("pruned %d", n)
		}
	})
	t.Run("ExpiredPastGracePruned", func(t *testing.T) {
		n, err := e.db.Prune(ctx, start.Add(2*time.Hour))
		wantCode(t, err, "")
		// 2 challenges + 1 link + 2 sessions + the short message's outbox
		// row, with its payload (queued → skipped).
		if n != 6 {
			t.Fatalf("pruned %d, want 6", n)
		}
		if c := count(t, `SELECT count(*) FROM challenges`); c != 1 {
			t.Fatalf("%d challenges left", c)
		}
		_, err = e.db.AttemptChallenge(ctx, p.ID, u.Phones[0].ID, 5)
		wantCode(t, err, auth.EOTPNotFound) // the superseded long challenge is gone too
		if c := count(t, `SELECT count(*) FROM magic_links`); c != 1 {
			t.Fatalf("%d links left", c)
		}
		if c := count(t, `SELECT count(*) FROM sessions`); c != 1 {
			t.Fatalf("%d sessions left", c)
		}
		m, _ := e.db.FindMessage(ctx, p.ID, shortMsg.ID)
		if m.Status != auth.MessageSkipped || m.LastError != "expired" {
			t.Fatalf("short message %+v", m)
		}
		if c := count(t, `SELECT count(*) FROM message_payloads`); c != 1 {
			t.Fatalf("%d payloads left", c) // the failed long message's; the others' are in their outbox rows
		}
		if c := count(t, `SELECT count(*) FROM message_outbox WHERE message_id = '`+shortMsg.ID+`'`); c != 0 {
			t.Fatal("the expired message is still in the outbox")
		}
	})
	t.Run("OldRowsPruned", func(t *testing.T) {
		n, err := e.db.Prune(ctx, start.Add(31*24*time.Hour))
		wantCode(t, err, "")
		// challenge + link + session + rate-limit window + 3 messages, plus
		// the failed first message's payload and the outbox rows of the
		// first and the sent message (never marked published; expired, then
		// deleted: counted twice).
		if n != 10 {
			t.Fatalf("pruned %d, want 10", n)
		}
		for _, table := range []string{"challenges", "magic_links", "sessions", "rate_limits", "messages", "message_outbox", "message_payloads"} {
			if c := count(t, `SELECT count(*) FROM `+table); c != 0 {
				t.Fatalf("%d rows left in %s", c, table)
			}
		}
		if c := count(t, `SELECT count(*) FROM users`); c != 1 {
			t.Fatal("users must never be pruned")
		}
	})
}
