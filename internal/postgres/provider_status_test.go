package postgres_test

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/internal/auth"
	"github.com/sesame-auth/sesame/internal/postgres"
)

func TestRecordProviderStatus(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := ctxT(t)
	p := e.project(t)

	var n atomic.Int64
	// message creates a message on channel ch, with provider id pid when
	// status is sent (pid "" leaves it queued).
	message := func(t *testing.T, ch auth.Channel, pid string) *auth.Message {
		t.Helper()
		i := n.Add(1)
		var u *auth.User
		var methodID string
		if ch == auth.ChannelEmail {
			u = e.user(t, p, fmt.Sprintf("ps%d@example.com", i), "")
			methodID = u.Emails[0].ID
		} else {
			u = e.user(t, p, "", fmt.Sprintf("+1415556%04d", i))
			methodID = u.Phones[0].ID
		}
		_, m := e.challenge(t, p, u, methodID, ch, time.Hour)
		if pid != "" {
			d, err := e.db.BeginDelivery(ctx, m.ID, time.Minute)
			wantCode(t, err, "")
			if d != auth.DeliverySend {
				t.Fatalf("BeginDelivery = %v", d)
			}
			wantCode(t, e.db.FinishDelivery(ctx, m.ID, auth.MessageSent, pid, ""), "")
		}
		return m
	}
	type report struct {
		provider string
		id       string // "" means the message's provider id; "@id" its message id
		status   auth.MessageStatus
		reason   string
	}

	tests := []struct {
		name       string
		channel    auth.Channel
		sent       bool
		reports    []report // applied in order; found is checked on the last one
		wantFound  bool
		wantStatus auth.MessageStatus
		wantError  string
	}{
		{"SentBecomesDelivered", auth.ChannelSMS, true,
			[]report{{"twilio", "", auth.MessageDelivered, ""}}, true, auth.MessageDelivered, ""},
		{"SentBecomesUndeliveredWithReason", auth.ChannelWhatsApp, true,
			[]report{{"twilio", "", auth.MessageUndelivered, "twilio 30003"}}, true, auth.MessageUndelivered, "twilio 30003"},
		{"EmailSentBecomesDeliveredByMessageID", auth.ChannelEmail, true,
			[]report{{"sendgrid", "@id", auth.MessageDelivered, ""}}, true, auth.MessageDelivered, ""},
		{"EmailSentBecomesUndeliveredByProviderID", auth.ChannelEmail, true,
			[]report{{"sendgrid", "", auth.MessageUndelivered, "sendgrid bounce"}}, true, auth.MessageUndelivered, "sendgrid bounce"},
		{"DeliveredStaysDeliveredAfterUndelivered", auth.ChannelSMS, true,
			[]report{{"twilio", "", auth.MessageDelivered, ""}, {"twilio", "", auth.MessageUndelivered, "twilio 30005"}}, true, auth.MessageDelivered, ""},
		{"UndeliveredStaysUndeliveredAfterDelivered", auth.ChannelSMS, true,
			[]report{{"twilio", "", auth.MessageUndelivered, "twilio 30005"}, {"twilio", "", auth.MessageDelivered, ""}}, true, auth.MessageUndelivered, "twilio 30005"},
		{"DeliveredIgnoresLateSentAndQueued", auth.ChannelSMS, true,
			[]report{{"twilio", "", auth.MessageDelivered, ""}, {"twilio", "", auth.MessageSent, ""}, {"twilio", "", auth.MessageQueued, ""}}, true, auth.MessageDelivered, ""},
		{"SentIgnoresSentReport", auth.ChannelSMS, true,
			[]report{{"twilio", "", auth.MessageSent, ""}}, true, auth.MessageSent, ""},
		{"SentIgnoresOtherStatuses", auth.ChannelSMS, true,
			[]report{{"twilio", "", auth.MessageFailed, "x"}, {"twilio", "", auth.MessageSkipped, "x"}}, true, auth.MessageSent, ""},
		{"NotYetSentUnchanged", auth.ChannelEmail, false,
			[]report{{"sendgrid", "@id", auth.MessageDelivered, ""}}, true, auth.MessageQueued, ""},
		{"UnknownProviderIDNotFound", auth.ChannelSMS, true,
			[]report{{"twilio", "SMnope", auth.MessageDelivered, ""}}, false, auth.MessageSent, ""},
		{"OtherProvidersChannelNotFound", auth.ChannelEmail, true,
			[]report{{"twilio", "", auth.MessageDelivered, ""}}, false, auth.MessageSent, ""},
		{"UnknownProviderNotFound", auth.ChannelSMS, true,
			[]report{{"console", "", auth.MessageDelivered, ""}}, false, auth.MessageSent, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pid := ""
			if tc.sent {
				pid = "PID" + auth.NewUUID()
			}
			m := message(t, tc.channel, pid)
			var found bool
			for _, r := range tc.reports {
				id := r.id
				switch id {
				case "":
					id = pid
				case "@id":
					id = m.ID
				}
				e.clock.Advance(time.Second)
				var err error
				found, err = e.db.RecordProviderStatus(ctx, r.provider, id, r.status, r.reason)
				wantCode(t, err, "")
			}
			if found != tc.wantFound {
				t.Fatalf("found = %v, want %v", found, tc.wantFound)
			}
			got, err := e.db.FindMessage(ctx, p.ID, m.ID)
			wantCode(t, err, "")
			if got.Status != tc.wantStatus || got.LastError != tc.wantError {
				t.Fatalf("status %q error %q, want %q %q", got.Status, got.LastError, tc.wantStatus, tc.wantError)
			}
			if (got.DeliveredAt != nil) != (tc.wantStatus == auth.MessageDelivered) {
				t.Fatalf("delivered_at = %v with status %q", got.DeliveredAt, got.Status)
			}
			if tc.sent && got.ProviderID != pid {
				t.Fatalf("provider id = %q, want %q", got.ProviderID, pid)
			}
		})
	}

	t.Run("DeliveredMessageNeverSentAgain", func(t *testing.T) {
		pid := "SM" + auth.NewUUID()
		m := message(t, auth.ChannelSMS, pid)
		found, err := e.db.RecordProviderStatus(ctx, "twilio", pid, auth.MessageDelivered, "")
		wantCode(t, err, "")
		if !found {
			t.Fatal("not found")
		}
		// A redelivered event or a late worker must not touch it.
		d, err := e.db.BeginDelivery(ctx, m.ID, time.Minute)
		wantCode(t, err, "")
		if d != auth.DeliveryDone {
			t.Fatalf("BeginDelivery = %v, want done", d)
		}
		wantCode(t, e.db.FinishDelivery(ctx, m.ID, auth.MessageRetrying, "", "twilio 20429"), "")
		got, err := e.db.FindMessage(ctx, p.ID, m.ID)
		wantCode(t, err, "")
		if got.Status != auth.MessageDelivered || got.LastError != "" {
			t.Fatalf("after a late FinishDelivery: %q %q", got.Status, got.LastError)
		}
	})

	t.Run("ConcurrentReportsApplyOnce", func(t *testing.T) {
		pid := "SM" + auth.NewUUID()
		m := message(t, auth.ChannelSMS, pid)
		var wg sync.WaitGroup
		for i := range 8 {
			st := auth.MessageDelivered
			if i%2 == 1 {
				st = auth.MessageUndelivered
			}
			wg.Go(func() {
				if _, err := e.db.RecordProviderStatus(ctx, "twilio", pid, st, "twilio 30003"); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		got, err := e.db.FindMessage(ctx, p.ID, m.ID)
		wantCode(t, err, "")
		switch {
		case got.Status == auth.MessageDelivered && got.LastError == "" && got.DeliveredAt != nil:
		case got.Status == auth.MessageUndelivered && got.LastError == "twilio 30003" && got.DeliveredAt == nil:
		default:
			t.Fatalf("mixed end state: %q %q %v", got.Status, got.LastError, got.DeliveredAt)
		}
	})

	t.Run("LookupUsesProviderIDsKey", func(t *testing.T) {
		tx, err := e.db.Pool().Begin(ctx)
		wantCode(t, err, "")
		defer tx.Rollback(ctx)
		_, err = tx.Exec(ctx, `SET LOCAL enable_seqscan = off`)
		wantCode(t, err, "")
		rows, err := tx.Query(ctx, `EXPLAIN SELECT message_id FROM message_provider_ids
			WHERE provider_id = $1 AND channel = ANY($2::text[])`, "SMx", []string{"sms", "whatsapp"})
		wantCode(t, err, "")
		plan := ""
		for rows.Next() {
			var line string
			wantCode(t, rows.Scan(&line), "")
			plan += line + "\n"
		}
		wantCode(t, rows.Err(), "")
		if !strings.Contains(plan, "message_provider_ids_pkey") {
			t.Fatalf("plan does not use message_provider_ids_pkey:\n%s", plan)
		}
	})
}

// TestMessageProviderIDsFollowMessages checks that the delivery-report
// lookup (message_provider_ids, migration 0021) follows its messages: a
// message pruned or deleted with its user takes its row along, and a
// provider id that comes back on the same channel belongs to the newer
// message.
func TestMessageProviderIDsFollowMessages(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		sameID     bool                                                           // both messages get one provider id
		act        func(e *env, older, newer *auth.User) error                    // after both are sent
		wantRows   int                                                            // rows left in message_provider_ids
		wantStatus func(older, newer *auth.Message) map[string]auth.MessageStatus // after a delivered report on newer's id; absent: gone
	}{
		{"PrunedMessagesLeaveNoRow", false,
			func(e *env, _, _ *auth.User) error {
				_, err := e.db.Prune(t.Context(), e.clock.Now().Add(postgres.MessageRetention+time.Hour))
				return err
			}, 0,
			func(_, _ *auth.Message) map[string]auth.MessageStatus { return nil }},
		{"DeletedUserTakesItsRow", false,
			func(e *env, older, _ *auth.User) error {
				return e.db.DeleteUser(t.Context(), older.ProjectID, older.ID)
			}, 1,
			func(_, newer *auth.Message) map[string]auth.MessageStatus {
				return map[string]auth.MessageStatus{newer.ID: auth.MessageDelivered}
			}},
		{"ReusedIDReportsToNewerMessage", true,
			func(*env, *auth.User, *auth.User) error { return nil }, 1,
			func(older, newer *auth.Message) map[string]auth.MessageStatus {
				return map[string]auth.MessageStatus{older.ID: auth.MessageSent, newer.ID: auth.MessageDelivered}
			}},
		{"OlderMessageDeletedKeepsNewerRow", true,
			func(e *env, older, _ *auth.User) error {
				return e.db.DeleteUser(t.Context(), older.ProjectID, older.ID)
			}, 1,
			func(_, newer *auth.Message) map[string]auth.MessageStatus {
				return map[string]auth.MessageStatus{newer.ID: auth.MessageDelivered}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			ctx := ctxT(t)
			p := e.project(t)
			var users [2]*auth.User
			var msgs [2]*auth.Message
			var pids [2]string
			for i := range 2 {
				users[i] = e.user(t, p, "", fmt.Sprintf("+1415557%04d", i))
				_, msgs[i] = e.challenge(t, p, users[i], users[i].Phones[0].ID, auth.ChannelSMS, time.Hour)
				pids[i] = "SM" + auth.NewUUID()
				if tc.sameID {
					pids[i] = pids[0]
				}
				e.clock.Advance(time.Second)
				if d, err := e.db.BeginDelivery(ctx, msgs[i].ID, time.Minute); err != nil || d != auth.DeliverySend {
					t.Fatalf("BeginDelivery = %v, %v", d, err)
				}
				wantCode(t, e.db.FinishDelivery(ctx, msgs[i].ID, auth.MessageSent, pids[i], ""), "")
			}
			wantCode(t, tc.act(e, users[0], users[1]), "")
			var rows int
			wantCode(t, e.db.Pool().QueryRow(ctx, `SELECT count(*) FROM message_provider_ids`).Scan(&rows), "")
			if rows != tc.wantRows {
				t.Fatalf("%d rows in message_provider_ids, want %d", rows, tc.wantRows)
			}
			found, err := e.db.RecordProviderStatus(ctx, "twilio", pids[1], auth.MessageDelivered, "")
			wantCode(t, err, "")
			want := tc.wantStatus(msgs[0], msgs[1])
			if found != (len(want) > 0) {
				t.Fatalf("found = %v, want %v", found, len(want) > 0)
			}
			for _, m := range msgs {
				got, err := e.db.FindMessage(ctx, p.ID, m.ID)
				st, kept := want[m.ID]
				if !kept {
					wantCode(t, err, auth.ENotFound)
					continue
				}
				wantCode(t, err, "")
				if got.Status != st {
					t.Fatalf("message %s is %q, want %q", m.ID, got.Status, st)
				}
			}
		})
	}
}
