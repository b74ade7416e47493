package postgres_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/internal/auth"
)

func TestOutbox(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := ctxT(t)
	p := e.project(t)

	// Each subtest drains the outbox first so it sees only its own messages.
	drain := func(t *testing.T) {
		t.Helper()
		e.clock.Advance(time.Hour)
		for {
			items, err := e.db.ClaimOutbox(ctx, 0, time.Hour, 1000)
			wantCode(t, err, "")
			if len(items) == 0 {
				break
			}
			for _, it := range items {
				wantCode(t, e.db.MarkPublished(ctx, it.MessageID), "")
			}
		}
	}

	t.Run("ClaimHonoursMinAgeAndOrder", func(t *testing.T) {
		drain(t)
		u := e.user(t, p, "", "+14155550600")
		_, m1 := e.challenge(t, p, u, u.Phones[0].ID, auth.ChannelSMS, time.Hour)
		e.clock.Advance(time.Second)
		_, m2 := e.challenge(t, p, u, u.Phones[0].ID, auth.ChannelSMS, time.Hour)
		items, err := e.db.ClaimOutbox(ctx, 5*time.Second, time.Minute, 10)
		wantCode(t, err, "")
		if len(items) != 0 {
			t.Fatalf("claimed %d messages younger than minAge", len(items))
		}
		n, err := e.db.CountOutbox(ctx)
		wantCode(t, err, "")
		if n != 2 {
			t.Fatalf("CountOutbox = %d, want 2", n)
		}
		e.clock.Advance(10 * time.Second)
		items, err = e.db.ClaimOutbox(ctx, 5*time.Second, time.Minute, 10)
		wantCode(t, err, "")
		if len(items) != 2 || items[0].MessageID != m1.ID || items[1].MessageID != m2.ID {
			t.Fatalf("items %+v", items)
		}
		if items[0].MsgID != m1.ChallengeID || string(items[0].Payload) != "ciphertext" {
			t.Fatalf("item %+v", items[0])
		}
		// Leased: not claimed again until the lease ends.
		items, _ = e.db.ClaimOutbox(ctx, 0, time.Minute, 10)
		if len(items) != 0 {
			t.Fatalf("re-claimed %d leased messages", len(items))
		}
		e.clock.Advance(2 * time.Minute)
		items, _ = e.db.ClaimOutbox(ctx, 0, time.Minute, 10)
		if len(items) != 2 {
			t.Fatalf("claimed %d after the lease ended, want 2", len(items))
		}
		// Published messages leave the outbox.
		wantCode(t, e.db.MarkPublished(ctx, m1.ID), "")
		wantCode(t, e.db.MarkPublished(ctx, m2.ID), "")
		n, _ = e.db.CountOutbox(ctx)
		if n != 0 {
			t.Fatalf("CountOutbox = %d after publishing", n)
		}
		got, _ := e.db.FindMessage(ctx, p.ID, m1.ID)
		if got.Status != auth.MessagePublished {
			t.Fatalf("status %s", got.Status)
		}
	})
	// A message that can no longer be published (its delivery began, or it
	// went with its user) is not claimed, and the claim drops its outbox row.
	for _, tc := range []struct {
		name, phone, what string
		act               func(t *testing.T, u *auth.User, m *auth.Message)
	}{
		{"LostMarkRowDroppedOnceDelivering", "+14155550602", "a message being delivered", func(t *testing.T, _ *auth.User, m *auth.Message) {
			d, err := e.db.BeginDelivery(ctx, m.ID, time.Minute)
			wantCode(t, err, "")
			if d != auth.DeliverySend {
				t.Fatalf("decision %v", d)
			}
		}},
		{"MessageDeletedWithUserLeavesNothingToPublish", "+14155550603", "a deleted user", func(t *testing.T, u *auth.User, _ *auth.Message) {
			wantCode(t, e.db.DeleteUser(ctx, p.ID, u.ID), "")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			drain(t)
			u := e.user(t, p, "", tc.phone)
			_, m := e.challenge(t, p, u, u.Phones[0].ID, auth.ChannelSMS, time.Hour)
			tc.act(t, u, m)
			items, err := e.db.ClaimOutbox(ctx, 0, time.Minute, 10)
			wantCode(t, err, "")
			if len(items) != 0 {
				t.Fatalf("claimed %+v of %s", items, tc.what)
			}
			var rows int
			wantCode(t, e.db.Pool().QueryRow(ctx, `SELECT count(*) FROM message_outbox WHERE message_id = $1`, m.ID).Scan(&rows), "")
			if rows != 0 {
				t.Fatalf("outbox row of %s kept", tc.what)
			}
		})
	}
	t.Run("ConcurrentClaimsNeverOverlap", func(t *testing.T) {
		drain(t)
		u := e.user(t, p, "", "+14155550601")
		for range 60 {
			e.challenge(t, p, u, u.Phones[0].ID, auth.ChannelSMS, time.Hour)
		}
		var mu sync.Mutex
		seen := map[string]int{}
		var wg sync.WaitGroup
		for range 6 {
			wg.Go(func() {
				for {
					items, err := e.db.ClaimOutbox(ctx, 0, time.Minute, 7)
					if err != nil {
						t.Error(err)
						return
					}
					if len(items) == 0 {
						return
					}
					mu.Lock()
					for _, it := range items {
						seen[it.MessageID]++
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if len(seen) != 60 {
			t.Fatalf("claimed %d distinct messages, want 60", len(seen))
		}
		for id, n := range seen {
			if n != 1 {
				t.Fatalf("message %s claimed %d times", id, n)
			}
		}
	})
}

func testBeginDelivery(t *testing.T, e *env) {
	ctx := ctxT(t)
	p := e.project(t)
	const lease = time.Minute

	type setup func(t *testing.T) string // returns the message id
	phone := 0
	newOTP := func(t *testing.T, ttl time.Duration) (*auth.User, *auth.Challenge, *auth.Message) {
		phone++
		u := e.user(t, p, "", "+1415555"+string(rune('0'+phone/1000%10))+string(rune('0'+phone/100%10))+string(rune('0'+phone/10%10))+string(rune('0'+phone%10)))
		c, m := e.challenge(t, p, u, u.Phones[0].ID, auth.ChannelSMS, ttl)
		return u, c, m
	}
	newLink := func(t *testing.T, ttl time.Duration) (*auth.MagicLink, *auth.Message) {
		phone++
		u := e.user(t, p, "bd"+string(rune('a'+phone%26))+string(rune('a'+phone/26%26))+"@example.com", "")
		ml := &auth.MagicLink{ID: id(auth.PrefixMagicLink, p), ProjectID: p.ID, UserID: u.ID, EmailID: u.Emails[0].ID,
			Kind: auth.MagicLinkLogin, TokenHash: hash(auth.NewToken()), ExpiresAt: e.clock.Now().Add(ttl)}
		m := &auth.Message{ID: id(auth.PrefixMessage, p), Recipient: u.Emails[0].Address}
		wantCode(t, e.db.CreateMagicLink(ctx, ml, m, []byte("ciphertext")), "")
		return ml, m
	}

	tests := []struct {
		name       string
		setup      setup
		want       auth.DeliveryDecision
		wantStatus auth.MessageStatus
		wantError  string
	}{
		{"LiveOTPSend", func(t *testing.T) string {
			_, _, m := newOTP(t, time.Hour)
			return m.ID
		}, auth.DeliverySend, auth.MessageSending, ""},
		{"PublishedOTPSend", func(t *testing.T) string {
			_, _, m := newOTP(t, time.Hour)
			wantCode(t, e.db.MarkPublished(ctx, m.ID), "")
			return m.ID
		}, auth.DeliverySend, auth.MessageSending, ""},
		{"RetryingOTPSend", func(t *testing.T) string {
			_, _, m := newOTP(t, time.Hour)
			wantCode(t, e.db.FinishDelivery(ctx, m.ID, auth.MessageRetrying, "", "twilio 20429"), "")
			return m.ID
		}, auth.DeliverySend, auth.MessageSending, "twilio 20429"},
		{"UnknownMessageUnknown", func(t *testing.T) string { return "message-test-missing" }, auth.DeliveryUnknown, "", ""},
		{"DeletedUserUnknown", func(t *testing.T) string {
			u, _, m := newOTP(t, time.Hour)
			wantCode(t, e.db.DeleteUser(ctx, p.ID, u.ID), "")
			return m.ID
		}, auth.DeliveryUnknown, "", ""},
		{"SentDone", func(t *testing.T) string {
			_, _, m := newOTP(t, time.Hour)
			wantCode(t, e.db.FinishDelivery(ctx, m.ID, auth.MessageSent, "SM123", ""), "")
			return m.ID
		}, auth.DeliveryDone, auth.MessageSent, ""},
		{"FailedDone", func(t *testing.T) string {
			_, _, m := newOTP(t, time.Hour)
			wantCode(t, e.db.FinishDeliveryAttempt(ctx, m.ID, auth.MessageFailed, "", "twilio 21211", auth.ProviderAttempt{}, []byte("ciphertext")), "")
			return m.ID
		}, auth.DeliveryDone, auth.MessageFailed, "twilio 21211"},
		{"SkippedDone", func(t *testing.T) string {
			_, _, m := newOTP(t, time.Hour)
			wantCode(t, e.db.FinishDelivery(ctx, m.ID, auth.MessageSkipped, "", "sandbox"), "")
			return m.ID
		}, auth.DeliveryDone, auth.MessageSkipped, "sandbox"},
		{"LeasedBusy", func(t *testing.T) string {
			_, _, m := newOTP(t, time.Hour)
			d, err := e.db.BeginDelivery(ctx, m.ID, lease)
			wantCode(t, err, "")
			if d != auth.DeliverySend {
				t.Fatalf("first BeginDelivery = %v", d)
			}
			return m.ID
		}, auth.DeliveryBusy, auth.MessageSending, ""},
		{"ExpiredLeaseSend", func(t *testing.T) string {
			_, _, m := newOTP(t, time.Hour)
			d, _ := e.db.BeginDelivery(ctx, m.ID, -time.Second)
			if d != auth.DeliverySend {
				t.Fatalf("first BeginDelivery = %v", d)
			}
			return m.ID
		}, auth.DeliverySend, auth.MessageSending, ""},
		{"ConsumedOTPDead", func(t *testing.T) string {
			_, c, m := newOTP(t, time.Hour)
			wantCode(t, e.db.ConsumeChallenge(ctx, p.ID, c.ID), "")
			return m.ID
		}, auth.DeliveryDead, auth.MessageSkipped, "consumed"},
		{"ExpiredOTPDead", func(t *testing.T) string {
			_, _, m := newOTP(t, -time.Second)
			return m.ID
		}, auth.DeliveryDead, auth.MessageSkipped, "expired"},
		{"SupersededOTPDead", func(t *testing.T) string {
			u, _, m := newOTP(t, time.Hour)
			e.clock.Advance(time.Millisecond)
			e.challenge(t, p, u, u.Phones[0].ID, auth.ChannelSMS, time.Hour)
			return m.ID
		}, auth.DeliveryDead, auth.MessageSkipped, "superseded"},
		{"DeletedPhoneDead", func(t *testing.T) string {
			u, _, m := newOTP(t, time.Hour)
			_, err := e.db.DeletePhone(ctx, p.ID, u.Phones[0].ID)
			wantCode(t, err, "")
			return m.ID
		}, auth.DeliveryDead, auth.MessageSkipped, "revoked"},
		{"LiveLinkSend", func(t *testing.T) string {
			_, m := newLink(t, time.Hour)
			return m.ID
		}, auth.DeliverySend, auth.MessageSending, ""},
		{"ConsumedLinkDead", func(t *testing.T) string {
			ml, m := newLink(t, time.Hour)
			_, err := e.db.ConsumeMagicLink(ctx, p.ID, [][]byte{ml.TokenHash}, "")
			wantCode(t, err, "")
			return m.ID
		}, auth.DeliveryDead, auth.MessageSkipped, "consumed"},
		{"ExpiredLinkDead", func(t *testing.T) string {
			_, m := newLink(t, -time.Second)
			return m.ID
		}, auth.DeliveryDead, auth.MessageSkipped, "expired"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msgID := tt.setup(t)
			got, err := e.db.BeginDelivery(ctx, msgID, lease)
			wantCode(t, err, "")
			if got != tt.want {
				t.Fatalf("decision = %v, want %v", got, tt.want)
			}
			if tt.wantStatus == "" {
				return
			}
			m, err := e.db.FindMessage(ctx, p.ID, msgID)
			wantCode(t, err, "")
			if m.Status != tt.wantStatus || m.LastError != tt.wantError {
				t.Fatalf("status %q, last_error %q; want %q, %q", m.Status, m.LastError, tt.wantStatus, tt.wantError)
			}
			// Only a failed message keeps a payload beside its outbox row
			// (migration 0020; TestOutboxPayload).
			var hasPayload bool
			e.db.Pool().QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM message_payloads WHERE message_id = $1)`, msgID).Scan(&hasPayload)
			if wantPayload := tt.wantStatus == auth.MessageFailed; hasPayload != wantPayload {
				t.Fatalf("payload stored = %v, want %v", hasPayload, wantPayload)
			}
		})
	}

	t.Run("ConcurrentBeginSendsOnce", func(t *testing.T) {
		_, _, m := newOTP(t, time.Hour)
		var wg sync.WaitGroup
		got := make([]auth.DeliveryDecision, 8)
		for i := range got {
			wg.Go(func() {
				d, err := e.db.BeginDelivery(ctx, m.ID, lease)
				if err != nil {
					t.Error(err)
				}
				got[i] = d
			})
		}
		wg.Wait()
		send := 0
		for _, d := range got {
			switch d {
			case auth.DeliverySend:
				send++
			case auth.DeliveryBusy:
			default:
				t.Fatalf("decision %v", d)
			}
		}
		if send != 1 {
			t.Fatalf("%d workers got DeliverySend", send)
		}
		msg, _ := e.db.FindMessage(ctx, p.ID, m.ID)
		if msg.Attempts != 1 {
			t.Fatalf("attempts %d", msg.Attempts)
		}
	})
	t.Run("GroupCommittedBurstSendsEachOnceAndRecordsEach", func(t *testing.T) {
		const msgs, callers = 40, 3
		ids := make([]string, msgs)
		for i := range ids {
			_, _, m := newOTP(t, time.Hour)
			ids[i] = m.ID
		}
		var wg sync.WaitGroup
		got := make([]auth.DeliveryDecision, msgs*callers)
		for i := range got {
			wg.Go(func() {
				d, err := e.db.BeginDelivery(ctx, ids[i%msgs], lease)
				wantCode(t, err, "")
				got[i] = d
			})
		}
		wg.Wait()
		sends := make([]int, msgs)
		for i, d := range got {
			if d == auth.DeliverySend {
				sends[i%msgs]++
			} else if d != auth.DeliveryBusy {
				t.Fatalf("decision %v", d)
			}
		}
		for i, n := range sends {
			if n != 1 {
				t.Fatalf("message %d got DeliverySend %d times", i, n)
			}
		}
		for i, id := range ids {
			wg.Go(func() {
				wantCode(t, e.db.RecordProviderAttempt(ctx, id, fmt.Sprintf("p%d", i), true), "")
				wantCode(t, e.db.FinishDelivery(ctx, id, auth.MessageSent, fmt.Sprintf("SM%d", i), ""), "")
			})
		}
		wg.Wait()
		for i, id := range ids {
			m, err := e.db.FindMessage(ctx, p.ID, id)
			wantCode(t, err, "")
			if m.Status != auth.MessageSent || m.ProviderID != fmt.Sprintf("SM%d", i) || m.Attempts != 1 ||
				m.Provider != fmt.Sprintf("p%d", i) || len(m.ProvidersTried) != 1 {
				t.Fatalf("message %d: %+v", i, m)
			}
		}
	})
	t.Run("BusyReportsLeaseEnd", func(t *testing.T) {
		_, _, m := newOTP(t, time.Hour)
		d, first, err := e.db.BeginDeliveryLease(ctx, m.ID, lease)
		wantCode(t, err, "")
		if d != auth.DeliverySend || !first.Equal(e.clock.Now().Add(lease).Truncate(time.Microsecond)) {
			t.Fatalf("first = %v until %v", d, first)
		}
		d, until, err := e.db.BeginDeliveryLease(ctx, m.ID, lease)
		wantCode(t, err, "")
		if d != auth.DeliveryBusy || !until.Equal(first) {
			t.Fatalf("second = %v until %v, want busy until %v", d, until, first)
		}
	})
	t.Run("FinishSentRecordsProvider", func(t *testing.T) {
		_, _, m := newOTP(t, time.Hour)
		e.db.BeginDelivery(ctx, m.ID, lease)
		wantCode(t, e.db.FinishDelivery(ctx, m.ID, auth.MessageSent, "SM42", ""), "")
		// A late report of another worker does not undo "sent".
		wantCode(t, e.db.FinishDelivery(ctx, m.ID, auth.MessageRetrying, "", "timeout"), "")
		got, _ := e.db.FindMessage(ctx, p.ID, m.ID)
		if got.Status != auth.MessageSent || got.ProviderID != "SM42" || got.SentAt == nil || got.Attempts != 1 {
			t.Fatalf("message %+v", got)
		}
	})
	t.Run("FinishInvalidStatus", func(t *testing.T) {
		wantCode(t, e.db.FinishDelivery(ctx, "x", auth.MessageQueued, "", ""), auth.EInvalid)
	})
}

func testRequeueMessage(t *testing.T, e *env) {
	ctx := ctxT(t)
	p := e.project(t)
	n := 0
	newFailed := func(t *testing.T, ttl time.Duration) (*auth.User, *auth.Challenge, *auth.Message) {
		n++
		u := e.user(t, p, "rq"+string(rune('a'+n))+"@example.com", "")
		c, m := e.challenge(t, p, u, u.Emails[0].ID, auth.ChannelEmail, ttl)
		e.db.BeginDelivery(ctx, m.ID, time.Minute)
		wantCode(t, e.db.FinishDeliveryAttempt(ctx, m.ID, auth.MessageFailed, "", "sendgrid 400", auth.ProviderAttempt{}, []byte("ciphertext")), "")
		return u, c, m
	}

	t.Run("FailedLiveRequeuedWithNewGeneration", func(t *testing.T) {
		_, c, m := newFailed(t, time.Hour)
		wantCode(t, e.db.RequeueMessage(ctx, p.ID, m.ID), "")
		got, _ := e.db.FindMessage(ctx, p.ID, m.ID)
		if got.Status != auth.MessageQueued {
			t.Fatalf("status %s", got.Status)
		}
		e.clock.Advance(time.Second)
		items, err := e.db.ClaimOutbox(ctx, 0, time.Minute, 100)
		wantCode(t, err, "")
		var found bool
		for _, it := range items {
			if it.MessageID == m.ID {
				found = true
				if it.MsgID != c.ID+".replay.1" || string(it.Payload) != "ciphertext" {
					t.Fatalf("item %+v", it)
				}
			}
		}
		if !found {
			t.Fatal("requeued message not claimed")
		}
		// Replay twice: generation 2.
		e.db.BeginDelivery(ctx, m.ID, time.Minute)
		wantCode(t, e.db.FinishDeliveryAttempt(ctx, m.ID, auth.MessageFailed, "", "again", auth.ProviderAttempt{}, []byte("ciphertext")), "")
		wantCode(t, e.db.RequeueMessage(ctx, p.ID, m.ID), "")
		e.clock.Advance(2 * time.Minute)
		items, _ = e.db.ClaimOutbox(ctx, 0, time.Minute, 100)
		for _, it := range items {
			if it.MessageID == m.ID && it.MsgID != c.ID+".replay.2" {
				t.Fatalf("MsgID %s", it.MsgID)
			}
		}
	})
	t.Run("NotFailedConflict", func(t *testing.T) {
		u := e.user(t, p, "", "+14155550700")
		_, m := e.challenge(t, p, u, u.Phones[0].ID, auth.ChannelSMS, time.Hour)
		wantCode(t, e.db.RequeueMessage(ctx, p.ID, m.ID), auth.EConflict)
	})
	t.Run("ConsumedChallengeConflict", func(t *testing.T) {
		_, c, m := newFailed(t, time.Hour)
		wantCode(t, e.db.ConsumeChallenge(ctx, p.ID, c.ID), "")
		wantCode(t, e.db.RequeueMessage(ctx, p.ID, m.ID), auth.EConflict)
	})
	t.Run("ExpiredChallengeConflict", func(t *testing.T) {
		_, _, m := newFailed(t, time.Minute)
		e.clock.Advance(2 * time.Minute)
		wantCode(t, e.db.RequeueMessage(ctx, p.ID, m.ID), auth.EConflict)
	})
	t.Run("SupersededChallengeConflict", func(t *testing.T) {
		u, _, m := newFailed(t, time.Hour)
		e.clock.Advance(time.Millisecond)
		e.challenge(t, p, u, u.Emails[0].ID, auth.ChannelEmail, time.Hour)
		wantCode(t, e.db.RequeueMessage(ctx, p.ID, m.ID), auth.EConflict)
	})
	t.Run("MissingNotFound", func(t *testing.T) {
		wantCode(t, e.db.RequeueMessage(ctx, p.ID, "message-test-missing"), auth.ENotFound)
	})
}

func testListMessages(t *testing.T, e *env) {
	ctx := ctxT(t)
	p := e.project(t)
	u := e.user(t, p, "", "+14155550800")
	var ids []string
	for range 5 {
		_, m := e.challenge(t, p, u, u.Phones[0].ID, auth.ChannelSMS, time.Hour)
		ids = append(ids, m.ID)
		e.clock.Advance(time.Millisecond)
	}
	wantCode(t, e.db.FinishDelivery(ctx, ids[1], auth.MessageSent, "SM1", ""), "")
	wantCode(t, e.db.MarkPublished(ctx, ids[2], ids[3]), "")
	tests := []struct {
		name   string
		filter auth.MessageFilter
		want   []string
	}{
		{"AllNewestFirst", auth.MessageFilter{}, []string{ids[4], ids[3], ids[2], ids[1], ids[0]}},
		{"ByStatus", auth.MessageFilter{Status: auth.MessageSent}, []string{ids[1]}},
		{"PublishedOnceMarked", auth.MessageFilter{Status: auth.MessagePublished}, []string{ids[3], ids[2]}},
		{"QueuedUntilMarked", auth.MessageFilter{Status: auth.MessageQueued}, []string{ids[4], ids[0]}},
		{"Limited", auth.MessageFilter{Limit: 2}, []string{ids[4], ids[3]}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := e.db.ListMessages(ctx, p.ID, tt.filter)
			wantCode(t, err, "")
			if len(got) != len(tt.want) {
				t.Fatalf("got %d messages, want %d", len(got), len(tt.want))
			}
			for i := range got {
				if got[i].ID != tt.want[i] {
					t.Fatalf("message %d = %s, want %s", i, got[i].ID, tt.want[i])
				}
			}
		})
	}
}

// TestMessagesDeliveryUpdatesHOTable fails when an index of messages reads
// a column that the publish mark, the relay or a delivery changes: Postgres
// could then no longer make those updates HOT, and each would write an
// entry into every index of the table (migration 0018). provider_id, set
// when a message is sent, is one of them since migration 0021 (delivery
// reports find their message in message_provider_ids).
func TestMessagesDeliveryUpdatesHOTable(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := ctxT(t)
	rows, err := e.db.Pool().Query(ctx, `
		SELECT c.relname, a.attname FROM pg_index i
		JOIN pg_class c ON c.oid = i.indexrelid
		JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum > 0 AND NOT a.attisdropped
		WHERE i.indrelid = 'messages'::regclass AND (a.attnum = ANY(i.indkey)
			OR pg_get_expr(i.indpred, i.indrelid) ~ ('\m' || a.attname || '\M')
			OR pg_get_expr(i.indexprs, i.indrelid) ~ ('\m' || a.attname || '\M'))`)
	wantCode(t, err, "")
	defer rows.Close()
	changed := map[string]bool{"status": true, "attempts": true, "lease_until": true, "updated_at": true, "last_error": true,
		"sent_at": true, "delivered_at": true, "providers_tried": true, "provider": true, "publish_gen": true,
		"provider_id": true}
	n := 0
	for rows.Next() {
		var index, column string
		wantCode(t, rows.Scan(&index, &column), "")
		n++
		if changed[column] {
			t.Errorf("index %s reads %s, which delivery updates change", index, column)
		}
	}
	wantCode(t, rows.Err(), "")
	if n == 0 {
		t.Fatal("no index of messages found")
	}
}
