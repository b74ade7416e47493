package auth

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// EventKind is what a delivery event asks for.
type EventKind string

// Event kinds.
const (
	KindOTP       EventKind = "otp"
	KindMagicLink EventKind = "magiclink"
)

// Subject returns the NATS subject an event of this kind and channel is
// published on: otp.requested.{sms,whatsapp,email} or magiclink.requested.email.
func Subject(kind EventKind, ch Channel) string {
	return string(kind) + ".requested." + string(ch)
}

// Event asks a delivery worker to send one message. It carries the plaintext
// code or link, so it lives only in the outbox (encrypted) and in the stream
// (for at most the stream's MaxAge), never in logs.
type Event struct {
	MessageID string        `json:"message_id"` // also the Nats-Msg-Id
	ProjectID string        `json:"project_id"`
	Kind      EventKind     `json:"kind"`
	Channel   Channel       `json:"channel"`
	To        string        `json:"to"`
	Code      string        `json:"code,omitempty"` // OTP events
	URL       string        `json:"url,omitempty"`  // magic link events
	LinkKind  MagicLinkKind `json:"link_kind,omitempty"`
	Locale    string        `json:"locale,omitempty"`
	// AppName, FromName and FromEmail are the project's message settings
	// (MessageSettings); "" means the worker's and provider's defaults.
	AppName   string `json:"app_name,omitempty"`
	FromName  string `json:"from_name,omitempty"`
	FromEmail string `json:"from_email,omitempty"`
	// TraceParent is the W3C traceparent of the request that asked for the
	// send ("" when tracing is off): stored with the outbox row, it lets a
	// publish by the relay continue that trace.
	TraceParent string    `json:"traceparent,omitempty"`
	ExpiresAt   time.Time `json:"expires_at"`
	ChallengeID string    `json:"challenge_id"`
	CreatedAt   time.Time `json:"created_at"`
	// Sealed is this event as the outbox stores it: encrypted under
	// SECRET_KEYS with MessageID as associated data, never inside itself
	// (the api seals the event without it, then sets it for the publish).
	// A worker cannot open it; it hands it back with a failed outcome
	// (AttemptFinisher), so that the store keeps a replayable payload for
	// a failed message only, rather than every message keeping one until
	// it is sent (migration 0020). Absent from events of versions before
	// 0020, whose payload the store still holds.
	Sealed []byte `json:"sealed,omitempty"`
}

// Subject is the subject the event is published on.
func (e *Event) Subject() string { return Subject(e.Kind, e.Channel) }

// Publisher puts events on the durable stream. Publish returns only after
// the stream acknowledged the event. msgID is the dedupe id (Nats-Msg-Id):
// publishing twice with the same id delivers once. It is the challenge id,
// or the challenge id with a replay suffix for an operator's replay.
type Publisher interface {
	Publish(ctx context.Context, ev *Event, msgID string) error
}

// OutboundMessage is what a provider is asked to send, already rendered.
type OutboundMessage struct {
	MessageID string  // for provider-side correlation (SendGrid custom arg)
	Channel   Channel // sms, whatsapp or email
	To        string  // E.164 number or email address
	Subject   string  // email only
	Text      string  // the SMS body or the email's plain-text part
	HTML      string  // email only
	// FromName and FromEmail override the provider's configured sender
	// (email only); "" keeps it.
	FromName  string
	FromEmail string
}

// Sender delivers one message through a provider and returns the provider's
// message id. Errors should be wrapped with Permanent or Retryable; any
// other error is treated as retryable.
type Sender interface {
	Send(ctx context.Context, m *OutboundMessage) (providerID string, err error)
}

// DeliveryError classifies a failed delivery attempt.
type DeliveryError struct {
	Permanent  bool          // never retry (bad number, rejected payload, auth error)
	RetryAfter time.Duration // retry no sooner than this (0 means the worker's backoff)
	Reason     string        // short, bounded reason recorded on the message, e.g. "twilio 21211"
	Err        error
}

func (e *DeliveryError) Error() string {
	kind := "retryable"
	if e.Permanent {
		kind = "permanent"
	}
	if e.Err != nil {
		return fmt.Sprintf("%s delivery error (%s): %v", kind, e.Reason, e.Err)
	}
	return fmt.Sprintf("%s delivery error (%s)", kind, e.Reason)
}

func (e *DeliveryError) Unwrap() error { return e.Err }

// Permanent marks err as a failure that retrying cannot fix.
func Permanent(reason string, err error) error {
	return &DeliveryError{Permanent: true, Reason: reason, Err: err}
}

// Retryable marks err as transient; after > 0 asks to wait at least that long.
func Retryable(reason string, after time.Duration, err error) error {
	return &DeliveryError{Reason: reason, RetryAfter: after, Err: err}
}

// AsDeliveryError classifies any error: a *DeliveryError as is, anything else
// as retryable with reason "error".
func AsDeliveryError(err error) *DeliveryError {
	var de *DeliveryError
	if errors.As(err, &de) {
		return de
	}
	return &DeliveryError{Reason: "error", Err: err}
}
