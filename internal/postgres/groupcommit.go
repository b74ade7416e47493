package postgres

import (
	"context"
	"sync"
	"time"
)

// Group commit for the delivery path (BeginDelivery, FinishDelivery): a
// worker runs hundreds of sends at once, and each used to cost its own
// statement. Calls made while a statement of the same kind is running are
// gathered and written together by the next one, so a burst of N calls
// costs about N/MaxBatch statements, and a lone call still costs exactly
// one statement with no added wait (no timer: a batch is whatever queued
// while the previous one ran). A call returns only after its batch
// committed, so a worker acks a message only once its status is durable.
const (
	// DeliveryBatchMax caps the calls written by one statement.
	DeliveryBatchMax = 256
	// DeliveryBatchFlushers is how many statements of one kind may run at
	// once (each holds a pool connection while it runs).
	DeliveryBatchFlushers = 3
	// deliveryBatchTimeout bounds one batch statement.
	deliveryBatchTimeout = 10 * time.Second
)

// groupCommit gathers calls of one kind and runs them in batches. A batch
// never holds two calls with the same key: the second waits for the next
// batch, so that it sees the first's effect (a second BeginDelivery of a
// message in the same batch would otherwise be granted the lease as well).
type groupCommit[Q, R any] struct {
	in    chan *gcCall[Q, R]
	quit  chan struct{}
	key   func(Q) string
	flush func(ctx context.Context, qs []Q) ([]R, error)

	startOnce sync.Once
	stopOnce  sync.Once
	wg        sync.WaitGroup
}

type gcCall[Q, R any] struct {
	q    Q
	r    R
	err  error
	done chan struct{}
}

func newGroupCommit[Q, R any](key func(Q) string, flush func(context.Context, []Q) ([]R, error)) *groupCommit[Q, R] {
	return &groupCommit[Q, R]{in: make(chan *gcCall[Q, R]), quit: make(chan struct{}), key: key, flush: flush}
}

// do runs q in the next batch and returns its result. After stop it runs
// q alone. If ctx ends first, do returns ctx.Err() while the batch may
// still write q (as a crash would leave it).
func (g *groupCommit[Q, R]) do(ctx context.Context, q Q) (R, error) {
	g.startOnce.Do(func() {
		for range DeliveryBatchFlushers {
			g.wg.Add(1)
			go g.loop()
		}
	})
	c := &gcCall[Q, R]{q: q, done: make(chan struct{})}
	var zero R
	select {
	case g.in <- c:
	case <-g.quit:
		rs, err := g.flush(ctx, []Q{q})
		if err != nil {
			return zero, err
		}
		return rs[0], nil
	case <-ctx.Done():
		return zero, ctx.Err()
	}
	select {
	case <-c.done:
		return c.r, c.err
	case <-ctx.Done():
		return zero, ctx.Err()
	}
}

// stop ends the flushers once they finished their batches.
func (g *groupCommit[Q, R]) stop() {
	g.stopOnce.Do(func() { close(g.quit) })
	g.wg.Wait()
}

func (g *groupCommit[Q, R]) loop() {
	defer g.wg.Done()
	var carry []*gcCall[Q, R]
	for {
		batch := carry
		carry = nil
		if len(batch) == 0 {
			select {
			case c := <-g.in:
				batch = append(batch, c)
			case <-g.quit:
				return
			}
		}
	fill:
		for len(batch) < DeliveryBatchMax {
			select {
			case c := <-g.in:
				batch = append(batch, c)
			default:
				break fill
			}
		}
		seen := make(map[string]bool, len(batch))
		run := batch[:0:0]
		for _, c := range batch {
			if k := g.key(c.q); seen[k] {
				carry = append(carry, c)
			} else {
				seen[k] = true
				run = append(run, c)
			}
		}
		g.run(run)
	}
}

func (g *groupCommit[Q, R]) run(batch []*gcCall[Q, R]) {
	qs := make([]Q, len(batch))
	for i, c := range batch {
		qs[i] = c.q
	}
	ctx, cancel := context.WithTimeout(context.Background(), deliveryBatchTimeout)
	rs, err := g.flush(ctx, qs)
	cancel()
	for i, c := range batch {
		if err != nil {
			c.err = err
		} else {
			c.r = rs[i]
		}
		close(c.done)
	}
}
