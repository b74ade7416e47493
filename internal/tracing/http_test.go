package tracing_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/trace"

	"github.com/sesame-auth/sesame/internal/metrics"
	"github.com/sesame-auth/sesame/internal/tracing"
)

// The api wraps tracing.Middleware around the metrics middleware around
// the mux: both must see the route the mux matched, and probes are not
// traced.
func TestMiddlewareNamesSpansByRouteAndLeavesMetricsTheirRoute(t *testing.T) {
	exp := installTestTracing(t)
	reg := metrics.New()
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/users/{user_id}", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {})
	h := tracing.Middleware(reg.Middleware(mux))

	tests := []struct {
		name, method, path string
		wantSpan           string // "" = no span
	}{
		{"RouteNamesTheSpanNotThePath", http.MethodPost, "/v1/users/user-test-123", "POST /v1/users/{user_id}"},
		{"UnmatchedPathIsTheMethodOnly", http.MethodPost, "/nowhere", "POST"},
		{"ProbesAreNotTraced", http.MethodGet, "/healthz", ""},
		{"DevInboxIsNotTraced", http.MethodGet, "/dev/inbox/events", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			exp.Reset()
			h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(tt.method, tt.path, nil))
			spans := exp.GetSpans()
			if tt.wantSpan == "" {
				if len(spans) != 0 {
					t.Fatalf("want no span, have %v", spanNames(spans))
				}
				return
			}
			if len(spans) != 1 || spans[0].Name != tt.wantSpan || spans[0].SpanKind != trace.SpanKindServer {
				t.Fatalf("spans %v, want one server span %q", spanNames(spans), tt.wantSpan)
			}
		})
	}

	rec := httptest.NewRecorder()
	reg.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	if !strings.Contains(string(body), `route="POST /v1/users/{user_id}"`) {
		t.Errorf("metrics lost the route under the tracing middleware:\n%s", grepLines(string(body), "sesame_http_requests_total"))
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
