package auth

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"
)

// ListMessages returns the project's outbound message records, newest
// first, for operators (status, attempts, last error, provider id).
func (s *Service) ListMessages(ctx context.Context, p *Project, f MessageFilter) ([]*Message, error) {
	if f.Limit < 0 || f.Limit > 1000 {
		return nil, Invalid("limit", "limit must be between 1 and 1000.")
	}
	return s.store.ListMessages(ctx, p.ID, f)
}

// GetMessage returns one message record. ENotFound.
func (s *Service) GetMessage(ctx context.Context, p *Project, id string) (*Message, error) {
	if err := validID("message_id", id, ENotFound); err != nil {
		return nil, err
	}
	return s.store.FindMessage(ctx, p.ID, id)
}

// ReplayMessage puts a failed message back in the outbox if its code or
// link is still live; the relay publishes it under a new dedupe id.
// Returns ENotFound, or EConflict when it is not failed or its challenge died.
func (s *Service) ReplayMessage(ctx context.Context, p *Project, id string) error {
	if err := validID("message_id", id, ENotFound); err != nil {
		return err
	}
	return s.store.RequeueMessage(ctx, p.ID, id)
}

// ProviderChannels returns the channels a delivery provider carries
// ("twilio": sms and whatsapp; "sendgrid": email), nil for an unknown
// provider. A provider's delivery report only ever applies to messages of
// its channels.
func ProviderChannels(provider string) []Channel {
	switch provider {
	case "twilio":
		return []Channel{ChannelSMS, ChannelWhatsApp}
	case "sendgrid":
		return []Channel{ChannelEmail}
	default:
		return nil
	}
}

// maxDeliveryReason bounds the reason recorded with a delivery report.
const maxDeliveryReason = 200

// RecordDeliveryStatus applies a provider's delivery report (from a
// verified status callback or event webhook) to the message the provider
// knows as providerID (or, for SendGrid, Sesame's own message id): a sent
// message becomes delivered or undelivered (with reason in LastError).
// Reports of queued or sent, repeated reports and reports on a message
// already delivered or undelivered change nothing. Every call is counted
// in Metrics.DeliveryStatus. Returns EInvalid for an unknown provider, a
// malformed id, a status a provider cannot report or an oversized reason,
// and ENotFound when no message matches.
func (s *Service) RecordDeliveryStatus(ctx context.Context, provider, providerID string, status MessageStatus, reason string) error {
	if ProviderChannels(provider) == nil {
		return Invalid("provider", "provider must be twilio or sendgrid.")
	}
	if err := validID("provider_id", providerID, EInvalid); err != nil {
		return err
	}
	switch status {
	case MessageQueued, MessageSent, MessageDelivered, MessageUndelivered:
	default:
		return Invalid("status", "status must be queued, sent, delivered or undelivered.")
	}
	if len(reason) > maxDeliveryReason || strings.ContainsRune(reason, 0) || !utf8.ValidString(reason) {
		return Invalid("reason", "reason must be valid text of at most %d bytes.", maxDeliveryReason)
	}
	found, err := s.store.RecordProviderStatus(ctx, provider, providerID, status, reason)
	if err != nil {
		return err
	}
	if !found {
		s.metrics.DeliveryStatus(provider, "unknown")
		return &Error{Code: ENotFound, Field: "provider_id", Message: "No message has this provider id."}
	}
	s.metrics.DeliveryStatus(provider, string(status))
	return nil
}

// Relay publishes outbox rows that the inline publish did not get onto the
// stream (NATS down or slow, api crashed between commit and publish). It
// is safe to run in every api replica: rows are leased, and the Nats-Msg-Id
// dedupe absorbs a publish that raced the inline one.
//
// With Wake set, the relay does nothing while nothing is pending: it scans
// once at start, then only when woken (an inline publish or a published
// mark failed in this process) and for as long as it finds or fails to
// publish rows, every Interval; otherwise once per Idle, which bounds how
// long a row another replica left behind (it crashed between its commit
// and its publish) waits. Without Wake it scans every Interval.
type Relay struct {
	Store     MessageStore
	Publisher Publisher
	Keys      *Keyring
	Metrics   Metrics
	Log       *slog.Logger
	// Wake tells the relay that rows are pending (Service.RelayWake).
	// Default nil: scan every Interval.
	Wake <-chan struct{}
	// Interval between outbox scans while rows are pending. Default 1s.
	Interval time.Duration
	// Idle is the interval between scans while nothing is known to be
	// pending (only with Wake). Default 1m.
	Idle time.Duration
	// MinAge is how old a queued row must be before the relay takes it, so
	// it does not race the inline publish. Default 5s.
	MinAge time.Duration
	// Batch is the most rows taken per scan. Default 100.
	Batch int
	// Lease is how long a scan keeps the rows it claimed; the rows of a
	// batch that failed (the stream is down or electing a leader) are
	// tried again once it ends. Default 10s, twice the 5 s publish
	// timeout: a relay in another replica that takes a row still being
	// published sends the same Nats-Msg-Id, which the stream drops. (It
	// was 30 s: `make chaos` measured 30-37 s of delay after a stream
	// leader loss, almost all of it this lease.)
	Lease time.Duration
}

func (r *Relay) defaults() {
	if r.Interval <= 0 {
		r.Interval = time.Second
	}
	if r.Idle <= 0 {
		r.Idle = time.Minute
	}
	if r.MinAge <= 0 {
		r.MinAge = 5 * time.Second
	}
	if r.Batch <= 0 {
		r.Batch = 100
	}
	if r.Lease <= 0 {
		r.Lease = 10 * time.Second
	}
	if r.Metrics == nil {
		r.Metrics = NopMetrics{}
	}
	if r.Log == nil {
		r.Log = slog.New(slog.DiscardHandler)
	}
}

// Run scans the outbox until ctx ends.
func (r *Relay) Run(ctx context.Context) {
	r.defaults()
	// busyUntil: scan every Interval until then. A wake-up means a row
	// committed now becomes old enough (MinAge) a little later.
	pending := func() time.Time { return time.Now().Add(r.MinAge + 2*r.Interval) }
	busyUntil, nextScan := pending(), time.Now()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.Wake: // nil: never
			// The row is younger than MinAge: scan once it is not (a
			// wake-up only ever brings the next scan forward).
			busyUntil = pending()
			if due := time.Now().Add(r.MinAge); due.Before(nextScan) {
				timer.Reset(r.MinAge)
				nextScan = due
			}
			continue
		case <-timer.C:
		}
		for {
			n, err := r.RunOnce(ctx)
			if n > 0 || err != nil {
				busyUntil = pending() // more may follow, or the stream is down: retry
			}
			if err != nil || n < r.Batch {
				break
			}
		}
		next := r.Interval
		if r.Wake != nil && time.Now().After(busyUntil) {
			next = r.Idle
		}
		timer.Reset(next)
		nextScan = time.Now().Add(next)
	}
}

// RunOnce publishes one batch and returns how many rows it published.
func (r *Relay) RunOnce(ctx context.Context) (int, error) {
	r.defaults()
	items, err := r.Store.ClaimOutbox(ctx, r.MinAge, r.Lease, r.Batch)
	if err != nil {
		if ctx.Err() == nil {
			r.Log.Warn("outbox claim failed", "err", err)
		}
		return 0, err
	}
	done := 0
	var published []string
	defer func() {
		if len(published) == 0 {
			return
		}
		if err := r.Store.MarkPublished(context.WithoutCancel(ctx), published...); err != nil {
			r.Log.Warn("mark published failed; the rows will be republished (deduplicated)", "messages", len(published), "err", err)
		}
	}()
	for _, it := range items {
		pt, err := r.Keys.Decrypt(it.Payload, []byte(it.MessageID))
		if err != nil {
			r.Log.Error("outbox payload cannot be decrypted with SECRET_KEYS; message left queued", "message_id", it.MessageID)
			continue
		}
		var ev Event
		if err := json.Unmarshal(pt, &ev); err != nil {
			r.Log.Error("outbox payload is not an event", "message_id", it.MessageID)
			continue
		}
		ev.Sealed = it.Payload
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err = r.Publisher.Publish(pctx, &ev, it.MsgID)
		cancel()
		if err != nil {
			r.Metrics.Published("relay", "error")
			r.Log.Warn("relay publish failed; will retry", "message_id", it.MessageID, "err", err)
			return done, err // the stream is likely down: stop this batch, leases expire
		}
		r.Metrics.Published("relay", "ok")
		published = append(published, it.MessageID)
		done++
	}
	return done, nil
}

// Maintain prunes expired rows every interval until ctx ends.
func (s *Service) Maintain(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = 10 * time.Minute
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if n, err := s.store.Prune(ctx, s.now()); err != nil {
			if ctx.Err() == nil {
				s.log.Warn("prune failed", "err", err)
			}
		} else if n > 0 {
			s.log.Info("pruned expired rows", "rows", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
