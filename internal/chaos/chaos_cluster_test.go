//go:build chaos

package chaos_test

import (
	"testing"
	"time"
)

// TestChaos_StreamLeaderKilledMidBurstLosesNothing runs the three-node
// cluster of deploy/nats/cluster with the stream at R3, kills the stream
// leader's nats-server with SIGKILL a third into a burst of SMS and email
// codes, checks that another node leads while it is down, brings it back,
// and counts deliveries.
func TestChaos_StreamLeaderKilledMidBurstLosesNothing(t *testing.T) {
	d := start(t, options{natsNodes: 3, smsWorkers: 1, emailWorkers: 1})
	leader := d.streamLeader(60 * time.Second)
	const n = 300
	tl := newTally()
	elected := make(chan string, 1)
	d.burst(tl, 1, n, 8, true, n/3, func() {
		d.killNode(leader)
		t.Logf("killed stream leader %s", leader.name)
		go func() { elected <- d.streamLeader2(leader, 30*time.Second) }()
	})
	during := <-elected
	time.Sleep(2 * time.Second)
	d.restartNode(leader)
	r := d.settle(tl, 120*time.Second, nil)
	after := d.streamLeader(60 * time.Second)
	report(t, "nats-stream-leader-killed", r, "leader="+leader.name+" while_down="+during+" after="+after.name)
	if during == "" || during == leader.name {
		t.Errorf("no other node took the stream's leadership while %s was down (got %q)", leader.name, during)
	}
	if r.dead != 0 {
		t.Errorf("dead=%d, want 0: no provider refused anything", r.dead)
	}
}

// streamLeader2 waits for a stream leader other than gone (the remaining
// two nodes are a quorum of three) and returns its name, or "".
func (d *deployment) streamLeader2(gone *natsNode, timeout time.Duration) string {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if info, err := d.streamInfo(); err == nil && info.Cluster != nil && info.Cluster.Leader != "" && info.Cluster.Leader != gone.name {
			return info.Cluster.Leader
		}
		time.Sleep(100 * time.Millisecond)
	}
	return ""
}
