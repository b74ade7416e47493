package auth_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/internal/auth"
	"github.com/sesame-auth/sesame/internal/authtest"
)

// claimCounter counts the relay's outbox scans.
type claimCounter struct {
	auth.MessageStore
	n atomic.Int64
}

func (c *claimCounter) ClaimOutbox(ctx context.Context, minAge, lease time.Duration, limit int) ([]auth.OutboxItem, error) {
	c.n.Add(1)
	return c.MessageStore.ClaimOutbox(ctx, minAge, lease, limit)
}

// TestRelay_IdleUntilWokenThenPublishesWhatTheOutageMissed: a relay with
// Wake scans once at start and then not at all while nothing is pending
// (an idle relay scanning every Interval would scan ~40 times here); a
// send whose inline publish fails wakes it, and it publishes that send
// exactly once.
func TestRelay_IdleUntilWokenThenPublishesWhatTheOutageMissed(t *testing.T) {
	env := authtest.New(t)
	store := &claimCounter{MessageStore: env.Store}
	relay := &auth.Relay{Store: store, Publisher: env.Publisher, Keys: env.Keys, Wake: env.Service.RelayWake(),
		Interval: 5 * time.Millisecond, Idle: time.Hour, MinAge: time.Nanosecond}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { relay.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	time.Sleep(200 * time.Millisecond)
	if n := store.n.Load(); n < 1 || n > 6 {
		t.Fatalf("scans while idle = %d, want the start-up scans only (1..6)", n)
	}
	env.Publisher.SetFail(errors.New("nats: no responders"))
	if _, err := env.Service.SendOTP(t.Context(), env.Project, auth.SendOTPInput{Channel: auth.ChannelSMS, To: "+14155550109", LoginOrCreate: true}); err != nil {
		t.Fatalf("send during outage must be accepted: %v", err)
	}
	env.Publisher.SetFail(nil)
	deadline := time.Now().Add(10 * time.Second)
	for len(env.Events()) == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if got := len(env.Events()); got != 1 {
		t.Fatalf("events after the wake-up = %d, want 1", got)
	}
	for time.Now().Before(deadline) {
		if n, _ := env.Store.CountOutbox(t.Context()); n == 0 {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("the republished message was never marked published")
}

// TestPublishInline_MarksEverySendPublishedOffTheRequestPath: concurrent
// sends are all marked published (by the background batcher) once
// FlushPublished returns; nothing is left for the relay.
func TestPublishInline_MarksEverySendPublishedOffTheRequestPath(t *testing.T) {
	env := authtest.New(t)
	const n = 40
	var wg sync.WaitGroup
	ids := make([]string, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			res, err := env.Service.SendOTP(t.Context(), env.Project, auth.SendOTPInput{Channel: auth.ChannelSMS, To: fmt.Sprintf("+141555502%02d", i), LoginOrCreate: true})
			errs[i] = err
			if err == nil {
				ids[i] = res.MessageID
			}
		})
	}
	wg.Wait()
	env.Service.FlushPublished(t.Context())
	for i, id := range ids {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		m, err := env.Service.GetMessage(t.Context(), env.Project, id)
		if err != nil {
			t.Fatal(err)
		}
		if m.Status != auth.MessagePublished {
			t.Fatalf("message %d status = %s, want published", i, m.Status)
		}
	}
	if q, _ := env.Store.CountOutbox(t.Context()); q != 0 {
		t.Fatalf("queued after flush = %d", q)
	}
}

// TestFailedMessageReplaysTheEventItWasSent: since migration 0020 the
// store drops a message's payload when it is published; the event carries
// the same ciphertext (Event.Sealed, through the stream's JSON) and the
// worker's failed outcome stores it back, so that an operator's replay
// publishes the same code again under a new dedupe id, whether the event
// went out inline or by the relay after a NATS outage; once sent, no
// payload is left.
func TestFailedMessageReplaysTheEventItWasSent(t *testing.T) {
	render := func(ev *auth.Event) *auth.OutboundMessage {
		return &auth.OutboundMessage{Channel: ev.Channel, To: ev.To, Text: ev.Code}
	}
	for _, tc := range []struct {
		name   string
		outage bool
	}{
		{"PublishedInline", false},
		{"PublishedByTheRelayAfterAnOutage", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := authtest.New(t)
			ctx := t.Context()
			relay := &auth.Relay{Store: env.Store, Publisher: env.Publisher, Keys: env.Keys, MinAge: time.Nanosecond}
			if tc.outage {
				env.Publisher.SetFail(errors.New("nats: no responders"))
			}
			res := mustSend(t, env, env.Project, auth.SendOTPInput{Channel: auth.ChannelSMS, To: "+14155550151", LoginOrCreate: true})
			if tc.outage {
				env.Publisher.SetFail(nil)
				time.Sleep(time.Millisecond)
				if n, err := relay.RunOnce(ctx); err != nil || n != 1 {
					t.Fatalf("relay published %d, %v; want the send the outage missed", n, err)
				}
			}
			env.Service.FlushPublished(ctx)
			evs := env.Events()
			if len(evs) != 1 || evs[0].MessageID != res.MessageID || len(evs[0].Sealed) == 0 {
				t.Fatalf("events %d, want the send's with its sealed payload", len(evs))
			}
			// What a worker decodes from the stream.
			wire := func(ev *auth.Event) *auth.Event {
				b, err := json.Marshal(ev)
				if err != nil {
					t.Fatal(err)
				}
				var out auth.Event
				if err := json.Unmarshal(b, &out); err != nil {
					t.Fatal(err)
				}
				return &out
			}
			ev := wire(evs[0])
			if n, _ := env.Store.CountOutbox(ctx); n != 0 {
				t.Fatalf("outbox %d after the publish, want 0", n)
			}
			d := &auth.Deliverer{Store: env.Store, Sender: &fakeSender{errs: []error{auth.Permanent("twilio 21211", nil)}}, Render: render}
			if err := d.Deliver(ctx, ev); err == nil {
				t.Fatal("the permanent failure was not reported")
			}
			if err := env.Service.ReplayMessage(ctx, env.Project, res.MessageID); err != nil {
				t.Fatalf("replay of the failed message: %v", err)
			}
			time.Sleep(time.Millisecond)
			if n, err := relay.RunOnce(ctx); err != nil || n != 1 {
				t.Fatalf("relay published %d, %v; want the replay", n, err)
			}
			evs = env.Events()
			if len(evs) != 2 || evs[1].MessageID != res.MessageID || evs[1].Code != ev.Code || evs[1].Code == "" {
				t.Fatalf("events %d; want the replay of the same code", len(evs))
			}
			replay := wire(evs[1])
			d.Sender = &fakeSender{}
			if err := d.Deliver(ctx, replay); err != nil {
				t.Fatal(err)
			}
			m, err := env.Service.GetMessage(ctx, env.Project, res.MessageID)
			if err != nil || m.Status != auth.MessageSent {
				t.Fatalf("message %+v, %v; want sent", m, err)
			}
			if err := env.Service.ReplayMessage(ctx, env.Project, res.MessageID); auth.ErrorCode(err) != auth.EConflict {
				t.Fatalf("replay of a sent message: %v, want conflict", err)
			}
		})
	}
}
