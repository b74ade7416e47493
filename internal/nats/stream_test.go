package nats_test

import (
	"bytes"
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/sesame-auth/sesame/internal/auth"
	snats "github.com/sesame-auth/sesame/internal/nats"
)

func TestSubjectConstantsMatchAuthSubjects(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		constant string
		kind     auth.EventKind
		ch       auth.Channel
		consumer string
	}{
		{snats.SubjectOTPSMS, auth.KindOTP, auth.ChannelSMS, snats.ConsumerSMS},
		{snats.SubjectOTPWhatsApp, auth.KindOTP, auth.ChannelWhatsApp, snats.ConsumerSMS},
		{snats.SubjectOTPEmail, auth.KindOTP, auth.ChannelEmail, snats.ConsumerEmail},
		{snats.SubjectMagicLinkEmail, auth.KindMagicLink, auth.ChannelEmail, snats.ConsumerEmail},
	} {
		if got := auth.Subject(tc.kind, tc.ch); got != tc.constant {
			t.Errorf("auth.Subject(%s, %s) = %q, constant is %q", tc.kind, tc.ch, got, tc.constant)
		}
		if !slices.Contains(snats.FilterSubjects(tc.consumer), tc.constant) {
			t.Errorf("%s does not filter %s", tc.consumer, tc.constant)
		}
	}
}

func TestEnsureStreamAndConsumers_IdempotentAndConcurrentCallsAllSucceed(t *testing.T) {
	t.Parallel()
	js := connect(t, startServer(t))

	// Two processes starting at once: both must succeed, twice.
	for round := range 2 {
		var wg sync.WaitGroup
		errs := make(chan error, 6)
		for range 2 {
			wg.Go(func() {
				_, err := snats.EnsureStream(ctx(t), js, snats.StreamOptions{})
				errs <- err
			})
		}
		wg.Wait()
		for _, name := range []string{snats.ConsumerSMS, snats.ConsumerEmail} {
			for range 2 {
				wg.Go(func() {
					_, err := snats.EnsureConsumer(ctx(t), js, snats.ConsumerOptions{Name: name, Concurrency: 4})
					errs <- err
				})
			}
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
		}
	}

	s, err := js.Stream(ctx(t), snats.StreamName)
	if err != nil {
		t.Fatal(err)
	}
	cfg := s.CachedInfo().Config
	if cfg.Retention != jetstream.WorkQueuePolicy || cfg.Storage != jetstream.FileStorage ||
		cfg.MaxAge != 15*time.Minute || cfg.Duplicates != cfg.MaxAge || cfg.Discard != jetstream.DiscardOld {
		t.Errorf("stream config = %+v", cfg)
	}
	if want := []string{"otp.requested.>", "magiclink.requested.>"}; !slices.Equal(cfg.Subjects, want) {
		t.Errorf("subjects = %v, want %v", cfg.Subjects, want)
	}

	for name, filters := range map[string][]string{
		snats.ConsumerSMS:   {"otp.requested.sms", "otp.requested.whatsapp"},
		snats.ConsumerEmail: {"otp.requested.email", "magiclink.requested.email"},
	} {
		c, err := js.Consumer(ctx(t), snats.StreamName, name)
		if err != nil {
			t.Fatal(err)
		}
		cc := c.CachedInfo().Config
		if cc.Durable != name || !slices.Equal(cc.FilterSubjects, filters) ||
			cc.AckPolicy != jetstream.AckExplicitPolicy || cc.DeliverPolicy != jetstream.DeliverAllPolicy ||
			cc.AckWait != snats.DefaultAckWait || cc.MaxDeliver != 10 || cc.MaxAckPending != 2*4*snats.DefaultPodsHint {
			t.Errorf("consumer %s config = %+v", name, cc)
		}
	}

	// An update is applied (the worker with new options wins).
	if _, err := snats.EnsureConsumer(ctx(t), js, snats.ConsumerOptions{Name: snats.ConsumerSMS, MaxDeliver: 5}); err != nil {
		t.Fatal(err)
	}
	c, _ := js.Consumer(ctx(t), snats.StreamName, snats.ConsumerSMS)
	if got := c.CachedInfo().Config.MaxDeliver; got != 5 {
		t.Errorf("MaxDeliver after update = %d, want 5", got)
	}
}

func TestEnsureStream_DuplicatesWindowNeverExceedsMaxAge(t *testing.T) {
	t.Parallel()
	js := connect(t, startServer(t))
	s, err := snats.EnsureStream(ctx(t), js, snats.StreamOptions{MaxAge: time.Minute, Duplicates: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if cfg := s.CachedInfo().Config; cfg.Duplicates != time.Minute {
		t.Errorf("Duplicates = %v, want 1m", cfg.Duplicates)
	}
}

func TestEnsureConsumer_OverlappingFilterIsRejected(t *testing.T) {
	t.Parallel()
	js := setup(t)
	if _, err := snats.EnsureConsumer(ctx(t), js, snats.ConsumerOptions{Name: snats.ConsumerSMS}); err != nil {
		t.Fatal(err)
	}
	_, err := snats.EnsureConsumer(ctx(t), js, snats.ConsumerOptions{Name: "other", FilterSubjects: []string{"otp.requested.>"}})
	if err == nil {
		t.Fatal("overlapping work-queue consumer was accepted")
	}
	if _, err := snats.EnsureConsumer(ctx(t), js, snats.ConsumerOptions{Name: "unknown"}); err == nil {
		t.Fatal("consumer without filter subjects was accepted")
	}
}

func TestConsumerInfo_CountsPendingMessages(t *testing.T) {
	t.Parallel()
	js := setup(t)
	if _, err := snats.EnsureConsumer(ctx(t), js, snats.ConsumerOptions{Name: snats.ConsumerSMS}); err != nil {
		t.Fatal(err)
	}
	publish(t, js, smsEvent("a"), smsEvent("b"), smsEvent("c"), event(auth.KindOTP, auth.ChannelEmail, "d"))
	// The server updates a consumer's pending count after the PubAck, not
	// with it: under load an info read right after the publish saw fewer.
	// Wait until the count settles (it never exceeds 3 for this filter).
	var st snats.ConsumerStats
	waitFor(t, 5*time.Second, "the SMS consumer to count its pending messages", func() bool {
		var err error
		st, err = snats.ConsumerInfo(ctx(t), js, snats.ConsumerSMS)
		if err != nil {
			t.Fatal(err)
		}
		return st.NumPending >= 3
	})
	if st.NumPending != 3 || st.NumAckPending != 0 || st.NumRedelivered != 0 {
		t.Errorf("stats = %+v, want 3 pending", st)
	}
	if _, err := snats.ConsumerInfo(ctx(t), js, snats.ConsumerEmail); err == nil {
		t.Error("ConsumerInfo of a missing consumer succeeded")
	}
}

func TestDefaultBackoff_DoublesFromOneSecondUpToOneMinuteWithJitter(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		n    uint64
		base time.Duration
	}{
		{0, time.Second}, {1, time.Second}, {2, 2 * time.Second}, {3, 4 * time.Second},
		{6, 32 * time.Second}, {7, time.Minute}, {10, time.Minute}, {1000, time.Minute},
	} {
		for range 50 {
			d := snats.DefaultBackoff(tc.n)
			lo := time.Duration(float64(tc.base) * 0.8)
			hi := min(time.Duration(float64(tc.base)*1.2), time.Minute)
			if d < lo || d > hi {
				t.Fatalf("DefaultBackoff(%d) = %v, want in [%v, %v]", tc.n, d, lo, hi)
			}
		}
	}
	if d := snats.ExponentialBackoff(10*time.Millisecond, 50*time.Millisecond, 0)(4); d != 50*time.Millisecond {
		t.Errorf("capped backoff = %v", d)
	}
}

// TestWorker_EventCarriesItsSealedPayload: the outbox's ciphertext rides
// in the event (auth.Event.Sealed, migration 0020) and reaches the worker
// byte for byte, so that its failed outcome can store it for a replay;
// an event without one (published by a previous version) arrives without.
func TestWorker_EventCarriesItsSealedPayload(t *testing.T) {
	t.Parallel()
	js := setup(t)
	sealed := []byte{0, 1, 2, 0xfe, 0xff, '"', '\\', 'x'}
	with, without := smsEvent("sealed-with"), smsEvent("sealed-without")
	with.Sealed = sealed
	publish(t, js, with, without)
	var mu sync.Mutex
	got := map[string][]byte{}
	w := snats.NewWorker(js, snats.ConsumerSMS, snats.WorkerOptions{Logger: quiet})
	stop := runWorker(t, w, func(_ context.Context, ev *auth.Event) error {
		mu.Lock()
		got[ev.MessageID] = ev.Sealed
		mu.Unlock()
		return nil
	})
	waitFor(t, 5*time.Second, "both events handled", func() bool { mu.Lock(); defer mu.Unlock(); return len(got) == 2 })
	stop()
	mu.Lock()
	defer mu.Unlock()
	if !bytes.Equal(got[with.MessageID], sealed) || got[without.MessageID] != nil {
		t.Fatalf("sealed payloads received %q and %q, want %q and none", got[with.MessageID], got[without.MessageID], sealed)
	}
}
