package bench

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// Load is how a row is driven: closed loop (Rate 0: Conc clients, each
// sending its next request when the previous answer arrives) or open loop
// (Rate requests per second whatever the answers do, as many clients as
// that takes).
type Load struct {
	Conc int
	Rate int
}

func (l Load) String() string {
	if l.Rate > 0 {
		return fmt.Sprintf("%d/s open", l.Rate)
	}
	return fmt.Sprintf("c=%d", l.Conc)
}

// request is one HTTP request of a row.
type request struct {
	path string
	body []byte
}

// errNoTargets ends an attack whose prepared requests ran out.
var errNoTargets = vegeta.ErrNoTargets

// attackResult is what one attack measured.
type attackResult struct {
	latencies []time.Duration // of every answered request
	errors    int             // answers with an unexpected status, transport errors
	firstErr  string
	elapsed   time.Duration
	exhausted bool // the row ran out of prepared requests before the end
}

// attack drives base+path (until ctx ends at the latest) with POST requests from next(i) (i = 0, 1, …;
// ok false when none is left, which ends the attack early) for dur,
// with header on every request; an answer whose status want does not
// accept counts as an error.
func attack(ctx context.Context, base string, header http.Header, l Load, dur time.Duration, next func(i uint64) (request, bool), want func(code int) bool) attackResult {
	var seq atomic.Uint64
	var exhausted atomic.Bool
	targeter := func(t *vegeta.Target) error {
		r, ok := next(seq.Add(1) - 1)
		if !ok {
			exhausted.Store(true)
			return errNoTargets
		}
		*t = vegeta.Target{Method: http.MethodPost, URL: base + r.path, Body: r.body, Header: header}
		return nil
	}
	opts := []func(*vegeta.Attacker){vegeta.KeepAlive(true), vegeta.Timeout(30 * time.Second), vegeta.MaxBody(2048), vegeta.Redirects(vegeta.NoFollow)}
	pacer := vegeta.Pacer(vegeta.ConstantPacer{}) // zero: as fast as the workers go
	if l.Rate > 0 {
		pacer = vegeta.ConstantPacer{Freq: l.Rate, Per: time.Second}
		opts = append(opts, vegeta.Workers(64), vegeta.MaxWorkers(10000), vegeta.Connections(10000))
	} else {
		opts = append(opts, vegeta.Workers(uint64(l.Conc)), vegeta.MaxWorkers(uint64(l.Conc)), vegeta.Connections(l.Conc))
	}
	a := vegeta.NewAttacker(opts...)
	stop := context.AfterFunc(ctx, func() { a.Stop() })
	defer stop()
	var res attackResult
	start := time.Now()
	for r := range a.Attack(targeter, pacer, dur, "") {
		if r.Error == errNoTargets.Error() {
			continue
		}
		res.latencies = append(res.latencies, r.Latency)
		if r.Code == 0 || !want(int(r.Code)) {
			res.errors++
			if res.firstErr == "" {
				res.firstErr = fmt.Sprintf("%d %s %s", r.Code, r.Error, r.Body)
			}
		}
	}
	res.elapsed = time.Since(start)
	res.exhausted = exhausted.Load()
	return res
}

// status accepts exactly the given codes.
func status(codes ...int) func(int) bool {
	return func(c int) bool {
		for _, w := range codes {
			if c == w {
				return true
			}
		}
		return false
	}
}
