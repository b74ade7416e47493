package tracing_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/sesame-auth/sesame/internal/auth"
	"github.com/sesame-auth/sesame/internal/nats"
	"github.com/sesame-auth/sesame/internal/tracing"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// restoreGlobals puts OpenTelemetry's globals back to no-op after a test
// that may have installed a provider.
func restoreGlobals(t *testing.T) {
	t.Cleanup(func() {
		otel.SetTracerProvider(noop.NewTracerProvider())
		otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator())
	})
}

// collector is a fake OTLP/HTTP receiver that keeps each request.
type collector struct {
	srv  *httptest.Server
	mu   sync.Mutex
	reqs []collected
}

type collected struct {
	path, contentType string
	body              []byte
}

func newCollector(t *testing.T) *collector {
	c := &collector{}
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		c.mu.Lock()
		c.reqs = append(c.reqs, collected{r.URL.Path, r.Header.Get("Content-Type"), b})
		c.mu.Unlock()
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	t.Cleanup(c.srv.Close)
	return c
}

func (c *collector) received() []collected {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]collected(nil), c.reqs...)
}

func TestSetupExportsSpansToTheConfiguredEndpoint(t *testing.T) {
	tests := []struct {
		name        string
		env         func(base string) map[string]string
		service     string
		wantPath    string
		wantService string
	}{
		{
			name:    "BaseEndpointGetsTheTracesPath",
			env:     func(base string) map[string]string { return map[string]string{tracing.EnvEndpoint: base} },
			service: "sesame-api", wantPath: "/v1/traces", wantService: "sesame-api",
		},
		{
			name:    "BaseEndpointWithAPathPrefix",
			env:     func(base string) map[string]string { return map[string]string{tracing.EnvEndpoint: base + "/otlp/"} },
			service: "sesame-smsworker", wantPath: "/otlp/v1/traces", wantService: "sesame-smsworker",
		},
		{
			name: "TracesEndpointIsUsedAsIs",
			env: func(base string) map[string]string {
				return map[string]string{tracing.EnvEndpoint: "http://127.0.0.1:1", tracing.EnvTracesEndpoint: base + "/custom"}
			},
			service: "sesame-emailworker", wantPath: "/custom", wantService: "sesame-emailworker",
		},
		{
			name: "ServiceNameFromEnvironmentWins",
			env: func(base string) map[string]string {
				return map[string]string{tracing.EnvEndpoint: base, tracing.EnvServiceName: "auth-eu-1"}
			},
			service: "sesame-api", wantPath: "/v1/traces", wantService: "auth-eu-1",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			restoreGlobals(t)
			c := newCollector(t)
			stop, err := tracing.Setup(t.Context(), tt.service, env(tt.env(c.srv.URL)), nullLogger())
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := otel.GetTracerProvider().(*sdktrace.TracerProvider); !ok {
				t.Fatalf("global tracer provider is %T, want the SDK's", otel.GetTracerProvider())
			}
			if f := otel.GetTextMapPropagator().Fields(); !slices.Contains(f, "traceparent") {
				t.Errorf("propagator fields %v, want the W3C trace context", f)
			}
			_, span := otel.Tracer("test").Start(context.Background(), "span-under-test")
			span.End()
			stop() // flushes the batch

			got := c.received()
			if len(got) != 1 {
				t.Fatalf("collector got %d requests, want 1", len(got))
			}
			if got[0].path != tt.wantPath {
				t.Errorf("posted to %q, want %q", got[0].path, tt.wantPath)
			}
			if got[0].contentType != "application/x-protobuf" {
				t.Errorf("content type %q", got[0].contentType)
			}
			for _, want := range []string{"span-under-test", tt.wantService, "service.name"} {
				if !bytes.Contains(got[0].body, []byte(want)) {
					t.Errorf("exported body lacks %q", want)
				}
			}
		})
	}
}

func TestSetupRefusesAnEndpointThatIsNotAnHTTPURL(t *testing.T) {
	for _, tt := range []struct{ name, key, value string }{
		{"NoScheme", tracing.EnvEndpoint, "collector:4318"},
		{"GRPCScheme", tracing.EnvEndpoint, "grpc://collector:4317"},
		{"NoHost", tracing.EnvTracesEndpoint, "http://"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			restoreGlobals(t)
			before := otel.GetTracerProvider()
			_, err := tracing.Setup(t.Context(), "sesame-api", env(map[string]string{tt.key: tt.value}), nullLogger())
			if err == nil || !strings.Contains(err.Error(), tt.key) {
				t.Fatalf("err = %v, want one naming %s", err, tt.key)
			}
			if otel.GetTracerProvider() != before {
				t.Error("a refused configuration still installed a tracer provider")
			}
		})
	}
}

// With no endpoint (or the SDK disabled) nothing is installed: the global
// tracer stays the no-op, no traceparent is written into NATS messages, and
// publishing, consuming and serving HTTP work as before.
func TestTracingOffInstallsNothingAndSendsStillFlow(t *testing.T) {
	for _, tt := range []struct {
		name string
		env  map[string]string
	}{
		{"EndpointUnset", map[string]string{}},
		{"SDKDisabled", map[string]string{tracing.EnvEndpoint: "http://127.0.0.1:4318", tracing.EnvSDKDisabled: "true"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			restoreGlobals(t)
			before := otel.GetTracerProvider()
			stop, err := tracing.Setup(t.Context(), "sesame-api", env(tt.env), nullLogger())
			if err != nil {
				t.Fatal(err)
			}
			defer stop()
			if otel.GetTracerProvider() != before {
				t.Fatalf("tracing off installed a tracer provider (%T)", otel.GetTracerProvider())
			}
			if f := otel.GetTextMapPropagator().Fields(); len(f) != 0 {
				t.Fatalf("tracing off installed a propagator for %v", f)
			}

			// HTTP: the middleware serves the request; the handler sees no span.
			var sawSpan bool
			h := tracing.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				sawSpan = trace.SpanContextFromContext(r.Context()).IsValid()
				w.WriteHeader(http.StatusTeapot)
			}))
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v1/otps/sms/send", nil))
			if rec.Code != http.StatusTeapot || sawSpan {
				t.Errorf("middleware: status %d, span in context %v; want 418 and none", rec.Code, sawSpan)
			}

			// NATS: a published event arrives without a traceparent header
			// and is handled with no span in its context.
			js := embeddedJetStream(t)
			ev := &auth.Event{MessageID: "msg-off-1", ProjectID: "project-test", Kind: auth.KindOTP, Channel: auth.ChannelSMS,
				To: "+14155550100", Code: "123456", ExpiresAt: time.Now().Add(time.Minute), ChallengeID: "chal-off-1", CreatedAt: time.Now()}
			if err := nats.NewPublisher(js).Publish(t.Context(), ev, ""); err != nil {
				t.Fatal(err)
			}
			stream, err := js.Stream(t.Context(), nats.StreamName)
			if err != nil {
				t.Fatal(err)
			}
			raw, err := stream.GetLastMsgForSubject(t.Context(), ev.Subject())
			if err != nil {
				t.Fatal(err)
			}
			if tp := raw.Header.Get("traceparent"); tp != "" {
				t.Errorf("message carries traceparent %q with tracing off", tp)
			}
			if raw.Header.Get(jetstream.MsgIDHeader) != ev.ChallengeID {
				t.Errorf("Nats-Msg-Id = %q, want %q", raw.Header.Get(jetstream.MsgIDHeader), ev.ChallengeID)
			}

			handled := make(chan bool, 1)
			w := nats.NewWorker(js, nats.ConsumerSMS, nats.WorkerOptions{Logger: nullLogger()})
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan struct{})
			go func() {
				_ = w.Run(ctx, func(ctx context.Context, got *auth.Event) error {
					if got.MessageID == ev.MessageID {
						handled <- trace.SpanContextFromContext(ctx).IsValid()
					}
					return nil
				})
				close(done)
			}()
			defer func() { cancel(); <-done }()
			select {
			case valid := <-handled:
				if valid {
					t.Error("handler context has a valid span with tracing off")
				}
			case <-time.After(10 * time.Second):
				t.Fatal("event not handled within 10 s")
			}
		})
	}
}

func embeddedJetStream(t *testing.T) jetstream.JetStream {
	t.Helper()
	ns, err := nats.RunEmbedded(nats.EmbeddedOptions{StoreDir: t.TempDir(), DontListen: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	nc, err := nats.Connect("", natsgo.InProcessServer(ns), nats.WithLogger(nullLogger()))
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
	return js
}
