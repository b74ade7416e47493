package auth

import (
	"context"
	"sync"
	"time"
)

// This file holds what happens after a send commits: the inline publish,
// and the marking of published messages, which leaves the request path.
// A send's response waits for the PubAck (so a code is on the stream when
// the client hears "sent"), but not for the UPDATE that records it: the
// marks of concurrent sends are gathered and written by one statement.

// maxMarkBatch bounds the ids marked published by one statement.
const maxMarkBatch = 1000

// publishMarks gathers the ids of messages published inline, for one
// flusher goroutine that runs only while ids are waiting: it marks what
// arrived during the previous statement with the next one (group commit
// without a timer), and exits when nothing waits.
type publishMarks struct {
	mu      sync.Mutex
	ids     []string
	running bool
	wake    chan struct{} // the relay's wake-up (RelayWake), buffered 1
}

// publishInline publishes a committed event and queues its published
// mark. A failure is not the caller's problem: the row stays queued, the
// relay is woken and publishes it once it is MinAge old (same Nats-Msg-Id,
// so never twice on the stream).
func (s *Service) publishInline(ctx context.Context, ev *Event) {
	if s.publisher == nil {
		return
	}
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.PublishTimeout)
	defer cancel()
	if err := s.publisher.Publish(pctx, ev, ev.ChallengeID); err != nil {
		s.metrics.Published("inline", "error")
		s.log.Warn("publish failed; the outbox relay will retry", "message_id", ev.MessageID, "subject", ev.Subject(), "err", err)
		s.wakeRelay()
		return
	}
	s.metrics.Published("inline", "ok")
	s.markPublished(ev.MessageID)
}

// markPublished queues id to be marked published by the flusher.
func (s *Service) markPublished(id string) {
	m := &s.marks
	m.mu.Lock()
	m.ids = append(m.ids, id)
	if m.running {
		m.mu.Unlock()
		return
	}
	m.running = true
	m.mu.Unlock()
	go s.flushMarks()
}

// flushMarks marks the queued ids published, batch after batch, until
// none waits. A failed batch stays queued in the outbox: the relay is
// woken and republishes those rows (deduplicated by Nats-Msg-Id).
func (s *Service) flushMarks() {
	m := &s.marks
	for {
		m.mu.Lock()
		n := min(len(m.ids), maxMarkBatch)
		if n == 0 {
			m.ids, m.running = nil, false
			m.mu.Unlock()
			return
		}
		ids := m.ids[:n:n]
		m.ids = m.ids[n:]
		m.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := s.store.MarkPublished(ctx, ids...)
		cancel()
		if err != nil {
			s.log.Warn("mark published failed; the relay will republish (deduplicated)", "messages", len(ids), "err", err)
			s.wakeRelay()
		}
	}
}

// FlushPublished waits (until ctx ends) for the queued published marks to
// be written: a graceful shutdown calls it so the relay need not
// republish what was already on the stream.
func (s *Service) FlushPublished(ctx context.Context) {
	for {
		s.marks.mu.Lock()
		idle := !s.marks.running && len(s.marks.ids) == 0
		s.marks.mu.Unlock()
		if idle {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// RelayWake returns the channel on which the service tells the relay that
// a committed message was not published or not marked (Relay.Wake).
func (s *Service) RelayWake() <-chan struct{} { return s.marks.wake }

func (s *Service) wakeRelay() {
	select {
	case s.marks.wake <- struct{}{}:
	default: // already signalled
	}
}
