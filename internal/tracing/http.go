package tracing

import (
	"net/http"
	"strings"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
)

// Middleware wraps next in a server span per request, continuing a trace
// the caller sent in a traceparent header. Wrap the ServeMux itself (not a
// handler around it) so the span is named by the route pattern the mux
// matched, e.g. "POST /v1/otps/sms/send", never by a raw path. Probes and
// /metrics and the dev inbox (/dev/...) are not traced. With tracing off (no Setup) the spans are
// OpenTelemetry's no-op ones.
func Middleware(next http.Handler) http.Handler {
	return otelhttp.NewHandler(next, "http.server",
		otelhttp.WithFilter(func(r *http.Request) bool {
			switch r.URL.Path {
			case "/healthz", "/readyz", "/metrics":
				return false
			}
			// The dev inbox (its event stream is one endless request).
			return !strings.HasPrefix(r.URL.Path, "/dev/")
		}))
}
