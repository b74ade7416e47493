package nats

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/sesame-auth/sesame/internal/auth"
	"github.com/sesame-auth/sesame/internal/tracing"
)

// DefaultPublishTimeout bounds one synchronous publish (request and PubAck).
// It is short because the API answers an HTTP request behind it; on failure
// the caller keeps the outbox row and the relay publishes it later.
const DefaultPublishTimeout = 3 * time.Second

// Publisher implements auth.Publisher on the JetStream stream.
type Publisher struct {
	js      jetstream.JetStream
	timeout time.Duration
}

var _ auth.Publisher = (*Publisher)(nil)

// PublisherOption configures a Publisher.
type PublisherOption func(*Publisher)

// WithPublishTimeout sets the per-call timeout (default DefaultPublishTimeout).
// A deadline already on the caller's context wins if it is sooner.
func WithPublishTimeout(d time.Duration) PublisherOption {
	return func(p *Publisher) {
		if d > 0 {
			p.timeout = d
		}
	}
}

// NewPublisher returns a Publisher using js.
func NewPublisher(js jetstream.JetStream, opts ...PublisherOption) *Publisher {
	p := &Publisher{js: js, timeout: DefaultPublishTimeout}
	for _, o := range opts {
		o(p)
	}
	return p
}

func (p *Publisher) Publish(ctx context.Context, ev *auth.Event, msgID string) error {
	if ev == nil {
		return errors.New("nats: publish: nil event")
	}
	if msgID == "" {
		msgID = ev.ChallengeID
	}
	if msgID == "" {
		return errors.New("nats: publish: empty message id")
	}
	subject := ev.Subject()
	data, err := json.Marshal(ev)
	if err != nil {
		// Never include the event itself: it holds the plaintext code.
		return fmt.Errorf("nats: publish %s: encode event: %w", subject, err)
	}
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	// The producer span's trace context rides in the headers (traceparent).
	msg := &natsgo.Msg{Subject: subject, Data: data, Header: natsgo.Header{}}
	// A relayed publish has no request context: continue the trace the
	// request stored with the outbox row.
	ctx = tracing.WithRemoteParent(ctx, ev.TraceParent)
	ctx, endSpan := tracing.StartPublish(ctx, subject, msgID, msg.Header)
	_, err = p.js.PublishMsg(ctx, msg,
		jetstream.WithMsgID(msgID),
		jetstream.WithExpectStream(StreamName),
	)
	endSpan(err)
	if err != nil {
		return fmt.Errorf("nats: publish %s (msg id %s): %w", subject, msgID, err)
	}
	return nil
}
