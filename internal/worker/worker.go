// Package worker assembles a delivery worker: a durable JetStream consumer
// (internal/nats) whose handler is the domain's auth.Deliverer, sending
// through a provider (internal/twilio, internal/sendgrid or
// internal/console). cmd/smsworker, cmd/emailworker and `api -dev` run it.
package worker

import (
	"context"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/sesame-auth/sesame/internal/auth"
	"github.com/sesame-auth/sesame/internal/nats"
	"github.com/sesame-auth/sesame/internal/render"
	"github.com/sesame-auth/sesame/internal/tracing"
)

// Config wires one worker.
type Config struct {
	// Consumer is nats.ConsumerSMS or nats.ConsumerEmail.
	Consumer string
	JS       jetstream.JetStream
	Store    auth.DeliveryStore
	Sender   auth.Sender
	// Provider names the Sender (twilio, sendgrid, console) on its trace
	// spans. Default "": the spans carry no provider name.
	Provider string
	// AppName appears in message texts. Default render.DefaultAppName.
	AppName string
	// Concurrency is how many sends run at once. Default nats.DefaultConcurrency.
	Concurrency int
	// MaxDeliver is how many attempts a message gets. Default nats.DefaultMaxDeliver.
	MaxDeliver int
	// AckWait is the consumer's ack wait. Default nats.DefaultAckWait.
	AckWait time.Duration
	// Lease is how long a send holds its message record before another
	// worker may take it over. Default auth.DefaultDeliveryLease (10 s).
	Lease time.Duration
	// DrainTimeout is how long in-flight sends may finish on shutdown.
	// Default nats.DefaultDrainTimeout.
	DrainTimeout time.Duration
	// Stream must match the api's stream options. Default nats defaults.
	Stream  nats.StreamOptions
	Logger  *slog.Logger
	Metrics nats.Metrics
}

// Worker is a running delivery worker.
type Worker struct {
	w *nats.Worker
	d *auth.Deliverer
}

// New builds a worker; call Run to consume.
func New(cfg Config) *Worker {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	opts := render.Options{AppName: cfg.AppName}
	d := &auth.Deliverer{
		Store:  cfg.Store,
		Sender: tracedSender{provider: cfg.Provider, next: cfg.Sender},
		Render: func(ev *auth.Event) *auth.OutboundMessage { return render.Render(ev, opts) },
		Log:    cfg.Logger.With("consumer", cfg.Consumer),
		Lease:  cfg.Lease,
	}
	nw := nats.NewWorker(cfg.JS, cfg.Consumer, nats.WorkerOptions{
		Stream:       cfg.Stream,
		Concurrency:  cfg.Concurrency,
		MaxDeliver:   cfg.MaxDeliver,
		AckWait:      cfg.AckWait,
		DrainTimeout: cfg.DrainTimeout,
		OnGiveUp:     d.GiveUp,
		Logger:       cfg.Logger,
		Metrics:      cfg.Metrics,
	})
	return &Worker{w: nw, d: d}
}

// Run consumes until ctx is cancelled, then drains (see nats.Worker.Run).
func (w *Worker) Run(ctx context.Context) error { return w.w.Run(ctx, w.d.Deliver) }

// Ready reports whether the worker is consuming.
func (w *Worker) Ready() bool { return w.w.Ready() }

// tracedSender puts a client span around each provider call, a child of the
// delivery's consumer span.
type tracedSender struct {
	provider string
	next     auth.Sender
}

func (s tracedSender) Send(ctx context.Context, m *auth.OutboundMessage) (string, error) {
	ctx, end := tracing.StartProviderCall(ctx, s.provider, m.Channel, m.MessageID)
	id, err := s.next.Send(ctx, m)
	end(err)
	return id, err
}
