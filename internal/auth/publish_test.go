package auth_test

import (
	"context"
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
