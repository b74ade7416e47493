package worker

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/sesame-auth/sesame/internal/auth"
	"github.com/sesame-auth/sesame/internal/debugsrv"
	"github.com/sesame-auth/sesame/internal/health"
	"github.com/sesame-auth/sesame/internal/metrics"
	"github.com/sesame-auth/sesame/internal/nats"
	"github.com/sesame-auth/sesame/internal/postgres"
	"github.com/sesame-auth/sesame/internal/tracing"
)

// Process describes one worker binary.
type Process struct {
	// Name is the binary name, e.g. "smsworker".
	Name string
	// Consumer is the durable consumer it runs.
	Consumer string
	// DefaultAddr is the HTTP_ADDR default for its probes and metrics.
	DefaultAddr string
	// NewSender builds the provider from the environment and names it.
	NewSender func(getenv func(string) string, stdout io.Writer) (auth.Sender, string, error)
}

// Run is the whole worker binary: it reads the environment, connects to
// Postgres and NATS, serves /healthz, /readyz and /metrics on HTTP_ADDR,
// and consumes until ctx is cancelled (SIGTERM), then drains within 15 s.
func (p Process) Run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	env := func(k, def string) string {
		if v := strings.TrimSpace(getenv(k)); v != "" {
			return v
		}
		return def
	}
	fs := flag.NewFlagSet(p.Name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("http-addr", env("HTTP_ADDR", p.DefaultAddr), "probe and metrics listen address (HTTP_ADDR)")
	dsn := fs.String("database-url", getenv("DATABASE_URL"), "Postgres DSN (DATABASE_URL)")
	natsURL := fs.String("nats-url", env("NATS_URL", "nats://127.0.0.1:4222"), "NATS server URL(s) (NATS_URL)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dsn == "" {
		return errors.New("DATABASE_URL is required: the worker records each message's delivery status")
	}
	concurrency, err := strconv.Atoi(env("WORKER_CONCURRENCY", strconv.Itoa(nats.DefaultConcurrency)))
	if err != nil || concurrency < 1 {
		return errors.New("WORKER_CONCURRENCY must be a positive integer")
	}
	var level slog.Level
	_ = level.UnmarshalText([]byte(env("LOG_LEVEL", "info")))
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level})).With("process", p.Name)
	// Tracing is off unless OTEL_EXPORTER_OTLP_ENDPOINT is set.
	stopTracing, err := tracing.Setup(ctx, "sesame-"+p.Name, getenv, log)
	if err != nil {
		return err
	}
	defer stopTracing()
	dbg, err := debugsrv.Start(getenv(debugsrv.EnvVar)) // pprof; off unless DEBUG_ADDR is set
	if err != nil {
		return err
	}
	defer dbg.Close()

	sender, provider, err := p.NewSender(getenv, stdout)
	if err != nil {
		return err
	}
	db, err := postgres.Open(ctx, *dsn)
	if err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	// Keep trying if NATS is not up yet: start order does not matter, and
	// /readyz stays 503 until the consumer runs.
	nc, err := nats.Connect(*natsURL, nats.WithLogger(log), natsgo.RetryOnFailedConnect(true))
	if err != nil {
		return fmt.Errorf("connect to NATS at %s: %w", *natsURL, err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}

	stream, err := nats.StreamOptionsFromEnv(getenv)
	if err != nil {
		return err
	}
	reg := metrics.New()
	w := New(Config{Consumer: p.Consumer, JS: js, Store: db, Stream: stream, Sender: Instrument(sender, provider, reg, db), Provider: provider,
		AppName: env("APP_NAME", ""), Concurrency: concurrency, Logger: log, Metrics: reg})
	gauge := func(name, help string, f func(nats.ConsumerStats) float64) {
		reg.Gauge(name, help, func(ctx context.Context) (float64, error) {
			st, err := nats.ConsumerInfo(ctx, js, p.Consumer)
			return f(st), err
		})
	}
	gauge("sesame_consumer_pending_messages", "Events in the stream not yet delivered to this consumer.", func(s nats.ConsumerStats) float64 { return float64(s.NumPending) })
	gauge("sesame_consumer_ack_pending_messages", "Events delivered to this consumer and not yet acknowledged.", func(s nats.ConsumerStats) float64 { return float64(s.NumAckPending) })
	gauge("sesame_consumer_redelivered_messages", "Events being redelivered to this consumer.", func(s nats.ConsumerStats) float64 { return float64(s.NumRedelivered) })

	mux := http.NewServeMux()
	health.Register(mux, map[string]health.Check{
		"postgres": db.Ping,
		"consumer": func(context.Context) error {
			if !w.Ready() {
				return errors.New("not consuming")
			}
			return nil
		},
	})
	mux.Handle("GET /metrics", reg.Handler())
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *addr, err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	log.Info("worker started", "consumer", p.Consumer, "provider", provider, "concurrency", concurrency, "http_addr", ln.Addr().String())

	runErr := w.Run(ctx)
	sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	log.Info("worker stopped")
	return runErr
}
