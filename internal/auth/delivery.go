package auth

import (
	"context"
	"log/slog"
	"time"
)

// DeliveryStore is what a delivery worker needs from storage.
type DeliveryStore interface {
	BeginDelivery(ctx context.Context, messageID string, lease time.Duration) (DeliveryDecision, error)
	FinishDelivery(ctx context.Context, messageID string, status MessageStatus, providerID, reason string) error
}

// Deliverer sends one event through a provider and records the outcome on
// the message. It is the business half of a worker; internal/nats maps its
// result to Ack (nil), NakWithDelay (retryable) or TermWithReason (permanent).
type Deliverer struct {
	Store  DeliveryStore
	Sender Sender
	// Render turns an event into the message text.
	Render func(*Event) *OutboundMessage
	// Lease is how long a worker holds a message while it calls the
	// provider; another worker may take it over after. Default 1 minute.
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
		lease = time.Minute
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
	dec, err := d.Store.BeginDelivery(ctx, ev.MessageID, lease)
	if err != nil {
		return Retryable("store", 0, err)
	}
	switch dec {
	case DeliveryDone, DeliveryDead, DeliveryUnknown:
		return nil
	case DeliveryBusy:
		return Retryable("busy", lease, nil)
	}
	sctx, cancel := context.WithTimeout(ctx, lease)
	defer cancel()
	providerID, err := d.Sender.Send(sctx, d.Render(ev))
	if err == nil {
		// The provider accepted: record it even if the worker is shutting down.
		rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer rcancel()
		for i := 0; i < 3; i++ {
			if err = d.Store.FinishDelivery(rctx, ev.MessageID, MessageSent, providerID, ""); err == nil {
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
	if ferr := d.Store.FinishDelivery(context.WithoutCancel(ctx), ev.MessageID, status, "", de.Reason); ferr != nil {
		log.Warn("recording a failed attempt failed", "message_id", ev.MessageID, "err", ferr)
	}
	log.Warn("delivery attempt failed", "message_id", ev.MessageID, "channel", ev.Channel, "permanent", de.Permanent, "reason", de.Reason)
	return de
}

// GiveUp records that a message exhausted its deliveries.
func (d *Deliverer) GiveUp(ctx context.Context, ev *Event, err error) {
	reason := "max deliveries"
	if err != nil {
		reason += ": " + AsDeliveryError(err).Reason
	}
	_ = d.Store.FinishDelivery(context.WithoutCancel(ctx), ev.MessageID, MessageFailed, "", reason)
}
