// Package nats puts delivery events (auth.Event) on a NATS JetStream work
// queue and runs the worker loop that consumes them.
//
// Layout:
//
//   - one stream, StreamName, capturing otp.requested.> and
//     magiclink.requested.>, WorkQueue retention (a message is deleted when a
//     worker acks or terms it), file storage, MaxAge 15m and a dedupe window
//     equal to MaxAge;
//   - two durable pull consumers whose names are part of the operator
//     contract: ConsumerSMS ("smsworker") and ConsumerEmail ("emailworker");
//   - Publisher implements auth.Publisher (synchronous publish, Nats-Msg-Id
//     dedupe);
//   - Worker runs a handler over a consumer with bounded concurrency,
//     ack/nak/term mapping, progress heartbeats and a graceful drain.
//
// Events carry plaintext codes and links: nothing in this package logs a
// payload, a code, a token or a recipient.
package nats

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Stream and subject names.
const (
	// StreamName is the JetStream stream holding all delivery events.
	StreamName = "SESAME"

	SubjectOTPSMS         = "otp.requested.sms"
	SubjectOTPWhatsApp    = "otp.requested.whatsapp"
	SubjectOTPEmail       = "otp.requested.email"
	SubjectMagicLinkEmail = "magiclink.requested.email"

	// SubjectsOTP and SubjectsMagicLink are the stream's subject filters.
	SubjectsOTP       = "otp.requested.>"
	SubjectsMagicLink = "magiclink.requested.>"
)

// Durable consumer names (operator contract: autoscalers and dashboards look
// them up by name).
const (
	ConsumerSMS   = "smsworker"
	ConsumerEmail = "emailworker"
)

// Defaults.
const (
	// DefaultMaxAge bounds how long an event may wait in the stream. A code
	// lives at most 10 minutes, and a login email that arrives more than
	// 15 minutes late is stale, so older events are dropped rather than sent.
	DefaultMaxAge = 15 * time.Minute
	// DefaultAckWait is how long the server waits for an ack (or an
	// InProgress) before it redelivers. Short, so that the messages of a
	// worker killed with SIGKILL come back within seconds; a live worker
	// sends InProgress every AckWait/3 while a handler runs.
	DefaultAckWait = 5 * time.Second
	// DefaultMaxDeliver caps delivery attempts. With the default backoff
	// (1s, 2s, 4s … capped at 1m) ten attempts span about four minutes,
	// well inside DefaultMaxAge.
	DefaultMaxDeliver = 10
	// DefaultConcurrency is how many handlers a worker runs at once: enough
	// for 500 messages/s at a 200 ms provider (with group-committed status
	// writes, a handler costs little besides its provider call).
	DefaultConcurrency = 256
	// DefaultPodsHint is the number of worker processes the default
	// MaxAckPending (2*Concurrency*DefaultPodsHint) leaves room for (each
	// process holds at most 1.25*Concurrency messages: Concurrency in
	// handlers, a quarter of it buffered; the factor 2 is headroom).
	DefaultPodsHint = 8
)

// SMSFilterSubjects returns the subjects the smsworker consumer receives.
func SMSFilterSubjects() []string { return []string{SubjectOTPSMS, SubjectOTPWhatsApp} }

// EmailFilterSubjects returns the subjects the emailworker consumer receives.
func EmailFilterSubjects() []string { return []string{SubjectOTPEmail, SubjectMagicLinkEmail} }

// FilterSubjects returns the filter subjects of a known consumer name, or nil.
func FilterSubjects(consumer string) []string {
	switch consumer {
	case ConsumerSMS:
		return SMSFilterSubjects()
	case ConsumerEmail:
		return EmailFilterSubjects()
	}
	return nil
}

// StreamOptions configures the stream. The zero value means the defaults.
// Every process that calls EnsureStream should use the same options, or they
// will keep updating the stream to their own view.
type StreamOptions struct {
	// MaxAge is how long an unconsumed event is kept. Default DefaultMaxAge.
	MaxAge time.Duration
	// Duplicates is the Nats-Msg-Id dedupe window. Default (and maximum,
	// the server refuses a larger one) MaxAge.
	Duplicates time.Duration
	// Replicas for clustered JetStream. Default 1.
	Replicas int
	// Storage defaults to file storage (events survive a server restart).
	// Set MemoryStorage for throwaway tests.
	Storage jetstream.StorageType
	// MaxBytes caps the stream size (0 means unlimited).
	MaxBytes int64
}

func (o StreamOptions) withDefaults() StreamOptions {
	if o.MaxAge <= 0 {
		o.MaxAge = DefaultMaxAge
	}
	if o.Duplicates <= 0 || o.Duplicates > o.MaxAge {
		o.Duplicates = o.MaxAge
	}
	if o.Replicas <= 0 {
		o.Replicas = 1
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = -1
	}
	return o
}

// StreamConfig returns the JetStream configuration EnsureStream applies.
func StreamConfig(o StreamOptions) jetstream.StreamConfig {
	o = o.withDefaults()
	return jetstream.StreamConfig{
		Name:        StreamName,
		Description: "Sesame delivery events (OTP codes and magic links)",
		Subjects:    []string{SubjectsOTP, SubjectsMagicLink},
		Retention:   jetstream.WorkQueuePolicy,
		Storage:     o.Storage, // FileStorage is the zero value
		MaxAge:      o.MaxAge,
		Duplicates:  o.Duplicates,
		Discard:     jetstream.DiscardOld,
		MaxBytes:    o.MaxBytes,
		MaxMsgs:     -1,
		Replicas:    o.Replicas,
	}
}

// EnsureStream creates the stream or updates it to opts. It is idempotent
// and safe to call from several processes at once.
func EnsureStream(ctx context.Context, js jetstream.JetStream, opts StreamOptions) (jetstream.Stream, error) {
	cfg := StreamConfig(opts)
	s, err := js.CreateOrUpdateStream(ctx, cfg)
	if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
		// Lost a create race against a process with a different view of
		// the config: the stream exists now, so an update applies ours.
		s, err = js.CreateOrUpdateStream(ctx, cfg)
	}
	if err != nil {
		return nil, fmt.Errorf("nats: ensure stream %s: %w", StreamName, err)
	}
	return s, nil
}

// ConsumerOptions configures a durable pull consumer.
type ConsumerOptions struct {
	// Name is the durable name (ConsumerSMS or ConsumerEmail). Required.
	Name string
	// FilterSubjects defaults to FilterSubjects(Name).
	FilterSubjects []string
	// AckWait defaults to DefaultAckWait.
	AckWait time.Duration
	// MaxDeliver defaults to DefaultMaxDeliver.
	MaxDeliver int
	// MaxAckPending is the cap on delivered-but-unacked messages across all
	// processes sharing the consumer. Default 2*Concurrency*DefaultPodsHint.
	MaxAckPending int
	// Concurrency sizes the default MaxAckPending. Default DefaultConcurrency.
	Concurrency int
}

func (o ConsumerOptions) withDefaults() ConsumerOptions {
	if len(o.FilterSubjects) == 0 {
		o.FilterSubjects = FilterSubjects(o.Name)
	}
	if o.AckWait <= 0 {
		o.AckWait = DefaultAckWait
	}
	if o.MaxDeliver <= 0 {
		o.MaxDeliver = DefaultMaxDeliver
	}
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.MaxAckPending <= 0 {
		o.MaxAckPending = 2 * o.Concurrency * DefaultPodsHint
	}
	return o
}

// ConsumerConfig returns the JetStream configuration EnsureConsumer applies.
func ConsumerConfig(o ConsumerOptions) jetstream.ConsumerConfig {
	o = o.withDefaults()
	return jetstream.ConsumerConfig{
		Durable:        o.Name,
		Description:    "Sesame " + o.Name,
		FilterSubjects: slices.Clone(o.FilterSubjects),
		AckPolicy:      jetstream.AckExplicitPolicy, // required on a work queue
		DeliverPolicy:  jetstream.DeliverAllPolicy,  // required on a work queue
		AckWait:        o.AckWait,
		MaxDeliver:     o.MaxDeliver,
		MaxAckPending:  o.MaxAckPending,
	}
}

// EnsureConsumer creates the durable consumer or updates it to opts. It is
// idempotent. The stream must exist (EnsureStream).
func EnsureConsumer(ctx context.Context, js jetstream.JetStream, opts ConsumerOptions) (jetstream.Consumer, error) {
	if opts.Name == "" {
		return nil, errors.New("nats: consumer name is required")
	}
	cfg := ConsumerConfig(opts)
	if len(cfg.FilterSubjects) == 0 {
		return nil, fmt.Errorf("nats: consumer %s: no filter subjects", opts.Name)
	}
	c, err := js.CreateOrUpdateConsumer(ctx, StreamName, cfg)
	if errors.Is(err, jetstream.ErrConsumerExists) {
		c, err = js.CreateOrUpdateConsumer(ctx, StreamName, cfg)
	}
	if err != nil {
		return nil, fmt.Errorf("nats: ensure consumer %s: %w", opts.Name, err)
	}
	return c, nil
}

// ConsumerStats are a consumer's backlog figures, for /metrics gauges.
type ConsumerStats struct {
	NumPending     uint64 // in the stream, not yet delivered
	NumAckPending  int    // delivered, not yet acked
	NumRedelivered int    // redelivered, not yet acked
	NumWaiting     int    // open pull requests
}

// ConsumerInfo returns the stats of the named consumer of StreamName.
func ConsumerInfo(ctx context.Context, js jetstream.JetStream, name string) (ConsumerStats, error) {
	c, err := js.Consumer(ctx, StreamName, name)
	if err != nil {
		return ConsumerStats{}, fmt.Errorf("nats: consumer %s: %w", name, err)
	}
	// js.Consumer just fetched the info; use it rather than a second request.
	info := c.CachedInfo()
	if info == nil {
		if info, err = c.Info(ctx); err != nil {
			return ConsumerStats{}, fmt.Errorf("nats: consumer %s info: %w", name, err)
		}
	}
	return ConsumerStats{
		NumPending:     info.NumPending,
		NumAckPending:  info.NumAckPending,
		NumRedelivered: info.NumRedelivered,
		NumWaiting:     info.NumWaiting,
	}, nil
}
