package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/sesame-auth/sesame/internal/api/streambird"
	"github.com/sesame-auth/sesame/internal/api/stytch"
	"github.com/sesame-auth/sesame/internal/auth"
	"github.com/sesame-auth/sesame/internal/fakeprovider"
	"github.com/sesame-auth/sesame/internal/jwt"
	"github.com/sesame-auth/sesame/internal/nats"
	"github.com/sesame-auth/sesame/internal/pgtest"
	"github.com/sesame-auth/sesame/internal/postgres"
	"github.com/sesame-auth/sesame/internal/sendgrid"
	"github.com/sesame-auth/sesame/internal/twilio"
	"github.com/sesame-auth/sesame/internal/worker"
)

// system is one Sesame deployment inside the test process: the api's
// handlers and relay, a JetStream server on a TCP port (so it can be
// stopped and restarted on the same store), and fake providers.
type system struct {
	t       *testing.T
	db      *postgres.DB
	keys    *auth.Keyring
	svc     *auth.Service
	api     *httptest.Server
	project *auth.Project
	secret  string
	twilio  *fakeprovider.Twilio
	sg      *fakeprovider.SendGrid

	storeDir string
	port     int
	ns       *natsserver.Server
	nc       *natsgo.Conn // the api's connection
	js       jetstream.JetStream
	log      *slog.Logger
}

func testLogger() *slog.Logger {
	if os.Getenv("E2E_VERBOSE") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return slog.New(slog.DiscardHandler)
}

func newSystem(t *testing.T) *system {
	t.Helper()
	s := &system{t: t, storeDir: t.TempDir(), log: testLogger()}
	s.startNATS()
	var err error
	if s.nc, err = nats.Connect(s.ns.ClientURL(), natsgo.ReconnectWait(100*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.nc.Close)
	if s.js, err = jetstream.New(s.nc); err != nil {
		t.Fatal(err)
	}
	if _, err := nats.EnsureStream(t.Context(), s.js, nats.StreamOptions{}); err != nil {
		t.Fatal(err)
	}
	s.db = pgtest.MustOpenDB(t)
	s.keys, _ = auth.NewKeyring([]byte("e2e-test-root-key-32-bytes-long!"))
	s.svc = auth.NewService(s.db, nats.NewPublisher(s.js, nats.WithPublishTimeout(500*time.Millisecond)), s.keys,
		jwt.New(s.db, s.keys, jwt.Options{}), nil, s.log, auth.Config{SendLimit: 1000, PublishTimeout: 500 * time.Millisecond})
	s.project = &auth.Project{ID: "project-test-" + auth.NewUUID()}
	s.secret = "sk_test_" + auth.NewToken()
	if err := s.svc.EnsureProject(t.Context(), s.project.ID, s.secret); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/v1/auth/", streambird.NewHandler(s.svc, streambird.Options{Logger: s.log}))
	mux.Handle("/v1/", stytch.NewHandler(s.svc, stytch.Options{Logger: s.log}))
	s.api = httptest.NewServer(mux)
	t.Cleanup(s.api.Close)
	s.twilio = fakeprovider.NewTwilio()
	t.Cleanup(s.twilio.Close)
	s.sg = fakeprovider.NewSendGrid()
	t.Cleanup(s.sg.Close)

	ctx, cancel := context.WithCancel(context.Background())
	relay := &auth.Relay{Store: s.db, Publisher: nats.NewPublisher(s.js), Keys: s.keys, Log: s.log, Wake: s.svc.RelayWake(), Interval: 100 * time.Millisecond, Idle: time.Minute, MinAge: 200 * time.Millisecond}
	done := make(chan struct{})
	go func() { relay.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return s
}

// startNATS starts (or restarts) the server on the same port and store.
func (s *system) startNATS() {
	s.t.Helper()
	port := s.port
	if port == 0 {
		port = -1
	}
	ns, err := nats.RunEmbedded(nats.EmbeddedOptions{StoreDir: s.storeDir, Port: port})
	if err != nil {
		s.t.Fatal(err)
	}
	s.ns = ns
	s.port = ns.Addr().(*net.TCPAddr).Port
	s.t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
}

func (s *system) stopNATS() {
	s.ns.Shutdown()
	s.ns.WaitForShutdown()
}

// startWorker runs a worker with its own NATS connection and returns a
// function that stops it abruptly (cancel + close the connection, like a
// killed process) or gracefully.
func (s *system) startWorker(consumer string, concurrency int, lease time.Duration) (stop func(graceful bool)) {
	return s.startWorkerDrain(consumer, concurrency, lease, 0)
}

// startWorkerDrain is startWorker with a drain timeout (0 = default). A
// tiny drain makes a kill cancel the provider calls in flight.
func (s *system) startWorkerDrain(consumer string, concurrency int, lease, drain time.Duration) (stop func(graceful bool)) {
	s.t.Helper()
	nc, err := nats.Connect(s.ns.ClientURL(), natsgo.ReconnectWait(100*time.Millisecond))
	if err != nil {
		s.t.Fatal(err)
	}
	js, _ := jetstream.New(nc)
	var sender auth.Sender
	if consumer == nats.ConsumerSMS {
		sender, err = twilio.New(twilio.Config{AccountSID: "ACtest", AuthToken: "token", From: "+15005550006", BaseURL: s.twilio.URL()})
	} else {
		sender, err = sendgrid.New(sendgrid.Config{APIKey: "SG.test", From: "Sesame <no-reply@sesame.test>", BaseURL: s.sg.URL()})
	}
	if err != nil {
		s.t.Fatal(err)
	}
	w := worker.New(worker.Config{Consumer: consumer, JS: js, Store: s.db, Sender: sender, Concurrency: concurrency,
		AckWait: 2 * time.Second, Lease: lease, DrainTimeout: drain, Logger: s.log})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = w.Run(ctx); close(done) }()
	deadline := time.Now().Add(10 * time.Second)
	for !w.Ready() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	var once sync.Once
	stop = func(graceful bool) {
		once.Do(func() {
			if !graceful {
				nc.Close() // the process is gone: no acks, no naks
			}
			cancel()
			<-done
			nc.Close()
		})
	}
	s.t.Cleanup(func() { stop(true) })
	return stop
}

// call sends a Streambird-style request and decodes the JSON answer.
func (s *system) call(method, path string, body any) (int, map[string]any) {
	s.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, s.api.URL+path, rd)
	req.Header.Set("Authorization", "Bearer "+s.secret)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	raw, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(raw, &out); err != nil {
		s.t.Fatalf("%s %s: non-JSON answer %d %q", method, path, resp.StatusCode, raw)
	}
	return resp.StatusCode, out
}

// waitUntil polls cond for up to d.
func waitUntil(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(25 * time.Millisecond)
	}
	return cond()
}

// smsCounts counts SMS per recipient at the fake Twilio.
func (s *system) smsCounts() map[string]int {
	m := map[string]int{}
	for _, msg := range s.twilio.Messages() {
		m[msg.To]++
	}
	return m
}
