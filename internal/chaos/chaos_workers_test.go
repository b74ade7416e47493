//go:build chaos

package chaos_test

import (
	"testing"
	"time"
)

// TestChaos_TwoWorkerProcessesShareOneConsumer runs two smsworker
// processes on the one smsworker consumer: both take work, nothing is
// sent twice.
func TestChaos_TwoWorkerProcessesShareOneConsumer(t *testing.T) {
	d := start(t, options{smsWorkers: 2, concurrency: 8})
	d.twilio.SetLatency(20 * time.Millisecond)
	const n = 300
	tl := newTally()
	d.burst(tl, 6, n, 8, false, -1, nil)
	r := d.settle(tl, 90*time.Second, nil)
	d.mu.Lock()
	a, b := workerAcks(d.workers[0]), workerAcks(d.workers[1])
	d.mu.Unlock()
	report(t, "two-workers-one-consumer", r, "acks="+itoa(a)+"+"+itoa(b))
	if a <= 0 || b <= 0 {
		t.Errorf("acks per worker %d and %d: both processes must take work", a, b)
	}
	if r.duplicated != 0 || r.dead != 0 {
		t.Errorf("duplicated=%d dead=%d, want 0 and 0", r.duplicated, r.dead)
	}
}
