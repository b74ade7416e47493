package nats_test

import (
	"context"
	"errors"
	"maps"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/sesame-auth/sesame/internal/auth"
	snats "github.com/sesame-auth/sesame/internal/nats"
)

func TestPublish_SameMsgIDTwiceIsDeliveredOnce(t *testing.T) {
	t.Parallel()
	js := setup(t)
	p := snats.NewPublisher(js)
	ev := smsEvent("dup")
	for range 3 {
		if err := p.Publish(ctx(t), ev, "chal-dup"); err != nil {
			t.Fatal(err)
		}
	}
	// An empty id falls back to the challenge id: still the same message.
	if err := p.Publish(ctx(t), ev, ""); err != nil {
		t.Fatal(err)
	}
	// A replay id is a new message.
	if err := p.Publish(ctx(t), ev, "chal-dup/replay-1"); err != nil {
		t.Fatal(err)
	}
	if n := streamMsgs(t, js); n != 2 {
		t.Fatalf("stream holds %d messages, want 2", n)
	}

	var rec recorder
	w := snats.NewWorker(js, snats.ConsumerSMS, snats.WorkerOptions{Logger: quiet})
	runWorker(t, w, func(ctx context.Context, ev *auth.Event) error { rec.add(ctx, ev); return nil })
	waitFor(t, 5*time.Second, "stream empty", func() bool { return streamMsgs(t, js) == 0 })
	time.Sleep(200 * time.Millisecond)
	if n := rec.count(); n != 2 {
		t.Errorf("handler called %d times, want 2 (original + replay)", n)
	}
	// Still a duplicate after the message was consumed (inside the window).
	if err := p.Publish(ctx(t), ev, "chal-dup"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	if n := rec.count(); n != 2 {
		t.Errorf("republish after consumption was delivered again (%d calls)", n)
	}
}

func TestRouting_EachSubjectReachesOnlyItsConsumer(t *testing.T) {
	t.Parallel()
	js := setup(t)
	var sms, email recorder
	runWorker(t, snats.NewWorker(js, snats.ConsumerSMS, snats.WorkerOptions{Logger: quiet}),
		func(ctx context.Context, ev *auth.Event) error { sms.add(ctx, ev); return nil })
	runWorker(t, snats.NewWorker(js, snats.ConsumerEmail, snats.WorkerOptions{Logger: quiet}),
		func(ctx context.Context, ev *auth.Event) error { email.add(ctx, ev); return nil })

	cases := []struct {
		name string
		ev   *auth.Event
		want *recorder
	}{
		{"sms reaches smsworker", event(auth.KindOTP, auth.ChannelSMS, "sms"), &sms},
		{"whatsapp reaches smsworker", event(auth.KindOTP, auth.ChannelWhatsApp, "wa"), &sms},
		{"email otp reaches emailworker", event(auth.KindOTP, auth.ChannelEmail, "eotp"), &email},
		{"magic link reaches emailworker", event(auth.KindMagicLink, auth.ChannelEmail, "ml"), &email},
	}
	for _, tc := range cases {
		publish(t, js, tc.ev)
	}
	waitFor(t, 5*time.Second, "all delivered", func() bool { return sms.count()+email.count() == len(cases) })
	time.Sleep(100 * time.Millisecond)
	for _, tc := range cases {
		other := &email
		if tc.want == &email {
			other = &sms
		}
		if got := tc.want.ids()[tc.ev.MessageID]; got != 1 {
			t.Errorf("%s: delivered %d times to the right worker", tc.name, got)
		}
		if got := other.ids()[tc.ev.MessageID]; got != 0 {
			t.Errorf("%s: delivered %d times to the wrong worker", tc.name, got)
		}
	}
	for _, c := range sms.all() {
		if c.info.Consumer != snats.ConsumerSMS || c.info.Subject != c.subject {
			t.Errorf("delivery info %+v for %s", c.info, c.subject)
		}
	}
}

// TestWorker_Outcomes checks how each handler result settles the message.
func TestWorker_Outcomes(t *testing.T) {
	t.Parallel()
	boom := errors.New("provider down")
	cases := []struct {
		name     string
		opts     snats.WorkerOptions
		raw      []byte                           // published instead of an event when set
		result   func(attempt uint64) error       // handler result per attempt
		calls    int                              // handler calls expected
		giveUps  int                              // OnGiveUp calls expected
		outcomes map[string]int                   // metrics expected
		check    func(t *testing.T, calls []call) // extra checks
	}{
		{
			name:     "success is acked and removed",
			result:   func(uint64) error { return nil },
			calls:    1,
			outcomes: map[string]int{"ack": 1},
		},
		{
			name:     "permanent error is terminated and not redelivered",
			result:   func(uint64) error { return auth.Permanent("twilio 21211", boom) },
			calls:    1,
			outcomes: map[string]int{"term": 1},
		},
		{
			name:     "transient error is redelivered after the backoff then acked",
			opts:     snats.WorkerOptions{Backoff: func(uint64) time.Duration { return 300 * time.Millisecond }},
			result:   func(n uint64) error { return map[bool]error{true: auth.Retryable("429", 0, boom)}[n == 1] },
			calls:    2,
			outcomes: map[string]int{"nak": 1, "ack": 1},
			check: func(t *testing.T, calls []call) {
				if gap := calls[1].at.Sub(calls[0].at); gap < 250*time.Millisecond {
					t.Errorf("redelivered after %v, want >= 300ms backoff", gap)
				}
				if calls[0].info.NumDelivered != 1 || calls[1].info.NumDelivered != 2 {
					t.Errorf("NumDelivered = %d, %d", calls[0].info.NumDelivered, calls[1].info.NumDelivered)
				}
			},
		},
		{
			name:     "plain error is retried like a transient one",
			opts:     snats.WorkerOptions{Backoff: func(uint64) time.Duration { return 10 * time.Millisecond }},
			result:   func(n uint64) error { return map[bool]error{true: boom}[n == 1] },
			calls:    2,
			outcomes: map[string]int{"nak": 1, "ack": 1},
		},
		{
			name: "retry-after longer than the backoff wins",
			opts: snats.WorkerOptions{Backoff: func(uint64) time.Duration { return 10 * time.Millisecond }},
			result: func(n uint64) error {
				return map[bool]error{true: auth.Retryable("429", 400*time.Millisecond, nil)}[n == 1]
			},
			calls:    2,
			outcomes: map[string]int{"nak": 1, "ack": 1},
			check: func(t *testing.T, calls []call) {
				if gap := calls[1].at.Sub(calls[0].at); gap < 350*time.Millisecond {
					t.Errorf("redelivered after %v, want >= 400ms retry-after", gap)
				}
			},
		},
		{
			name:     "max deliveries calls OnGiveUp once and terminates",
			opts:     snats.WorkerOptions{MaxDeliver: 3, Backoff: func(uint64) time.Duration { return 20 * time.Millisecond }},
			result:   func(uint64) error { return auth.Retryable("5xx", 0, boom) },
			calls:    3,
			giveUps:  1,
			outcomes: map[string]int{"nak": 2, "term": 1},
			check: func(t *testing.T, calls []call) {
				if !calls[2].info.LastAttempt() || calls[1].info.LastAttempt() {
					t.Errorf("LastAttempt flags wrong: %+v", calls)
				}
			},
		},
		{
			name: "handler panic is recovered and retried",
			opts: snats.WorkerOptions{Backoff: func(uint64) time.Duration { return 10 * time.Millisecond }},
			result: func(n uint64) error {
				if n == 1 {
					panic("bug")
				}
				return nil
			},
			calls:    2,
			outcomes: map[string]int{"nak": 1, "ack": 1},
		},
		{
			name:     "undecodable payload is terminated without calling the handler",
			raw:      []byte("not json"),
			result:   func(uint64) error { return nil },
			calls:    0,
			outcomes: map[string]int{"term": 1},
		},
		{
			name:     "event on the wrong subject is terminated as bad payload",
			raw:      []byte(`{"message_id":"x","kind":"otp","channel":"email"}`),
			result:   func(uint64) error { return nil },
			calls:    0,
			outcomes: map[string]int{"term": 1},
		},
		{
			name:     "slow handler is kept alive with in-progress and not redelivered",
			opts:     snats.WorkerOptions{AckWait: 600 * time.Millisecond},
			result:   func(uint64) error { time.Sleep(1500 * time.Millisecond); return nil },
			calls:    1,
			outcomes: map[string]int{"ack": 1},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			js := setup(t)
			var rec recorder
			var giveUps atomic.Int32
			m := newMetrics()
			opts := tc.opts
			opts.Logger, opts.Metrics = quiet, m
			opts.OnGiveUp = func(ctx context.Context, ev *auth.Event, err error) {
				giveUps.Add(1)
				if !errors.Is(err, boom) {
					t.Errorf("OnGiveUp err = %v", err)
				}
			}
			w := snats.NewWorker(js, snats.ConsumerSMS, opts)
			runWorker(t, w, func(ctx context.Context, ev *auth.Event) error {
				c := rec.add(ctx, ev)
				return tc.result(c.info.NumDelivered)
			})
			if tc.raw != nil {
				if _, err := js.Publish(ctx(t), snats.SubjectOTPSMS, tc.raw); err != nil {
					t.Fatal(err)
				}
			} else {
				publish(t, js, smsEvent("m1"))
			}

			// Settled means: removed from the work queue, nothing held.
			waitFor(t, 5*time.Second, "message settled", func() bool {
				st, err := snats.ConsumerInfo(ctx(t), js, snats.ConsumerSMS)
				return err == nil && streamMsgs(t, js) == 0 && st.NumAckPending == 0 && st.NumPending == 0
			})
			time.Sleep(300 * time.Millisecond) // room for a wrong redelivery
			want := map[string]int{}
			for k, v := range tc.outcomes {
				want[snats.ConsumerSMS+"/"+k] = v
			}
			waitFor(t, 2*time.Second, "metrics", func() bool { got, _ := m.snapshot(); return maps.Equal(got, want) })
			calls := rec.all()
			if len(calls) != tc.calls {
				t.Fatalf("handler called %d times, want %d", len(calls), tc.calls)
			}
			if n := int(giveUps.Load()); n != tc.giveUps {
				t.Errorf("OnGiveUp called %d times, want %d", n, tc.giveUps)
			}
			if _, handled := m.snapshot(); handled != tc.calls {
				t.Errorf("handler durations observed %d, want %d", handled, tc.calls)
			}
			if tc.check != nil {
				tc.check(t, calls)
			}
		})
	}
}

func TestWorker_ConcurrencyRunsEightHandlersAtOnce(t *testing.T) {
	t.Parallel()
	js := setup(t)
	var inflight, maxInflight atomic.Int32
	var rec recorder
	w := snats.NewWorker(js, snats.ConsumerSMS, snats.WorkerOptions{Concurrency: 8, Logger: quiet})
	runWorker(t, w, func(ctx context.Context, ev *auth.Event) error {
		n := inflight.Add(1)
		defer inflight.Add(-1)
		for {
			m := maxInflight.Load()
			if n <= m || maxInflight.CompareAndSwap(m, n) {
				break
			}
		}
		time.Sleep(200 * time.Millisecond)
		rec.add(ctx, ev)
		return nil
	})
	var evs []*auth.Event
	for _, id := range ids("c", 32) {
		evs = append(evs, smsEvent(id))
	}
	publish(t, js, evs...)
	waitFor(t, 30*time.Second, "32 handled", func() bool { return rec.count() == 32 })
	if m := maxInflight.Load(); m != 8 {
		t.Errorf("max in-flight handlers = %d, want 8 (all slots used, never more)", m)
	}
	waitFor(t, 5*time.Second, "stream empty", func() bool { return streamMsgs(t, js) == 0 })
}

func TestWorker_GracefulShutdownAcksFinishedAndReleasesTheRest(t *testing.T) {
	t.Parallel()
	js := setup(t)

	// Worker 1: "fast" messages take 300ms, "slow" ones outlast the 1s drain.
	// AckWait is long (30s), so anything not explicitly released would not
	// come back within this test.
	var started, inflight atomic.Int32
	var finished1 recorder
	w1 := snats.NewWorker(js, snats.ConsumerSMS, snats.WorkerOptions{
		Concurrency: 4, DrainTimeout: time.Second, Logger: quiet,
	})
	stop1 := runWorker(t, w1, func(ctx context.Context, ev *auth.Event) error {
		started.Add(1)
		inflight.Add(1)
		defer inflight.Add(-1)
		d := 300 * time.Millisecond
		if strings.HasPrefix(ev.MessageID, "slow") {
			d = 30 * time.Second
		}
		select {
		case <-time.After(d):
			finished1.add(ctx, ev)
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})

	all := []string{"fast-0", "slow-0", "fast-1", "slow-1"}
	all = append(all, ids("later", 12)...)
	var evs []*auth.Event
	for _, id := range all {
		evs = append(evs, smsEvent(id))
	}
	publish(t, js, evs...)
	waitFor(t, 5*time.Second, "4 handlers in flight", func() bool { return inflight.Load() == 4 })

	took := stop1()
	if took > 15*time.Second {
		t.Fatalf("Run returned after %v, contract is 15s", took)
	}
	if took > 3*time.Second {
		t.Errorf("Run returned after %v, want about the 1s drain", took)
	}
	if w1.Ready() {
		t.Error("worker 1 still ready after Run returned")
	}
	got1 := finished1.ids()
	if got1["fast-0"] != 1 || got1["fast-1"] != 1 {
		t.Errorf("in-flight fast handlers did not finish during the drain: %v", got1)
	}

	// Worker 2 takes everything worker 1 did not finish, promptly.
	var rec2 recorder
	w2 := snats.NewWorker(js, snats.ConsumerSMS, snats.WorkerOptions{Concurrency: 16, Logger: quiet})
	runWorker(t, w2, func(ctx context.Context, ev *auth.Event) error { rec2.add(ctx, ev); return nil })
	waitFor(t, 5*time.Second, "stream empty", func() bool { return streamMsgs(t, js) == 0 })
	time.Sleep(200 * time.Millisecond)

	got2 := rec2.ids()
	lost, dup := 0, 0
	for _, id := range all {
		switch n := got1[id] + got2[id]; {
		case n == 0:
			lost++
		case n > 1:
			dup++
		}
	}
	if lost != 0 {
		t.Errorf("lost %d messages (worker1 %v, worker2 %v)", lost, got1, got2)
	}
	if dup != 0 {
		t.Errorf("%d messages acked by worker 1 were delivered again", dup)
	}
	if got2["slow-0"] != 1 || got2["slow-1"] != 1 {
		t.Errorf("unfinished slow messages not redelivered to worker 2: %v", got2)
	}
	for _, c := range rec2.all() {
		if strings.HasPrefix(c.id, "slow") && c.info.NumDelivered != 2 {
			t.Errorf("%s delivery %d, want 2", c.id, c.info.NumDelivered)
		}
	}
}

func TestWorker_ReadyOnlyWhileConsuming(t *testing.T) {
	t.Parallel()
	js := connect(t, startServer(t))
	w := snats.NewWorker(js, snats.ConsumerEmail, snats.WorkerOptions{Logger: quiet})
	if w.Ready() {
		t.Fatal("ready before Run")
	}
	stop := runWorker(t, w, func(context.Context, *auth.Event) error { return nil }) // waits for Ready
	if err := w.Run(ctx(t), func(context.Context, *auth.Event) error { return nil }); err == nil {
		t.Error("second concurrent Run succeeded")
	}
	stop()
	if w.Ready() {
		t.Error("ready after Run returned")
	}
}

func TestWorker_ClosedConnectionEndsRunWithAnError(t *testing.T) {
	t.Parallel()
	js := connect(t, startServer(t))
	w := snats.NewWorker(js, snats.ConsumerEmail, snats.WorkerOptions{Logger: quiet})
	done := make(chan error, 1)
	go func() { done <- w.Run(context.Background(), func(context.Context, *auth.Event) error { return nil }) }()
	waitFor(t, 5*time.Second, "worker ready", w.Ready)
	js.Conn().Close()
	if w.Ready() {
		t.Error("ready with a closed connection")
	}
	select {
	case err := <-done:
		if err == nil {
			t.Error("Run returned nil after the connection closed")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after the connection closed")
	}
}

func TestWorker_StartsBeforeTheStreamExists(t *testing.T) {
	t.Parallel()
	js := connect(t, startServer(t))
	var rec recorder
	w := snats.NewWorker(js, snats.ConsumerEmail, snats.WorkerOptions{Logger: quiet})
	runWorker(t, w, func(ctx context.Context, ev *auth.Event) error { rec.add(ctx, ev); return nil })
	publish(t, js, event(auth.KindMagicLink, auth.ChannelEmail, "ml"))
	waitFor(t, 5*time.Second, "delivered", func() bool { return rec.count() == 1 })
	if _, err := js.Consumer(ctx(t), snats.StreamName, snats.ConsumerEmail); err != nil {
		t.Fatalf("consumer not created: %v", err)
	}
}

func TestWorker_RecreatesADeletedConsumer(t *testing.T) {
	t.Parallel()
	js := setup(t)
	var rec recorder
	w := snats.NewWorker(js, snats.ConsumerSMS, snats.WorkerOptions{Logger: quiet})
	runWorker(t, w, func(ctx context.Context, ev *auth.Event) error { rec.add(ctx, ev); return nil })
	if err := js.DeleteConsumer(ctx(t), snats.StreamName, snats.ConsumerSMS); err != nil {
		t.Fatal(err)
	}
	// The deletion notice usually arrives at once; if it is missed, the
	// missing heartbeats (half the 30 s pull expiry) reveal it.
	waitFor(t, 40*time.Second, "consumer recreated", func() bool {
		_, err := js.Consumer(ctx(t), snats.StreamName, snats.ConsumerSMS)
		return err == nil && w.Ready()
	})
	publish(t, js, smsEvent("after"))
	waitFor(t, 5*time.Second, "delivered after recreation", func() bool { return rec.count() == 1 })
}

func TestPublisher_FailsWhileServerIsDownAndRecoversAfterRestart(t *testing.T) {
	t.Parallel()
	store := t.TempDir()
	ns, err := snats.RunEmbedded(snats.EmbeddedOptions{StoreDir: store, Port: -1})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	current := ns
	t.Cleanup(func() { mu.Lock(); defer mu.Unlock(); current.Shutdown(); current.WaitForShutdown() })
	clientURL := ns.ClientURL()
	nc, err := snats.Connect(clientURL, snats.WithLogger(quiet), natsgo.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, _ := jetstream.New(nc)
	if _, err := snats.EnsureStream(ctx(t), js, snats.StreamOptions{}); err != nil {
		t.Fatal(err)
	}
	p := snats.NewPublisher(js, snats.WithPublishTimeout(300*time.Millisecond))
	before := smsEvent("before")
	if err := p.Publish(ctx(t), before, before.MessageID); err != nil {
		t.Fatal(err)
	}

	ns.Shutdown()
	ns.WaitForShutdown()
	during := smsEvent("during")
	if err := p.Publish(ctx(t), during, during.MessageID); err == nil {
		t.Fatal("Publish succeeded with the server down")
	}

	ns2, err := snats.RunEmbedded(snats.EmbeddedOptions{StoreDir: store, Port: portOf(t, clientURL)})
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	current = ns2
	mu.Unlock()
	after := smsEvent("after")
	waitFor(t, 10*time.Second, "publish after restart", func() bool {
		return p.Publish(ctx(t), after, after.MessageID) == nil
	})

	s, err := js.Stream(ctx(t), snats.StreamName)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := s.GetMsg(ctx(t), 1)
	if err != nil {
		t.Fatalf("message stored before the restart is gone: %v", err)
	}
	if !strings.Contains(string(raw.Data), `"message_id":"before"`) {
		t.Errorf("first stored message is not the one published before the restart")
	}
	if n := streamMsgs(t, js); n < 2 {
		t.Errorf("stream holds %d messages after restart, want >= 2", n)
	}
}

func portOf(t *testing.T, clientURL string) int {
	t.Helper()
	u, err := url.Parse(clientURL)
	if err != nil {
		t.Fatal(err)
	}
	port, err := strconv.Atoi(u.Port())
	if err != nil {
		t.Fatal(err)
	}
	return port
}
