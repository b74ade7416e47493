package tracing_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/sesame-auth/sesame/internal/api/stytch"
	"github.com/sesame-auth/sesame/internal/auth"
	"github.com/sesame-auth/sesame/internal/jwt"
	"github.com/sesame-auth/sesame/internal/nats"
	"github.com/sesame-auth/sesame/internal/pgtest"
	"github.com/sesame-auth/sesame/internal/tracing"
	"github.com/sesame-auth/sesame/internal/worker"
)

// installTestTracing points the global tracer provider at an in-memory
// exporter (spans exported synchronously as they end) until the test ends.
// Tests using it must not run in parallel: the provider is global.
func installTestTracing(t *testing.T) *tracetest.InMemoryExporter {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.TraceContext{})
	t.Cleanup(func() {
		_ = tp.Shutdown(context.Background())
		otel.SetTracerProvider(noop.NewTracerProvider())
		otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator())
	})
	return exp
}

// recordingSender is a provider that keeps what it was asked to send.
type recordingSender struct {
	mu   sync.Mutex
	sent []*auth.OutboundMessage
	got  chan struct{}
}

func newRecordingSender() *recordingSender { return &recordingSender{got: make(chan struct{}, 16)} }

func (s *recordingSender) Send(_ context.Context, m *auth.OutboundMessage) (string, error) {
	s.mu.Lock()
	s.sent = append(s.sent, m)
	s.mu.Unlock()
	s.got <- struct{}{}
	return "SM" + auth.NewUUID(), nil
}

// system is the api's handler, a real Postgres, an embedded JetStream and
// an SMS worker sending through a recording provider.
type system struct {
	api     *httptest.Server
	project string
	secret  string
	sender  *recordingSender
	relay   *auth.Relay // publishes what the api left in the outbox
}

func startSystem(t *testing.T) *system { return startSystemWith(t, true) }

// startSystemWith starts the system; without inline publishing the api
// only stores each send in the outbox and system.relay publishes it.
func startSystemWith(t *testing.T, inline bool) *system {
	t.Helper()
	quiet := nullLogger()
	ns, err := nats.RunEmbedded(nats.EmbeddedOptions{StoreDir: t.TempDir(), DontListen: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	nc, err := nats.Connect("", natsgo.InProcessServer(ns), nats.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := nats.EnsureStream(t.Context(), js, nats.StreamOptions{}); err != nil {
		t.Fatal(err)
	}

	db := pgtest.MustOpenDB(t)
	keys, err := auth.NewKeyring([]byte("tracing-test-root-key-32-bytes!!"))
	if err != nil {
		t.Fatal(err)
	}
	var pub auth.Publisher
	if inline {
		pub = nats.NewPublisher(js)
	}
	svc := auth.NewService(db, pub, keys, jwt.New(db, keys, jwt.Options{}), nil, quiet, auth.Config{})
	svc.SetTraceParent(tracing.TraceParent)
	s := &system{project: "project-test-" + auth.NewUUID(), secret: "secret-test-" + auth.NewToken(), sender: newRecordingSender(),
		relay: &auth.Relay{Store: db, Publisher: nats.NewPublisher(js), Keys: keys, Log: quiet, MinAge: time.Nanosecond}}
	if err := svc.EnsureProject(t.Context(), s.project, s.secret); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/v1/", stytch.NewHandler(svc, stytch.Options{Logger: quiet}))
	s.api = httptest.NewServer(tracing.Middleware(mux))
	t.Cleanup(s.api.Close)

	w := worker.New(worker.Config{Consumer: nats.ConsumerSMS, JS: js, Store: db, Sender: s.sender, Provider: "recording", Logger: quiet})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = w.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	for deadline := time.Now().Add(10 * time.Second); !w.Ready(); {
		if time.Now().After(deadline) {
			t.Fatal("worker not consuming after 10 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return s
}

// sendSMS asks the api for a code, with the extra request headers given.
func (s *system) sendSMS(t *testing.T, phone string, header http.Header) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, s.api.URL+"/v1/otps/sms/login_or_create",
		strings.NewReader(`{"phone_number":"`+phone+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(s.project, s.secret)
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header[k] = v
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("send: status %d", res.StatusCode)
	}
}

// waitForSpan waits until a span named name has ended and returns all
// ended spans.
func waitForSpan(t *testing.T, exp *tracetest.InMemoryExporter, name string) tracetest.SpanStubs {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		spans := exp.GetSpans()
		for _, s := range spans {
			if s.Name == name {
				return spans
			}
		}
	}
	t.Fatalf("no span %q ended within 10 s; have %v", name, spanNames(exp.GetSpans()))
	return nil
}

func spanNames(spans tracetest.SpanStubs) []string {
	var names []string
	for _, s := range spans {
		names = append(names, s.Name)
	}
	return names
}

func findSpan(t *testing.T, spans tracetest.SpanStubs, name string, kind trace.SpanKind) tracetest.SpanStub {
	t.Helper()
	var found []tracetest.SpanStub
	for _, s := range spans {
		if s.Name == name {
			found = append(found, s)
		}
	}
	if len(found) != 1 {
		t.Fatalf("want exactly one span %q, have %d among %v", name, len(found), spanNames(spans))
	}
	if found[0].SpanKind != kind {
		t.Errorf("span %q: kind %v, want %v", name, found[0].SpanKind, kind)
	}
	return found[0]
}

func TestSendIsOneTraceFromHTTPRequestThroughNATSToProviderCall(t *testing.T) {
	exp := installTestTracing(t)
	s := startSystem(t)

	callerTrace, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	callerSpan, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	tests := []struct {
		name   string
		phone  string
		header http.Header
		// the server span's parent: none (a new trace) or the caller's span
		wantTrace  trace.TraceID
		wantParent trace.SpanID
	}{
		{name: "NewTraceWithoutCallerContext", phone: "+14155550101"},
		{
			name: "CallerTraceparentIsContinued", phone: "+14155550102",
			header:    http.Header{"Traceparent": {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}},
			wantTrace: callerTrace, wantParent: callerSpan,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			exp.Reset()
			s.sendSMS(t, tt.phone, tt.header)
			select {
			case <-s.sender.got:
			case <-time.After(10 * time.Second):
				t.Fatal("the provider was not called within 10 s")
			}
			spans := waitForSpan(t, exp, "process otp.requested.sms")

			server := findSpan(t, spans, "POST /v1/otps/sms/login_or_create", trace.SpanKindServer)
			publish := findSpan(t, spans, "send otp.requested.sms", trace.SpanKindProducer)
			process := findSpan(t, spans, "process otp.requested.sms", trace.SpanKindConsumer)
			provider := findSpan(t, spans, "provider send", trace.SpanKindClient)

			traceID := server.SpanContext.TraceID()
			if tt.wantTrace.IsValid() && traceID != tt.wantTrace {
				t.Errorf("server span trace %s, want the caller's %s", traceID, tt.wantTrace)
			}
			if server.Parent.SpanID() != tt.wantParent {
				t.Errorf("server span parent %s, want %s", server.Parent.SpanID(), tt.wantParent)
			}
			for _, c := range []struct {
				child, parent tracetest.SpanStub
			}{{publish, server}, {process, publish}, {provider, process}} {
				if c.child.SpanContext.TraceID() != traceID {
					t.Errorf("%q is in trace %s, want %s", c.child.Name, c.child.SpanContext.TraceID(), traceID)
				}
				if c.child.Parent.SpanID() != c.parent.SpanContext.SpanID() {
					t.Errorf("%q has parent %s, want %q (%s)", c.child.Name, c.child.Parent.SpanID(), c.parent.Name, c.parent.SpanContext.SpanID())
				}
			}
			if !process.Parent.IsRemote() {
				t.Error("the consumer span's parent should come from the message headers (remote)")
			}
			if got := attr(provider, tracing.AttrProvider); got != "recording" {
				t.Errorf("provider span: sesame.provider = %q, want recording", got)
			}

			// No span carries the code or the recipient.
			s.sender.mu.Lock()
			last := s.sender.sent[len(s.sender.sent)-1]
			s.sender.mu.Unlock()
			code := regexp.MustCompile(`\d{6}`).FindString(last.Text)
			if code == "" {
				t.Fatalf("no code in the sent text")
			}
			for _, sp := range spans {
				for _, kv := range sp.Attributes {
					if v := kv.Value.String(); strings.Contains(v, code) || strings.Contains(v, tt.phone) {
						t.Errorf("span %q attribute %s leaks the code or the phone number", sp.Name, kv.Key)
					}
				}
			}
		})
	}
}

func attr(s tracetest.SpanStub, key attribute.Key) string {
	for _, kv := range s.Attributes {
		if kv.Key == key {
			return kv.Value.String()
		}
	}
	return ""
}

func nullLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// TestRelayedSendContinuesTheRequestTrace: when the api could not publish
// a send inline (here it has no publisher), the outbox relay publishes it
// later, without the request's context; the traceparent stored with the
// row makes the publish, the worker and the provider call children of the
// request's span all the same.
func TestRelayedSendContinuesTheRequestTrace(t *testing.T) {
	exp := installTestTracing(t)
	s := startSystemWith(t, false)
	s.sendSMS(t, "+14155550103", nil)
	server := findSpan(t, exp.GetSpans(), "POST /v1/otps/sms/login_or_create", trace.SpanKindServer)
	// Published by the relay, from a context that carries no span.
	if n, err := s.relay.RunOnce(context.Background()); err != nil || n != 1 {
		t.Fatalf("relay published %d, %v; want the one queued send", n, err)
	}
	select {
	case <-s.sender.got:
	case <-time.After(10 * time.Second):
		t.Fatal("the provider was not called within 10 s")
	}
	spans := waitForSpan(t, exp, "process otp.requested.sms")
	publish := findSpan(t, spans, "send otp.requested.sms", trace.SpanKindProducer)
	process := findSpan(t, spans, "process otp.requested.sms", trace.SpanKindConsumer)
	provider := findSpan(t, spans, "provider send", trace.SpanKindClient)
	traceID := server.SpanContext.TraceID()
	for _, c := range []struct{ child, parent tracetest.SpanStub }{{publish, server}, {process, publish}, {provider, process}} {
		if c.child.SpanContext.TraceID() != traceID || c.child.Parent.SpanID() != c.parent.SpanContext.SpanID() {
			t.Errorf("%q: trace %s parent %s; want trace %s parent %q (%s)", c.child.Name, c.child.SpanContext.TraceID(),
				c.child.Parent.SpanID(), traceID, c.parent.Name, c.parent.SpanContext.SpanID())
		}
	}
	if !publish.Parent.IsRemote() {
		t.Error("the relayed publish's parent should come from the stored traceparent (remote)")
	}
}

func TestTraceParentCarriesASpanOnlyWhenTracingIsOn(t *testing.T) {
	if tp := tracing.TraceParent(context.Background()); tp != "" {
		t.Fatalf("tracing off: TraceParent = %q, want none", tp)
	}
	installTestTracing(t)
	ctx, span := otel.Tracer("test").Start(context.Background(), "request")
	defer span.End()
	tp := tracing.TraceParent(ctx)
	want := "00-" + span.SpanContext().TraceID().String() + "-" + span.SpanContext().SpanID().String() + "-01"
	if tp != want {
		t.Fatalf("TraceParent = %q, want %q", tp, want)
	}
	// A context with its own span keeps it; one without continues tp.
	if got := trace.SpanContextFromContext(tracing.WithRemoteParent(ctx, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")); got.SpanID() != span.SpanContext().SpanID() {
		t.Errorf("a context with a span took the stored parent: %v", got)
	}
	if got := trace.SpanContextFromContext(tracing.WithRemoteParent(context.Background(), tp)); got.SpanID() != span.SpanContext().SpanID() || !got.IsRemote() {
		t.Errorf("a context without a span did not continue the stored parent: %v", got)
	}
}
