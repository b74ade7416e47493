package nats

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/sesame-auth/sesame/internal/auth"
	"github.com/sesame-auth/sesame/internal/tracing"
)

// Worker defaults not shared with ConsumerOptions.
const (
	// DefaultDrainTimeout is how long in-flight handlers may run after
	// shutdown starts. With the release of the rest and the final grace it
	// keeps a worker's exit under the contract's 15 s.
	DefaultDrainTimeout = 10 * time.Second
	// DefaultHandlerTimeout bounds one handler call. Provider calls take
	// seconds and auth.Deliverer cuts its send before its 10 s lease ends; a
	// call hung longer is retried rather than kept alive by progress
	// heartbeats forever.
	DefaultHandlerTimeout = 30 * time.Second

	// exitGrace is how long Run waits, after the drain timeout, for the
	// handlers it cancelled to return.
	exitGrace = time.Second
	// releaseBufferedTimeout bounds releasing messages pulled but not
	// started at shutdown.
	releaseBufferedTimeout = 2 * time.Second
)

// Outcomes reported to Metrics.
const (
	OutcomeAck  = "ack"
	OutcomeNak  = "nak"
	OutcomeTerm = "term"
)

// Term reasons set by the worker itself.
const (
	ReasonBadPayload    = "bad payload"
	ReasonMaxDeliveries = "max deliveries"
)

// Metrics receives per-message outcomes. Implementations must be safe for
// concurrent use.
type Metrics interface {
	// MessageOutcome counts one message settled by consumer with outcome
	// OutcomeAck, OutcomeNak or OutcomeTerm.
	MessageOutcome(consumer, outcome string)
	// HandlerDuration observes one handler call.
	HandlerDuration(consumer string, d time.Duration)
}

// NopMetrics discards everything.
type NopMetrics struct{}

func (NopMetrics) MessageOutcome(string, string)         {}
func (NopMetrics) HandlerDuration(string, time.Duration) {}

// Handler processes one event. Return nil to ack it, an error made with
// auth.Permanent to drop it, anything else to retry it later.
type Handler func(ctx context.Context, ev *auth.Event) error

// WorkerOptions configures a Worker. The zero value of each field means its
// default.
type WorkerOptions struct {
	// FilterSubjects defaults to FilterSubjects(consumer name).
	FilterSubjects []string
	// Stream is applied with EnsureStream when Run starts, so a worker
	// started before the API still finds its stream.
	Stream StreamOptions
	// Concurrency is the number of handlers running at once; the client
	// buffers a quarter of it ahead (PullMaxMessages). Default
	// DefaultConcurrency.
	Concurrency int
	// AckWait, MaxDeliver and MaxAckPending configure the consumer (see
	// ConsumerOptions).
	AckWait       time.Duration
	MaxDeliver    int
	MaxAckPending int
	// Backoff gives the redelivery delay after the numDelivered-th attempt
	// failed transiently. Default DefaultBackoff.
	Backoff func(numDelivered uint64) time.Duration
	// HandlerTimeout bounds one handler call. Default DefaultHandlerTimeout.
	HandlerTimeout time.Duration
	// DrainTimeout is how long in-flight handlers may run after Run's
	// context is cancelled. Default DefaultDrainTimeout.
	DrainTimeout time.Duration
	// OnGiveUp is called once when a message fails transiently on its last
	// allowed delivery (NumDelivered >= MaxDeliver), before it is
	// terminated; record the failure there.
	OnGiveUp func(ctx context.Context, ev *auth.Event, err error)
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Metrics defaults to NopMetrics.
	Metrics Metrics
}

// Worker consumes one durable consumer with a pool of handlers.
type Worker struct {
	js   jetstream.JetStream
	name string
	o    WorkerOptions

	running    atomic.Bool  // Run is inside its consume loop
	started    atomic.Bool  // Run was called
	ackWait    atomic.Int64 // the consumer's AckWait as the server reports it
	maxDeliver atomic.Int64 // the consumer's MaxDeliver as the server reports it
}

// NewWorker returns a worker for the durable consumer name (ConsumerSMS or
// ConsumerEmail).
func NewWorker(js jetstream.JetStream, name string, opts WorkerOptions) *Worker {
	if opts.Concurrency <= 0 {
		opts.Concurrency = DefaultConcurrency
	}
	if opts.AckWait <= 0 {
		opts.AckWait = DefaultAckWait
	}
	if opts.MaxDeliver <= 0 {
		opts.MaxDeliver = DefaultMaxDeliver
	}
	if opts.Backoff == nil {
		opts.Backoff = DefaultBackoff
	}
	if opts.HandlerTimeout <= 0 {
		opts.HandlerTimeout = DefaultHandlerTimeout
	}
	if opts.DrainTimeout <= 0 {
		opts.DrainTimeout = DefaultDrainTimeout
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Metrics == nil {
		opts.Metrics = NopMetrics{}
	}
	if len(opts.FilterSubjects) == 0 {
		opts.FilterSubjects = FilterSubjects(name)
	}
	opts.Logger = opts.Logger.With("consumer", name)
	w := &Worker{js: js, name: name, o: opts}
	w.ackWait.Store(int64(opts.AckWait))
	w.maxDeliver.Store(int64(opts.MaxDeliver))
	return w
}

// Name is the durable consumer name.
func (w *Worker) Name() string { return w.name }

// Stats returns the consumer's backlog figures (see ConsumerInfo).
func (w *Worker) Stats(ctx context.Context) (ConsumerStats, error) {
	return ConsumerInfo(ctx, w.js, w.name)
}

// Ready reports whether the worker can consume: its loop is running and the
// NATS connection is up. Serve it on /readyz.
func (w *Worker) Ready() bool {
	return w.running.Load() && w.js.Conn().IsConnected()
}

// DeliveryInfo describes the delivery a handler is processing.
type DeliveryInfo struct {
	Consumer     string
	Subject      string
	StreamSeq    uint64
	NumDelivered uint64 // 1 on the first attempt
	MaxDeliver   int
}

// LastAttempt reports whether a transient failure now gives up.
func (d DeliveryInfo) LastAttempt() bool {
	return d.MaxDeliver > 0 && d.NumDelivered >= uint64(d.MaxDeliver)
}

type deliveryKey struct{}

// DeliveryFromContext returns the delivery a handler's context belongs to.
func DeliveryFromContext(ctx context.Context) (DeliveryInfo, bool) {
	d, ok := ctx.Value(deliveryKey{}).(DeliveryInfo)
	return d, ok
}

// inflight is one message held by the worker. settled makes sure exactly
// one of the handler's outcome and a shutdown release acts on it.
type inflight struct {
	msg     jetstream.Msg
	settled atomic.Bool
}

func (f *inflight) settle() bool { return f.settled.CompareAndSwap(false, true) }

// Run ensures the stream and the consumer, then consumes until ctx is
// cancelled. On cancellation it stops pulling, releases (Naks) messages it
// pulled but did not start, lets running handlers finish for DrainTimeout,
// releases whatever is still running, and returns nil. It returns an error
// if the consumer cannot be set up or the connection is closed.
func (w *Worker) Run(ctx context.Context, handler Handler) error {
	if handler == nil {
		return errors.New("nats: worker: nil handler")
	}
	if !w.started.CompareAndSwap(false, true) {
		return errors.New("nats: worker: Run called twice")
	}
	defer w.started.Store(false)

	cons, err := w.setup(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}

	// Handlers outlive ctx by up to DrainTimeout; hctx is cancelled only when
	// the drain gives up on them.
	hctx, cancelHandlers := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelHandlers()

	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		held  = map[*inflight]struct{}{}
		slots = make(chan struct{}, w.o.Concurrency)
	)
	// Concurrency long-lived handler goroutines rather than one per
	// message: a goroutine's stack grows to the depth of a provider call
	// (net/http, TLS) once, not for every message (stack copying was about
	// a tenth of the worker's CPU in a drain profile). A message is
	// dispatched only once it holds a slot, so one of them is always free.
	work := make(chan *inflight, w.o.Concurrency)
	defer close(work)
	for range w.o.Concurrency {
		go func() {
			for f := range work {
				w.process(hctx, f, handler)
				mu.Lock()
				delete(held, f)
				mu.Unlock()
				<-slots
				wg.Done()
			}
		}()
	}
	dispatch := func(m jetstream.Msg) {
		f := &inflight{msg: m}
		mu.Lock()
		held[f] = struct{}{}
		mu.Unlock()
		wg.Add(1)
		work <- f
	}

	it, runErr := w.consume(ctx, cons, slots, dispatch)
	w.running.Store(false)

	// Shutdown: stop pulling and release what was pulled but not started.
	stopAt := time.Now()
	if it != nil {
		w.releaseBuffered(it)
	}

	// Let running handlers finish.
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	timer := time.NewTimer(max(w.o.DrainTimeout-time.Since(stopAt), 0))
	defer timer.Stop()
	select {
	case <-done:
		w.o.Logger.Info("worker drained", "took", time.Since(stopAt).Round(time.Millisecond))
		return runErr
	case <-timer.C:
	}

	// Release the handlers still running and tell them to stop.
	mu.Lock()
	released := 0
	for f := range held {
		if f.settle() {
			w.nak(f.msg)
			released++
		}
	}
	mu.Unlock()
	cancelHandlers()
	w.o.Logger.Warn("drain timeout: released in-flight messages", "released", released,
		"drain_timeout", w.o.DrainTimeout)
	select {
	case <-done:
	case <-time.After(exitGrace):
		w.o.Logger.Warn("handlers still running at exit")
	}
	return runErr
}

// setup ensures the stream and the consumer, retrying while the server is
// unreachable or not ready; configuration errors are returned at once.
func (w *Worker) setup(ctx context.Context) (jetstream.Consumer, error) {
	delay := 500 * time.Millisecond
	for {
		cons, err := w.ensure(ctx)
		if err == nil {
			return cons, nil
		}
		var apiErr *jetstream.APIError
		if errors.As(err, &apiErr) && apiErr.Code == 400 {
			return nil, err
		}
		w.o.Logger.Error("cannot set up consumer, retrying", "err", err, "in", delay)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(delay):
		}
		delay = min(2*delay, 10*time.Second)
	}
}

func (w *Worker) ensure(ctx context.Context) (jetstream.Consumer, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := EnsureStream(ctx, w.js, w.o.Stream); err != nil {
		return nil, err
	}
	cons, err := EnsureConsumer(ctx, w.js, ConsumerOptions{
		Name:           w.name,
		FilterSubjects: w.o.FilterSubjects,
		AckWait:        w.o.AckWait,
		MaxDeliver:     w.o.MaxDeliver,
		MaxAckPending:  w.o.MaxAckPending,
		Concurrency:    w.o.Concurrency,
	})
	if err != nil {
		return nil, err
	}
	if info := cons.CachedInfo(); info != nil {
		// Another process may have updated the consumer since; heartbeat
		// and give up against the values the server applies.
		if info.Config.AckWait > 0 {
			w.ackWait.Store(int64(info.Config.AckWait))
		}
		if info.Config.MaxDeliver > 0 {
			w.maxDeliver.Store(int64(info.Config.MaxDeliver))
		}
	}
	return cons, nil
}

// consumerExists reports whether the durable consumer is still on the
// server; errors other than "not found" count as existing (keep waiting).
func (w *Worker) consumerExists(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, err := w.js.Consumer(ctx, StreamName, w.name)
	return !errors.Is(err, jetstream.ErrConsumerNotFound)
}

// pullExpiry bounds each pull request. nats.go heartbeats a pull at half its
// expiry and renews it after two missed heartbeats, so a worker whose server
// died (a stream leader SIGKILLed in make chaos) pulls again from a live node
// within about this long; nats.go's default, 30 s, left such a worker idle for
// 30 s. The cost is one pull request per 5 s per idle worker.
const pullExpiry = 5 * time.Second

// consume pulls messages and hands each to dispatch once a slot is free. It
// returns the live iterator (to release its buffer) when ctx is cancelled.
func (w *Worker) consume(ctx context.Context, cons jetstream.Consumer, slots chan struct{},
	dispatch func(jetstream.Msg)) (jetstream.MessagesContext, error) {
	for {
		it, err := cons.Messages(jetstream.PullMaxMessages(pullBatch(w.o.Concurrency)), jetstream.PullExpiry(pullExpiry))
		if err != nil {
			return nil, fmt.Errorf("nats: consume %s: %w", w.name, err)
		}
		w.running.Store(true)
		w.o.Logger.Info("worker consuming", "concurrency", w.o.Concurrency)
		var iterErr error
		for {
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				return it, nil
			}
			msg, err := it.Next(jetstream.NextContext(ctx))
			if err == nil {
				dispatch(msg)
				continue
			}
			<-slots
			if ctx.Err() != nil {
				return it, nil
			}
			if errors.Is(err, jetstream.ErrNoHeartbeat) {
				// The iterator re-issues its pull request itself, unless the
				// consumer is gone and the deletion notice was missed.
				w.o.Logger.Warn("no heartbeat from server", "err", err)
				if !w.consumerExists(ctx) {
					iterErr = jetstream.ErrConsumerNotFound
					break
				}
				continue
			}
			iterErr = err
			break
		}
		// The iterator is finished (consumer deleted, connection closed …).
		w.running.Store(false)
		it.Stop()
		if w.js.Conn().IsClosed() {
			return nil, fmt.Errorf("nats: consume %s: connection closed", w.name)
		}
		w.o.Logger.Warn("consumer iterator stopped, re-creating consumer", "err", iterErr)
		select {
		case <-ctx.Done():
			return nil, nil
		case <-time.After(time.Second):
		}
		if cons, err = w.setup(ctx); err != nil {
			if ctx.Err() != nil {
				return nil, nil
			}
			return nil, err
		}
	}
}

// pullBatch is how many messages the client buffers ahead of the handlers:
// a quarter of the concurrency, enough to hide a pull round trip at full
// speed, and few enough that buffered messages start well within AckWait
// behind slow provider calls (their AckWait clock runs while they wait).
func pullBatch(concurrency int) int { return max(concurrency/4, 1) }

// releaseBuffered stops the iterator and Naks the messages it had already
// pulled so that another worker gets them now rather than after AckWait.
func (w *Worker) releaseBuffered(it jetstream.MessagesContext) {
	it.Drain()
	deadline := time.Now().Add(releaseBufferedTimeout)
	n := 0
	for time.Now().Before(deadline) {
		msg, err := it.Next(jetstream.NextMaxWait(time.Until(deadline)))
		if err != nil {
			break // ErrMsgIteratorClosed once the buffer is empty
		}
		w.nak(msg)
		n++
	}
	it.Stop()
	if n > 0 {
		w.o.Logger.Info("released buffered messages", "count", n)
	}
}

func (w *Worker) nak(m jetstream.Msg) {
	if err := m.Nak(); err != nil {
		w.o.Logger.Warn("nak failed", "err", err)
	}
	w.o.Metrics.MessageOutcome(w.name, OutcomeNak)
}

// process runs the handler on one message and settles it.
func (w *Worker) process(hctx context.Context, f *inflight, handler Handler) {
	msg := f.msg
	subject := msg.Subject()
	// The message's logger is built only when something is logged: most
	// messages log nothing, and slog's With formats its attributes at once.
	lazy := lazyLogger{base: w.o.Logger, attrs: []any{"subject", subject}}
	var info DeliveryInfo
	info.Consumer, info.Subject, info.MaxDeliver = w.name, subject, int(w.maxDeliver.Load())
	if md, err := msg.Metadata(); err == nil {
		info.StreamSeq, info.NumDelivered = md.Sequence.Stream, md.NumDelivered
		lazy.attrs = append(lazy.attrs, "stream_seq", info.StreamSeq, "delivery", info.NumDelivered)
	} else {
		info.NumDelivered = 1
	}

	var ev auth.Event
	if err := json.Unmarshal(msg.Data(), &ev); err != nil || ev.Subject() != subject {
		// Log neither the payload nor the decode error (it may quote it).
		log := lazy.get()
		log.Error("terminating undecodable event", "reason", ReasonBadPayload)
		if f.settle() {
			w.term(msg, ReasonBadPayload, log)
		}
		return
	}
	lazy.attrs = append(lazy.attrs, "message_id", ev.MessageID)

	ctx, cancel := context.WithTimeout(context.WithValue(hctx, deliveryKey{}, info), w.o.HandlerTimeout)
	ctx, endSpan := tracing.StartConsume(ctx, msg.Headers(), w.name, subject, ev.MessageID, info.NumDelivered)
	stopProgress := w.progress(msg, &lazy)
	start := time.Now()
	err := callHandler(ctx, handler, &ev)
	d := time.Since(start)
	endSpan(err)
	stopProgress()
	cancel()
	w.o.Metrics.HandlerDuration(w.name, d)

	if !f.settle() {
		// Released by the shutdown drain; whatever happened is redone.
		lazy.get().Info("handler finished after release", "ok", err == nil)
		return
	}
	if err == nil {
		w.ack(msg, &lazy)
		return
	}
	log := lazy.get()
	de := auth.AsDeliveryError(err)
	if de.Permanent {
		log.Warn("delivery failed permanently", "reason", de.Reason, "err", err)
		w.term(msg, de.Reason, log)
		return
	}
	if hctx.Err() != nil {
		// Shutdown cancelled the handler: release without delay.
		w.nak(msg)
		return
	}
	if info.LastAttempt() {
		log.Error("giving up after max deliveries", "reason", de.Reason, "err", err)
		if w.o.OnGiveUp != nil {
			w.giveUp(hctx, info, &ev, err, log)
		}
		w.term(msg, ReasonMaxDeliveries, log)
		return
	}
	delay := max(de.RetryAfter, w.o.Backoff(info.NumDelivered))
	log.Warn("delivery failed, will retry", "reason", de.Reason, "err", err, "retry_in", delay)
	if err := msg.NakWithDelay(delay); err != nil {
		log.Warn("nak failed", "err", err)
	}
	w.o.Metrics.MessageOutcome(w.name, OutcomeNak)
}

func callHandler(ctx context.Context, h Handler, ev *auth.Event) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = auth.Retryable("panic", 0, fmt.Errorf("handler panic: %v", r))
		}
	}()
	return h(ctx, ev)
}

func (w *Worker) giveUp(ctx context.Context, info DeliveryInfo, ev *auth.Event, err error, log *slog.Logger) {
	defer func() {
		if r := recover(); r != nil {
			log.Error("OnGiveUp panicked", "panic", fmt.Sprint(r))
		}
	}()
	w.o.OnGiveUp(context.WithValue(ctx, deliveryKey{}, info), ev, err)
}

// ack acks without waiting for the server's confirmation (no DoubleAck):
// the handler has already made the outcome durable in Postgres, so an ack
// that is lost only brings the message back, and BeginDelivery answers the
// repeat with "done". Saves a round trip and a reply per message.
func (w *Worker) ack(msg jetstream.Msg, log *lazyLogger) {
	if err := msg.Ack(); err != nil {
		log.get().Warn("ack failed", "err", err)
	}
	w.o.Metrics.MessageOutcome(w.name, OutcomeAck)
}

func (w *Worker) term(msg jetstream.Msg, reason string, log *slog.Logger) {
	if reason == "" {
		reason = "permanent"
	}
	if err := msg.TermWithReason(reason); err != nil {
		log.Warn("term failed", "err", err)
	}
	w.o.Metrics.MessageOutcome(w.name, OutcomeTerm)
}

// progress sends InProgress every AckWait/3 until the returned stop is
// called. It runs on a timer, not a goroutine of its own: most handlers
// return long before the first heartbeat.
func (w *Worker) progress(msg jetstream.Msg, log *lazyLogger) (stop func()) {
	every := time.Duration(w.ackWait.Load()) / 3
	if every <= 0 {
		every = DefaultAckWait / 3
	}
	var (
		mu      sync.Mutex
		stopped bool
		t       *time.Timer
	)
	mu.Lock() // t is set before the first tick reads it
	defer mu.Unlock()
	t = time.AfterFunc(every, func() {
		mu.Lock()
		defer mu.Unlock()
		if stopped {
			return
		}
		if err := msg.InProgress(); err != nil {
			log.get().Warn("in-progress failed", "err", err)
		}
		t.Reset(every)
	})
	return func() {
		mu.Lock()
		stopped = true
		t.Stop()
		mu.Unlock()
	}
}

// lazyLogger is a message's logger, built with its attributes on first
// use (get is safe for concurrent use; attrs must not change after it).
type lazyLogger struct {
	base  *slog.Logger
	attrs []any
	once  sync.Once
	log   *slog.Logger
}

func (l *lazyLogger) get() *slog.Logger {
	l.once.Do(func() { l.log = l.base.With(l.attrs...) })
	return l.log
}
