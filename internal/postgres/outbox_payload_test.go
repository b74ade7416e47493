package postgres_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/internal/auth"
)

// TestOutboxPayload follows where a message's encrypted event is stored
// (migration 0020): in its outbox row until it is published, then nowhere
// in Postgres unless the message fails, when the worker's finish stores
// the event's sealed copy for a replay. Rows of the previous layout (an
// outbox row without a payload, the payload in message_payloads: in
// flight at migration time, or written by a replica of the previous
// version) keep working. The subtests share one database and run in
// order; each claims only after its own message exists and looks only at
// it.
func TestOutboxPayload(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := ctxT(t)
	p := e.project(t)
	const sealed = "ciphertext" // what e.challenge stores, and the event carries

	stored := func(t *testing.T, table, msgID string) (payload *string) {
		t.Helper()
		var rows []*string
		r, err := e.db.Pool().Query(ctx, `SELECT encode(payload, 'escape') FROM `+table+` WHERE message_id = $1`, msgID)
		wantCode(t, err, "")
		for r.Next() {
			var s *string
			wantCode(t, r.Scan(&s), "")
			rows = append(rows, s)
		}
		wantCode(t, r.Err(), "")
		switch len(rows) {
		case 0:
			return nil
		case 1:
			if rows[0] == nil {
				return ptr("<null>")
			}
			return rows[0]
		}
		t.Fatalf("%d %s rows", len(rows), table)
		return nil
	}
	begin := func(t *testing.T, m *auth.Message) {
		t.Helper()
		d, err := e.db.BeginDelivery(ctx, m.ID, time.Minute)
		wantCode(t, err, "")
		if d != auth.DeliverySend {
			t.Fatalf("decision %v", d)
		}
	}
	finish := func(t *testing.T, m *auth.Message, status auth.MessageStatus, sealed string) {
		t.Helper()
		var b []byte
		if sealed != "" {
			b = []byte(sealed)
		}
		wantCode(t, e.db.FinishDeliveryAttempt(ctx, m.ID, status, "", "twilio 21211", auth.ProviderAttempt{Provider: "twilio"}, b), "")
	}
	// deliver publishes m (the mark), then delivers it: begin, and finish
	// as status with sealed.
	deliver := func(t *testing.T, m *auth.Message, status auth.MessageStatus, sealed string) {
		t.Helper()
		wantCode(t, e.db.MarkPublished(ctx, m.ID), "")
		begin(t, m)
		finish(t, m, status, sealed)
	}
	// legacy moves a new message's payload to where a replica of the
	// previous version puts it.
	legacy := func(t *testing.T, m *auth.Message, payload string) {
		t.Helper()
		_, err := e.db.Pool().Exec(ctx, `
			WITH o AS (UPDATE message_outbox SET payload = NULL WHERE message_id = $1 RETURNING expires_at)
			INSERT INTO message_payloads (message_id, payload, expires_at) SELECT $1, $2::bytea, expires_at FROM o`, m.ID, []byte(payload))
		wantCode(t, err, "")
	}

	tests := []struct {
		name string
		act  func(t *testing.T, c *auth.Challenge, m *auth.Message)
		// after act: the payload in message_payloads and in the outbox
		// row (nil: no row; "<null>": a row without one)
		wantStored, wantOutbox *string
		// what a claim (the relay) then publishes; "" nothing
		wantClaim, wantMsgIDSuffix string
		wantStatus                 auth.MessageStatus
	}{
		{"SentSendWritesOnlyItsOutboxRow", func(t *testing.T, _ *auth.Challenge, m *auth.Message) {},
			nil, ptr(sealed), sealed, "", auth.MessageQueued},
		{"PublishedMarkTakesThePayloadAlong", func(t *testing.T, _ *auth.Challenge, m *auth.Message) {
			wantCode(t, e.db.MarkPublished(ctx, m.ID), "")
		}, nil, nil, "", "", auth.MessagePublished},
		{"SentLeavesNoPayloadRow", func(t *testing.T, _ *auth.Challenge, m *auth.Message) {
			deliver(t, m, auth.MessageSent, "")
		}, nil, nil, "", "", auth.MessageSent},
		{"DeadSkippedLeavesNoPayloadRow", func(t *testing.T, c *auth.Challenge, m *auth.Message) {
			wantCode(t, e.db.MarkPublished(ctx, m.ID), "")
			wantCode(t, e.db.ConsumeChallenge(ctx, p.ID, c.ID), "")
			if d, err := e.db.BeginDelivery(ctx, m.ID, time.Minute); err != nil || d != auth.DeliveryDead {
				t.Fatalf("decision %v, %v", d, err)
			}
		}, nil, nil, "", "", auth.MessageSkipped},
		{"RetryingKeepsNoPayloadRow", func(t *testing.T, _ *auth.Challenge, m *auth.Message) {
			deliver(t, m, auth.MessageRetrying, sealed) // the store ignores it: the stream still has the event
		}, nil, nil, "", "", auth.MessageRetrying},
		{"FailedKeepsTheEventsPayloadForReplay", func(t *testing.T, _ *auth.Challenge, m *auth.Message) {
			deliver(t, m, auth.MessageFailed, sealed)
		}, ptr(sealed), nil, "", "", auth.MessageFailed},
		{"FailedReplayedWithItsPayloadMovedToTheOutbox", func(t *testing.T, _ *auth.Challenge, m *auth.Message) {
			deliver(t, m, auth.MessageFailed, sealed)
			wantCode(t, e.db.RequeueMessage(ctx, p.ID, m.ID), "")
		}, nil, ptr(sealed), sealed, ".replay.1", auth.MessageQueued},
		{"ReplayFailedAgainKeepsItsPayloadAgain", func(t *testing.T, _ *auth.Challenge, m *auth.Message) {
			deliver(t, m, auth.MessageFailed, sealed)
			wantCode(t, e.db.RequeueMessage(ctx, p.ID, m.ID), "")
			deliver(t, m, auth.MessageFailed, sealed)
			wantCode(t, e.db.RequeueMessage(ctx, p.ID, m.ID), "")
		}, nil, ptr(sealed), sealed, ".replay.2", auth.MessageQueued},
		{"FailedWithoutTheEventsPayloadNotReplayable", func(t *testing.T, _ *auth.Challenge, m *auth.Message) {
			deliver(t, m, auth.MessageFailed, "") // a worker of the previous version
			wantCode(t, e.db.RequeueMessage(ctx, p.ID, m.ID), auth.EConflict)
		}, nil, nil, "", "", auth.MessageFailed},
		{"PreviousVersionRowClaimedFromPayloads", func(t *testing.T, _ *auth.Challenge, m *auth.Message) {
			legacy(t, m, "legacy")
		}, ptr("legacy"), ptr("<null>"), "legacy", "", auth.MessageQueued},
		{"PreviousVersionSentDropsItsPayload", func(t *testing.T, _ *auth.Challenge, m *auth.Message) {
			legacy(t, m, "legacy")
			deliver(t, m, auth.MessageSent, "")
		}, nil, nil, "", "", auth.MessageSent},
		{"PreviousVersionFailedKeepsItsOwnPayload", func(t *testing.T, _ *auth.Challenge, m *auth.Message) {
			legacy(t, m, "legacy")
			deliver(t, m, auth.MessageFailed, sealed)
			wantCode(t, e.db.RequeueMessage(ctx, p.ID, m.ID), "")
		}, nil, ptr("legacy"), "legacy", ".replay.1", auth.MessageQueued},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := e.user(t, p, "", "+1415555"+string(rune('0'+i/100%10))+string(rune('0'+i/10%10))+string(rune('0'+i%10))+"9")
			c, m := e.challenge(t, p, u, u.Phones[0].ID, auth.ChannelSMS, time.Hour)
			tt.act(t, c, m)
			got, err := e.db.FindMessage(ctx, p.ID, m.ID)
			wantCode(t, err, "")
			if got.Status != tt.wantStatus {
				t.Fatalf("status %s, want %s", got.Status, tt.wantStatus)
			}
			for _, w := range []struct {
				table string
				want  *string
			}{{"message_payloads", tt.wantStored}, {"message_outbox", tt.wantOutbox}} {
				if g := stored(t, w.table, m.ID); (g == nil) != (w.want == nil) || g != nil && *g != *w.want {
					t.Fatalf("%s payload %v, want %v", w.table, deref(g), deref(w.want))
				}
			}
			// The relay, after a NATS outage: what is still unpublished
			// goes out with its payload and its dedupe id.
			e.clock.Advance(time.Second)
			items, err := e.db.ClaimOutbox(ctx, 0, time.Minute, 1000)
			wantCode(t, err, "")
			var claimed *auth.OutboxItem
			for _, it := range items {
				if it.MessageID == m.ID {
					claimed = &it
				}
			}
			switch {
			case tt.wantClaim == "" && claimed != nil:
				t.Fatalf("claimed %+v", claimed)
			case tt.wantClaim == "":
			case claimed == nil:
				t.Fatal("not claimed")
			case string(claimed.Payload) != tt.wantClaim || claimed.MsgID != c.ID+tt.wantMsgIDSuffix:
				t.Fatalf("claimed payload %q with MsgID %q, want %q with %q", claimed.Payload, claimed.MsgID, tt.wantClaim, c.ID+tt.wantMsgIDSuffix)
			}
		})
	}
}

// TestOutboxPayloadGroupCommittedFinishes: finishes that share one
// statement (group commit), some failed with their event's payload and
// some sent, store the payloads of the failed ones only, each under its
// own message.
func TestOutboxPayloadGroupCommittedFinishes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := ctxT(t)
	p := e.project(t)
	const n = 40
	ms := make([]*auth.Message, n)
	for i := range ms {
		u := e.user(t, p, fmt.Sprintf("gc%d@example.com", i), "")
		_, ms[i] = e.challenge(t, p, u, u.Emails[0].ID, auth.ChannelEmail, time.Hour)
		wantCode(t, e.db.MarkPublished(ctx, ms[i].ID), "")
		if d, err := e.db.BeginDelivery(ctx, ms[i].ID, time.Minute); err != nil || d != auth.DeliverySend {
			t.Fatalf("decision %v, %v", d, err)
		}
	}
	var wg sync.WaitGroup
	for i, m := range ms {
		wg.Go(func() {
			status, sealed := auth.MessageSent, []byte(nil)
			if i%2 == 1 {
				status, sealed = auth.MessageFailed, []byte("sealed "+m.ID)
			}
			if err := e.db.FinishDeliveryAttempt(ctx, m.ID, status, "", "", auth.ProviderAttempt{}, sealed); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	rows, err := e.db.Pool().Query(ctx, `SELECT message_id, encode(payload, 'escape') FROM message_payloads`)
	wantCode(t, err, "")
	got := map[string]string{}
	for rows.Next() {
		var id, pl string
		wantCode(t, rows.Scan(&id, &pl), "")
		got[id] = pl
	}
	wantCode(t, rows.Err(), "")
	if len(got) != n/2 {
		t.Fatalf("%d payloads stored, want %d", len(got), n/2)
	}
	for i, m := range ms {
		if pl, ok := got[m.ID]; ok != (i%2 == 1) || ok && pl != "sealed "+m.ID {
			t.Fatalf("message %d: payload %q stored %v", i, pl, ok)
		}
	}
}

func deref(s *string) string {
	if s == nil {
		return "<no row>"
	}
	return *s
}
