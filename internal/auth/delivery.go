package auth

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"
)

// DeliveryStore is what a delivery worker needs from storage.
type DeliveryStore interface {
	BeginDelivery(ctx context.Context, messageID string, lease time.Duration) (DeliveryDecision, error)
	FinishDelivery(ctx context.Context, messageID string, status MessageStatus, providerID, reason string) error
}

// DeliveryLeaser is a DeliveryStore that also says, for DeliveryBusy, when
// the live lease ends, so that the retry comes right after it rather than
// a whole lease later. Deliverer uses it when the store has it.
type DeliveryLeaser interface {
	BeginDeliveryLease(ctx context.Context, messageID string, lease time.Duration) (DeliveryDecision, time.Time, error)
}

// ProviderAttempt is which provider an attempt was handed to and whether
// it accepted the message (messages.providers_tried and provider).
type ProviderAttempt struct {
	Provider string
	Accepted bool
}

// AttemptFinisher is a DeliveryStore that records the provider attempt
// together with the outcome, in the same write as FinishDelivery (one
// statement per message instead of two), and keeps the sealed event
// (Event.Sealed) of a failed message so that it can be replayed
// (RequeueMessage): since migration 0020 the store drops a message's
// payload with its outbox row once it is published, and the event on the
// stream is the only copy. Deliverer uses it when the store has it;
// attempt.Provider "" records no attempt, sealed nil keeps no payload.
type AttemptFinisher interface {
	FinishDeliveryAttempt(ctx context.Context, messageID string, status MessageStatus, providerID, reason string, attempt ProviderAttempt, sealed []byte) error
}

type attemptNoteKey struct{}

// attemptNote receives the one provider attempt of a Send.
type attemptNote struct {
	p atomic.Pointer[ProviderAttempt]
}

// NoteProviderAttempt hands the provider attempt of a Send to the
// Deliverer that called it, which records it with the outcome. It reports
// false when ctx carries no such request (or already has its attempt):
// the caller records the attempt itself (smsroute.Recorder).
func NoteProviderAttempt(ctx context.Context, provider string, accepted bool) bool {
	n, _ := ctx.Value(attemptNoteKey{}).(*attemptNote)
	return n != nil && n.p.CompareAndSwap(nil, &ProviderAttempt{Provider: provider, Accepted: accepted})
}

// DefaultDeliveryLease is how long a worker holds a message while it calls
// the provider: the providers' own 10 s client timeout. The call itself is
// cut leaseMargin earlier, so once a lease has lapsed its attempt has
// provably ended (answered, failed or abandoned) and another worker may
// send at once.
const DefaultDeliveryLease = 10 * time.Second

// leaseMargin is how much earlier than its lease a provider call is cut:
// room to record the outcome and for clock skew between workers.
const leaseMargin = time.Second

// minBusyRetry is the least delay before retrying a message whose lease
// another worker holds.
const minBusyRetry = 250 * time.Millisecond

// Deliverer sends one event through a provider and records the outcome on
// the message. It is the business half of a worker; internal/nats maps its
// result to Ack (nil), NakWithDelay (retryable) or TermWithReason (permanent).
type Deliverer struct {
	Store  DeliveryStore
	Sender Sender
	// Render turns an event into the message text.
	Render func(*Event) *OutboundMessage
	// Lease is how long a worker holds a message while it calls the
	// provider (which is cut a second earlier); another worker may take it
	// over after. Default DefaultDeliveryLease.
	Lease time.Duration
	Log   *slog.Logger
	Now   func() time.Time
}

// Deliver sends ev unless it is already sent, expired or superseded.
// It never sends a code past its expiry.
func (d *Deliverer) Deliver(ctx context.Context, ev *Event) error {
	now := time.Now
	if d.Now != nil {
		now = d.Now
	}
	lease := d.Lease
	if lease <= 0 {
		lease = DefaultDeliveryLease
	}
	log := d.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if !now().Before(ev.ExpiresAt) {
		if err := d.Store.FinishDelivery(ctx, ev.MessageID, MessageSkipped, "", "expired before delivery"); err != nil {
			return Retryable("store", 0, err)
		}
		return nil
	}
	dec, until, err := d.begin(ctx, ev.MessageID, lease)
	if err != nil {
		return Retryable("store", 0, err)
	}
	switch dec {
	case DeliveryDone, DeliveryDead, DeliveryUnknown:
		return nil
	case DeliveryBusy:
		// Another attempt may be live: never doubled. Retry once its lease
		// has lapsed, when it has provably ended.
		return Retryable("busy", max(until.Sub(now()), minBusyRetry), nil)
	}
	sctx, cancel := context.WithTimeout(ctx, max(lease-leaseMargin, lease/2))
	defer cancel()
	finish := d.Store.FinishDelivery
	if af, ok := d.Store.(AttemptFinisher); ok {
		note := &attemptNote{}
		sctx = context.WithValue(sctx, attemptNoteKey{}, note)
		finish = func(ctx context.Context, id string, status MessageStatus, providerID, reason string) error {
			var a ProviderAttempt
			if p := note.p.Load(); p != nil {
				a = *p
			}
			return af.FinishDeliveryAttempt(ctx, id, status, providerID, reason, a, failedSealed(status, ev))
		}
	}
	providerID, err := d.Sender.Send(sctx, d.Render(ev))
	if err == nil {
		// The provider accepted: record it even if the worker is shutting down.
		rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer rcancel()
		for i := 0; i < 3; i++ {
			if err = finish(rctx, ev.MessageID, MessageSent, providerID, ""); err == nil {
				break
			}
		}
		if err != nil {
			log.Error("message sent but not recorded", "message_id", ev.MessageID, "provider_id", providerID, "err", err)
		}
		return nil
	}
	de := AsDeliveryError(err)
	status := MessageRetrying
	if de.Permanent {
		status = MessageFailed
	}
	if ferr := finish(context.WithoutCancel(ctx), ev.MessageID, status, "", de.Reason); ferr != nil {
		log.Warn("recording a failed attempt failed", "message_id", ev.MessageID, "err", ferr)
	}
	log.Warn("delivery attempt failed", "message_id", ev.MessageID, "channel", ev.Channel, "permanent", de.Permanent, "reason", de.Reason)
	return de
}

func (d *Deliverer) begin(ctx context.Context, id string, lease time.Duration) (DeliveryDecision, time.Time, error) {
	if l, ok := d.Store.(DeliveryLeaser); ok {
		return l.BeginDeliveryLease(ctx, id, lease)
	}
	dec, err := d.Store.BeginDelivery(ctx, id, lease)
	return dec, time.Time{}, err
}

// GiveUp records that a message exhausted its deliveries.
func (d *Deliverer) GiveUp(ctx context.Context, ev *Event, err error) {
	reason := "max deliveries"
	if err != nil {
		reason += ": " + AsDeliveryError(err).Reason
	}
	ctx = context.WithoutCancel(ctx)
	if af, ok := d.Store.(AttemptFinisher); ok {
		_ = af.FinishDeliveryAttempt(ctx, ev.MessageID, MessageFailed, "", reason, ProviderAttempt{}, ev.Sealed)
		return
	}
	_ = d.Store.FinishDelivery(ctx, ev.MessageID, MessageFailed, "", reason)
}

// failedSealed is the sealed event to hand to the store with status: only
// a failed message keeps a payload (the others would drop it at once).
func failedSealed(status MessageStatus, ev *Event) []byte {
	if status == MessageFailed {
		return ev.Sealed
	}
	return nil
}
