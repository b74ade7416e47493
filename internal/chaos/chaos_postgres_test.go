//go:build chaos

package chaos_test

import (
	"testing"
	"time"
)

// TestChaos_PostgresRestartedMidBurstLosesNothing restarts the test's own
// Postgres cluster (fast shutdown: every session cut, 3 s down, same port)
// a third into a burst. Sends the api could not commit are refused with an
// error (the client knows); every accepted one must arrive.
func TestChaos_PostgresRestartedMidBurstLosesNothing(t *testing.T) {
	d := start(t, options{smsWorkers: 1, emailWorkers: 1})
	const n = 300
	tl := newTally()
	restarted := make(chan struct{})
	d.burst(tl, 2, n, 8, true, n/3, func() {
		go func() { d.restartPostgres(3 * time.Second); close(restarted) }()
	})
	<-restarted
	r := d.settle(tl, 120*time.Second, nil)
	tl.mu.Lock()
	refused := sortedKeys(tl.refused)
	tl.mu.Unlock()
	report(t, "postgres-restarted", r, "refused_by_status="+refused)
	if r.dead != 0 {
		t.Errorf("dead=%d, want 0: no provider refused anything", r.dead)
	}
	if r.accepted < n/3 {
		t.Errorf("only %d of %d sends accepted: the api did not recover after Postgres came back", r.accepted, n)
	}
}
