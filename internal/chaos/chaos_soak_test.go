//go:build chaos

package chaos_test

import (
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/internal/fakeprovider"
)

// soakSettings reads the soak's knobs: CHAOS_SOAK (duration, default 5m),
// CHAOS_SOAK_RATE (sends per second, default 10) and CHAOS_SEED (the fault
// schedule's seed, default random; printed so a run can be replayed).
func soakSettings(t *testing.T) (time.Duration, int, uint64) {
	dur, rate, seed := 5*time.Minute, 10, rand.Uint64()
	var err error
	if v := os.Getenv("CHAOS_SOAK"); v != "" {
		if dur, err = time.ParseDuration(v); err != nil || dur < 10*time.Second {
			t.Fatalf("CHAOS_SOAK=%q: want a duration of at least 10s", v)
		}
	}
	if v := os.Getenv("CHAOS_SOAK_RATE"); v != "" {
		if rate, err = strconv.Atoi(v); err != nil || rate < 1 || rate > 200 {
			t.Fatalf("CHAOS_SOAK_RATE=%q: want 1 to 200", v)
		}
	}
	if v := os.Getenv("CHAOS_SEED"); v != "" {
		if seed, err = strconv.ParseUint(v, 10, 64); err != nil {
			t.Fatalf("CHAOS_SEED=%q: want a number", v)
		}
	}
	return dur, rate, seed
}

// fault is one injected failure: inject breaks something, waits, and
// repairs it before it returns. It returns how many provider calls it put
// in the duplicate window (calls a provider may have accepted without the
// worker learning it did).
type fault struct {
	name   string
	inject func(d *deployment, rng *rand.Rand) (window int)
}

var soakFaults = []fault{
	{"nats-leader-sigkill", func(d *deployment, rng *rand.Rand) int {
		leader := d.streamLeader(60 * time.Second)
		d.killNode(leader)
		time.Sleep(time.Duration(2+rng.IntN(5)) * time.Second)
		d.restartNode(leader)
		return 0
	}},
	{"postgres-restart", func(d *deployment, rng *rand.Rand) int {
		d.restartPostgres(time.Duration(1+rng.IntN(4)) * time.Second)
		return 0
	}},
	{"provider-500s", func(d *deployment, rng *rand.Rand) int {
		n := 5 + rng.IntN(20)
		d.twilio.FailNextWith(n, fakeprovider.Failure{Status: 500, TwilioCode: 20500})
		d.sg.FailNextWith(n, fakeprovider.Failure{Status: 503})
		time.Sleep(3 * time.Second)
		return 0
	}},
	{"provider-429-retry-after", func(d *deployment, rng *rand.Rand) int {
		h := http.Header{}
		h.Set("Retry-After", strconv.Itoa(1+rng.IntN(3)))
		n := 5 + rng.IntN(20)
		d.twilio.FailNextWith(n, fakeprovider.Failure{Status: 429, TwilioCode: 20429, Header: h})
		d.sg.FailNextWith(n, fakeprovider.Failure{Status: 429, Header: h})
		time.Sleep(3 * time.Second)
		return 0
	}},
	{"provider-hangs", func(d *deployment, rng *rand.Rand) int {
		before := d.twilio.Requests() + d.sg.Requests()
		d.twilio.SetLatency(12 * time.Second)
		d.sg.SetLatency(12 * time.Second)
		time.Sleep(time.Duration(1+rng.IntN(3)) * time.Second)
		d.twilio.SetLatency(0)
		d.sg.SetLatency(0)
		return d.twilio.Requests() + d.sg.Requests() - before
	}},
	{"smsworker-sigkill", func(d *deployment, rng *rand.Rand) int {
		d.liveWorker("smsworker", rng).kill()
		d.startWorker("smsworker")
		return d.opts.concurrency
	}},
	{"emailworker-sigterm", func(d *deployment, rng *rand.Rand) int {
		d.liveWorker("emailworker", rng).stop(20 * time.Second)
		d.startWorker("emailworker")
		return 0
	}},
}

// liveWorker picks one running worker process of a kind at random.
func (d *deployment) liveWorker(kind string, rng *rand.Rand) *proc {
	d.mu.Lock()
	defer d.mu.Unlock()
	var live []*proc
	for _, w := range d.workers {
		select {
		case <-w.done:
		default:
			if strings.HasPrefix(w.name, kind+"-") {
				live = append(live, w)
			}
		}
	}
	if len(live) == 0 {
		d.t.Fatalf("no live %s", kind)
	}
	return live[rng.IntN(len(live))]
}

// TestChaos_SoakWithRandomFaultsLosesNothing sends codes at a steady rate
// (half SMS, half email) to the three-node cluster for CHAOS_SOAK while a
// fault is injected every 5 to 15 s, picked at random: the stream leader
// killed, Postgres restarted, provider 500s, 429s and hangs, an smsworker
// SIGKILLed, the emailworker restarted. Nothing accepted may be lost;
// duplicates may only come from the provider calls a fault left ambiguous.
func TestChaos_SoakWithRandomFaultsLosesNothing(t *testing.T) {
	dur, rate, seed := soakSettings(t)
	rng := rand.New(rand.NewPCG(seed, seed))
	d := start(t, options{natsNodes: 3, smsWorkers: 2, emailWorkers: 1})
	d.streamLeader(60 * time.Second)
	t.Logf("soak: %s at %d/s, CHAOS_SEED=%d", dur, rate, seed)

	tl := newTally()
	stop := make(chan struct{})
	var senders sync.WaitGroup
	senders.Add(1)
	go func() { defer senders.Done(); d.paced(tl, 7, rate, true, stop) }()

	counts := map[string]int{}
	window := 0
	end := time.Now().Add(dur)
	for time.Now().Before(end) {
		time.Sleep(time.Duration(5+rng.IntN(11)) * time.Second)
		if !time.Now().Before(end) {
			break
		}
		f := soakFaults[rng.IntN(len(soakFaults))]
		t.Logf("soak: %s at %s", f.name, time.Until(end).Round(time.Second))
		window += f.inject(d, rng)
		counts[f.name]++
	}
	close(stop)
	senders.Wait()

	r := d.settle(tl, 4*time.Minute, nil)
	faults := ""
	for _, f := range soakFaults {
		faults += f.name + ":" + strconv.Itoa(counts[f.name]) + ","
	}
	tl.mu.Lock()
	refused := sortedKeys(tl.refused)
	tl.mu.Unlock()
	report(t, "soak-"+dur.String(), r, "seed="+strconv.FormatUint(seed, 10)+" dup_window="+strconv.Itoa(window)+
		" refused_by_status="+refused+" faults="+faults[:len(faults)-1])
	if r.duplicated > window {
		t.Errorf("duplicated=%d, more than the %d provider calls the faults left ambiguous", r.duplicated, window)
	}
	if r.dead != 0 {
		t.Errorf("dead=%d, want 0: no provider refused anything", r.dead)
	}
}
