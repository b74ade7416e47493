package nats_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/sesame-auth/sesame/internal/auth"
	snats "github.com/sesame-auth/sesame/internal/nats"
)

var quiet = slog.New(slog.DiscardHandler)

// startServer runs an in-process JetStream server without TCP.
func startServer(t *testing.T) *server.Server {
	t.Helper()
	ns, err := snats.RunEmbedded(snats.EmbeddedOptions{StoreDir: t.TempDir(), DontListen: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	return ns
}

// connect opens an in-process client connection and a JetStream context.
func connect(t *testing.T, ns *server.Server) jetstream.JetStream {
	t.Helper()
	nc, err := snats.Connect("", natsgo.InProcessServer(ns), snats.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// setup gives a server with the stream created.
func setup(t *testing.T) jetstream.JetStream {
	t.Helper()
	js := connect(t, startServer(t))
	if _, err := snats.EnsureStream(ctx(t), js, snats.StreamOptions{}); err != nil {
		t.Fatal(err)
	}
	return js
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

func event(kind auth.EventKind, ch auth.Channel, id string) *auth.Event {
	ev := &auth.Event{
		MessageID:   id,
		ProjectID:   "project-test",
		Kind:        kind,
		Channel:     ch,
		To:          "+15555550100",
		ExpiresAt:   time.Now().Add(10 * time.Minute),
		ChallengeID: "chal-" + id,
		CreatedAt:   time.Now(),
	}
	if kind == auth.KindOTP {
		ev.Code = "123456"
	} else {
		ev.To, ev.URL = "a@example.com", "https://example.com/?token=t"
	}
	if ch == auth.ChannelEmail {
		ev.To = "a@example.com"
	}
	return ev
}

func smsEvent(id string) *auth.Event { return event(auth.KindOTP, auth.ChannelSMS, id) }

func publish(t *testing.T, js jetstream.JetStream, evs ...*auth.Event) {
	t.Helper()
	p := snats.NewPublisher(js)
	for _, ev := range evs {
		if err := p.Publish(ctx(t), ev, ev.MessageID); err != nil {
			t.Fatal(err)
		}
	}
}

// runWorker runs w in the background; stop cancels it and returns how long
// Run took to return.
func runWorker(t *testing.T, w *snats.Worker, h snats.Handler) (stop func() time.Duration) {
	t.Helper()
	c, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(c, h) }()
	waitFor(t, 5*time.Second, "worker ready", w.Ready)
	var once sync.Once
	var took time.Duration
	stop = func() time.Duration {
		once.Do(func() {
			start := time.Now()
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(20 * time.Second):
				t.Errorf("Run did not return within 20s")
			}
			took = time.Since(start)
		})
		return took
	}
	t.Cleanup(func() { stop() })
	return stop
}

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func streamMsgs(t *testing.T, js jetstream.JetStream) uint64 {
	t.Helper()
	s, err := js.Stream(ctx(t), snats.StreamName)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}

// metrics records outcomes.
type metrics struct {
	mu       sync.Mutex
	outcomes map[string]int
	handled  int
}

func newMetrics() *metrics { return &metrics{outcomes: map[string]int{}} }

func (m *metrics) MessageOutcome(consumer, outcome string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.outcomes[consumer+"/"+outcome]++
}

func (m *metrics) HandlerDuration(string, time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.handled++
}

func (m *metrics) snapshot() (map[string]int, int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]int, len(m.outcomes))
	for k, v := range m.outcomes {
		out[k] = v
	}
	return out, m.handled
}

// recorder collects handler calls.
type recorder struct {
	mu    sync.Mutex
	calls []call
}

type call struct {
	id      string
	subject string
	info    snats.DeliveryInfo
	at      time.Time
}

func (r *recorder) add(ctx context.Context, ev *auth.Event) call {
	info, _ := snats.DeliveryFromContext(ctx)
	c := call{id: ev.MessageID, subject: ev.Subject(), info: info, at: time.Now()}
	r.mu.Lock()
	r.calls = append(r.calls, c)
	r.mu.Unlock()
	return c
}

func (r *recorder) all() []call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]call(nil), r.calls...)
}

func (r *recorder) count() int { return len(r.all()) }

func (r *recorder) ids() map[string]int {
	m := map[string]int{}
	for _, c := range r.all() {
		m[c.id]++
	}
	return m
}

func ids(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%02d", prefix, i)
	}
	return out
}
