package auth

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"
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

// Relay publishes outbox rows that the inline publish did not get onto the
// stream (NATS down or slow, api crashed between commit and publish). It
// is safe to run in every api replica: rows are leased, and the Nats-Msg-Id
// dedupe absorbs a publish that raced the inline one.
type Relay struct {
	Store     MessageStore
	Publisher Publisher
	Keys      *Keyring
	Metrics   Metrics
	Log       *slog.Logger
	// Interval between outbox scans. Default 1s.
	Interval time.Duration
	// MinAge is how old a queued row must be before the relay takes it, so
	// it does not race the inline publish. Default 5s.
	MinAge time.Duration
	// Batch is the most rows taken per scan. Default 100.
	Batch int
}

func (r *Relay) defaults() {
	if r.Interval <= 0 {
		r.Interval = time.Second
	}
	if r.MinAge <= 0 {
		r.MinAge = 5 * time.Second
	}
	if r.Batch <= 0 {
		r.Batch = 100
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
	t := time.NewTicker(r.Interval)
	defer t.Stop()
	for {
		for {
			n, err := r.RunOnce(ctx)
			if err != nil || n < r.Batch {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// RunOnce publishes one batch and returns how many rows it published.
func (r *Relay) RunOnce(ctx context.Context) (int, error) {
	r.defaults()
	items, err := r.Store.ClaimOutbox(ctx, r.MinAge, 30*time.Second, r.Batch)
	if err != nil {
		if ctx.Err() == nil {
			r.Log.Warn("outbox claim failed", "err", err)
		}
		return 0, err
	}
	done := 0
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
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err = r.Publisher.Publish(pctx, &ev, it.MsgID)
		cancel()
		if err != nil {
			r.Metrics.Published("relay", "error")
			r.Log.Warn("relay publish failed; will retry", "message_id", it.MessageID, "err", err)
			return done, err // the stream is likely down: stop this batch, leases expire
		}
		r.Metrics.Published("relay", "ok")
		if err := r.Store.MarkPublished(ctx, it.MessageID); err != nil {
			r.Log.Warn("mark published failed", "message_id", it.MessageID, "err", err)
		}
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
