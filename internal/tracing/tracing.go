// Package tracing is Sesame's OpenTelemetry wiring: Setup installs an
// OTLP/HTTP exporter when OTEL_EXPORTER_OTLP_ENDPOINT is set (and nothing
// otherwise), Middleware traces HTTP requests, and the span helpers in
// spans.go follow a send through the NATS message headers (W3C
// traceparent) into a worker and its provider call.
//
// The domain core (internal/auth) never imports this package: spans ride in
// the context.Context it already passes along.
package tracing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

// Environment variables Setup reads (the OpenTelemetry standard names).
const (
	// EnvEndpoint is the OTLP/HTTP base URL, e.g. http://collector:4318;
	// spans go to its /v1/traces path. Unset (the default): tracing is off.
	EnvEndpoint = "OTEL_EXPORTER_OTLP_ENDPOINT"
	// EnvTracesEndpoint is the full traces URL, used as is; it wins over
	// EnvEndpoint and also turns tracing on.
	EnvTracesEndpoint = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
	// EnvServiceName overrides the service.name a binary reports (default
	// sesame-api, sesame-smsworker or sesame-emailworker).
	EnvServiceName = "OTEL_SERVICE_NAME"
	// EnvSDKDisabled set to "true" keeps tracing off even with an endpoint.
	EnvSDKDisabled = "OTEL_SDK_DISABLED"
)

// ShutdownTimeout bounds the final flush of buffered spans at exit.
const ShutdownTimeout = 5 * time.Second

// tracerName is the instrumentation scope of Sesame's own spans.
const tracerName = "github.com/sesame-auth/sesame"

// Setup turns tracing on for the process when OTEL_EXPORTER_OTLP_ENDPOINT
// (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set: it installs a global
// tracer provider that batches spans to that OTLP/HTTP endpoint, with
// service.name = service (or OTEL_SERVICE_NAME), and the W3C trace-context
// propagator. With neither set it installs nothing: the global tracer stays
// OpenTelemetry's no-op, no header is read or written, and stop does
// nothing. stop flushes what is buffered (at most ShutdownTimeout); call it
// once at exit. An endpoint that is not an http(s) URL is an error.
// Export failures are logged on log (nil: slog.Default()), never fatal.
func Setup(ctx context.Context, service string, getenv func(string) string, log *slog.Logger) (stop func(), err error) {
	nop := func() {}
	if log == nil {
		log = slog.Default()
	}
	endpoint, err := tracesURL(getenv)
	if err != nil || endpoint == "" {
		return nop, err
	}
	if strings.EqualFold(strings.TrimSpace(getenv(EnvSDKDisabled)), "true") {
		return nop, nil
	}
	if name := strings.TrimSpace(getenv(EnvServiceName)); name != "" {
		service = name
	}
	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(endpoint))
	if err != nil {
		return nop, fmt.Errorf("tracing: OTLP exporter: %w", err)
	}
	res, err := resource.Merge(resource.Default(), resource.NewWithAttributes(semconv.SchemaURL, semconv.ServiceName(service)))
	if err != nil {
		return nop, fmt.Errorf("tracing: resource: %w", err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		log.Warn("tracing: export failed", "err", err)
	}))
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.TraceContext{})
	u, _ := url.Parse(endpoint)
	log.Info("tracing enabled", "service", service, "endpoint", u.Scheme+"://"+u.Host+u.Path)
	return func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ShutdownTimeout)
		defer cancel()
		if err := tp.Shutdown(sctx); err != nil {
			log.Warn("tracing: flush at exit failed", "err", err)
		}
	}, nil
}

// tracesURL is the URL spans are posted to, or "" when tracing is off.
func tracesURL(getenv func(string) string) (string, error) {
	name, raw := EnvTracesEndpoint, strings.TrimSpace(getenv(EnvTracesEndpoint))
	if raw == "" {
		name, raw = EnvEndpoint, strings.TrimSpace(getenv(EnvEndpoint))
	}
	if raw == "" {
		return "", nil
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", errors.New(name + " must be an http(s) URL such as http://localhost:4318")
	}
	if name == EnvEndpoint {
		// The base URL's signal path, as the OTLP exporter spec says.
		u.Path = strings.TrimSuffix(u.Path, "/") + "/v1/traces"
	}
	return u.String(), nil
}
