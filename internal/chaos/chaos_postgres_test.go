//go:build chaos

package chaos_test

import (
	"testing"
	"time"
)

// TestChaos_PostgresRestartedMidBurstLosesNothing sends 40 codes a second
// for 12 s and, 4 s in, restarts the test's own Postgres cluster (fast
// shutdown: every session cut; 3 s down; back on the same port). Sends the
// api could not commit are refused with an error (the client knows and may
// retry); every accepted one must arrive.
func TestChaos_PostgresRestartedMidBurstLosesNothing(t *testing.T) {
	d := start(t, options{smsWorkers: 1, emailWorkers: 1})
	tl := newTally()
	stop := make(chan struct{})
	sent := make(chan struct{})
	go func() { d.paced(tl, 2, 40, true, stop); close(sent) }()
	time.Sleep(4 * time.Second)
	down, up := d.restartPostgres(3 * time.Second)
	time.Sleep(5 * time.Second)
	close(stop)
	<-sent
	r := d.settle(tl, 120*time.Second, nil)
	during := tl.between(down, up)
	tl.mu.Lock()
	refused := sortedKeys(tl.refused)
	tl.mu.Unlock()
	report(t, "postgres-restarted", r, "sent_while_down="+itoa(during)+" refused_by_status="+refused)
	tl.mu.Lock()
	for st, n := range tl.refused {
		if st != 503 {
			t.Errorf("%d sends refused with %d: a database outage is 503 (retry), never anything else", n, st)
		}
	}
	tl.mu.Unlock()
	if during == 0 {
		t.Errorf("no send was made while Postgres was down: the fault missed the burst")
	}
	if r.dead != 0 {
		t.Errorf("dead=%d, want 0: no provider refused anything", r.dead)
	}
	if r.accepted < r.requested/2 {
		t.Errorf("only %d of %d sends accepted: the api did not recover after Postgres came back", r.accepted, r.requested)
	}
}
