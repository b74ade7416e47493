package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sesame-auth/sesame/internal/fakeprovider"
)

// maxDrain caps the messages of a drain row: about 2 s at the 5,000 msg/s
// target, so that the worker's warm-up (its first Postgres and provider
// connections, up to 256 of them) is a small part of the timed drain (with
// 3,000, a drain at that rate lasted 0.6 s).
const maxDrain = 10000

// specials runs the rows that are not a plain closed loop: the worker
// drains, request→provider latency under open-loop load with the worker
// running, and a verify with pruning running.
func (s *system) specials(ctx context.Context, round int, res *results, est map[string]float64, stderr io.Writer) error {
	for _, d := range []struct {
		name    string
		latency time.Duration
		guess   float64
	}{
		{"worker drain, 1 smsworker, 0 ms provider", 0, 2000},
		{fmt.Sprintf("worker drain, 1 smsworker, %s provider", s.cfg.ProviderLatency), s.cfg.ProviderLatency, 500},
	} {
		if !s.cfg.wants(d.name) {
			continue
		}
		// Enough messages for about the run's duration, at most
		// maxDrain (queueing them through the api is the slow part).
		smp, err := s.drain(ctx, d.latency, min(maxDrain, int(max(est[d.name], d.guess)*s.cfg.Duration.Seconds()*1.2)+50), nil)
		if err != nil {
			return fmt.Errorf("%s: %w", d.name, err)
		}
		est[d.name] = max(est[d.name], smp.Rate)
		progress(stderr, round, d.name, "drain", smp)
		res.add(d.name, "drain", "", smp)
	}
	// At the configured rate, and at a quarter of it (below what a send
	// sustains here, so the figure is the pipeline's, not a queue's).
	name := "send → provider accepted, worker running (Streambird)"
	for _, rate := range []int{s.cfg.OpenRate, s.cfg.OpenRate / 4} {
		if !s.cfg.wants(name) || rate < 1 {
			continue
		}
		l := Load{Rate: rate}
		smp, err := s.endToEnd(ctx, l)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		progress(stderr, round, name, l.String(), smp)
		res.add(name, l.String(), "", smp)
	}
	name = "Streambird verify, right code, pruning running"
	if s.cfg.wants(name) {
		l := Load{Conc: s.cfg.Concs[0]}
		smp, err := s.pruning(ctx, l, est)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		progress(stderr, round, name, l.String(), smp)
		res.add(name, l.String(), limitVerify, smp)
	}
	return nil
}

// enqueue sends n codes through the api (Streambird, c=64, untimed) with
// no worker running, so they wait in the stream, and returns how many
// were accepted and the first failure.
func (s *system) enqueue(ctx context.Context, n int) (int, string) {
	r := attack(ctx, s.apiURL, s.bearer, Load{Conc: 64}, 10*time.Minute, func(i uint64) (request, bool) {
		if i >= uint64(n) {
			return request{}, false
		}
		return request{path: "/v1/auth/otps/sms/login_or_create", body: fmt.Appendf(nil, `{"phone_number":%q}`, s.phone())}, true
	}, status(200))
	return len(r.latencies) - r.errors, r.firstErr
}

// drain queues n messages, then starts one smsworker (provider answering
// after latency) and times it from its first to its last provider call.
// Rate is messages per second; P50…P999 are not measured (0). CPU covers
// the worker's start to its last message. during (may be nil) runs once
// the worker consumes and returns a func to call when the drain ended.
func (s *system) drain(ctx context.Context, latency time.Duration, n int, during func() func()) (Sample, error) {
	if err := s.purge(ctx); err != nil {
		return Sample{}, err
	}
	n, firstErr := s.enqueue(ctx, n)
	if firstErr != "" {
		fmt.Fprintf(os.Stderr, "bench: queueing messages for a drain: some sends failed; first: %.300s\n", firstErr)
	}
	s.twilio.Reset()
	s.twilio.SetLatency(latency)
	defer s.twilio.SetLatency(0)
	if err := s.startWorker(ctx); err != nil {
		return Sample{}, err
	}
	defer s.stopWorker()
	probe := s.probe(false)
	a := probe.sample()
	var end func()
	if during != nil {
		end = during()
	}
	waitDelivered(s.accepted, n, 3*s.cfg.Duration+30*time.Second)
	b := probe.sample()
	if end != nil {
		end()
	}
	msgs := s.twilio.Messages()
	smp := Sample{Requests: len(msgs)}
	if len(msgs) < n {
		smp.Note = fmt.Sprintf("%d of %d delivered, then none for 5 s; %s", len(msgs), n, s.consumerState(ctx))
	}
	if len(msgs) > 1 {
		first, last := msgs[0].ReceivedAt, msgs[0].ReceivedAt
		for _, m := range msgs {
			first, last = minTime(first, m.ReceivedAt), maxTime(last, m.ReceivedAt)
		}
		smp.Elapsed = last.Sub(first)
		if smp.Elapsed > 0 {
			smp.Rate = float64(len(msgs)-1) / smp.Elapsed.Seconds()
		}
		gap, at := longestPause(msgs)
		fmt.Fprintf(os.Stderr, "bench: drain of %d: %s from the first provider call to the last; longest pause %s, %s in\n",
			len(msgs), smp.Elapsed.Round(time.Millisecond), gap.Round(time.Millisecond), at.Round(time.Millisecond))
	}
	smp.CPU = cpuPerOp(a, b, len(msgs))
	delete(smp.CPU, ProcLoad)
	return smp, nil
}

// accepted is how many messages the fake Twilio has accepted (answered;
// its request counter also counts requests still in their latency).
func (s *system) accepted() int { return len(s.twilio.Messages()) }

// waitDelivered waits until count() reaches n, for at most timeout, or
// until it has not moved for 5 s (a message left to the relay's retry is
// not worth waiting for: the row notes the shortfall).
func waitDelivered(count func() int, n int, timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	last, moved := count(), time.Now()
	for last < n && time.Now().Before(deadline) && time.Since(moved) < 5*time.Second {
		time.Sleep(20 * time.Millisecond)
		if c := count(); c != last {
			last, moved = c, time.Now()
		}
	}
}

// longestPause is the longest time between two consecutive provider
// calls of a drain, and when it began after the first call: a drain whose
// rate falls far below its other rounds shows here whether the worker
// slowed down throughout or stalled once (a checkpoint, a lock, a
// redelivery wait).
func longestPause(msgs []fakeprovider.TwilioMessage) (gap, at time.Duration) {
	ts := make([]time.Time, len(msgs))
	for i, m := range msgs {
		ts[i] = m.ReceivedAt
	}
	slices.SortFunc(ts, time.Time.Compare)
	for i := 1; i < len(ts); i++ {
		if d := ts[i].Sub(ts[i-1]); d > gap {
			gap, at = d, ts[i-1].Sub(ts[0])
		}
	}
	return gap, at
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// endToEnd sends new-address codes (Streambird) at an open-loop rate with
// one smsworker running (0 ms provider) and measures, per message, the
// time from the request leaving the load generator to the fake Twilio
// accepting the SMS. Errors are failed sends plus messages not delivered
// within 30 s after the load.
func (s *system) endToEnd(ctx context.Context, l Load) (Sample, error) {
	if err := s.purge(ctx); err != nil {
		return Sample{}, err
	}
	s.twilio.Reset()
	if err := s.startWorker(ctx); err != nil {
		return Sample{}, err
	}
	defer s.stopWorker()
	var sentAt sync.Map // phone → time.Time
	probe := s.probe(false)
	a := probe.sample()
	r := attack(ctx, s.apiURL, s.bearer, l, s.cfg.Duration, func(uint64) (request, bool) {
		p := s.phone()
		sentAt.Store(p, time.Now())
		return request{path: "/v1/auth/otps/sms/login_or_create", body: fmt.Appendf(nil, `{"phone_number":%q}`, p)}, true
	}, status(200))
	ok := len(r.latencies) - r.errors
	waitDelivered(s.accepted, ok, 30*time.Second)
	b := probe.sample()
	var lat []time.Duration
	for _, m := range s.twilio.Messages() {
		if t, found := sentAt.Load(m.To); found {
			lat = append(lat, m.ReceivedAt.Sub(t.(time.Time)))
		}
	}
	smp := Summarize(lat, 0, r.elapsed)
	smp.Errors = r.errors + max(0, ok-len(lat))
	smp.Requests = len(r.latencies)
	smp.CPU = cpuPerOp(a, b, len(lat))
	return smp, nil
}

// pruneBacklog is how many expired codes the pruning row leaves to prune.
const pruneBacklog = 10000

// pruning runs the Streambird right-code verify while the driver runs
// the api's prune (Store.Prune, what Service.Maintain calls every 10
// minutes) back to back over a backlog of pruneBacklog expired codes.
func (s *system) pruning(ctx context.Context, l Load, est map[string]float64) (Sample, error) {
	if _, err := s.codes(ctx, pruneBacklog, -2*time.Hour); err != nil {
		return Sample{}, fmt.Errorf("expired backlog: %w", err)
	}
	var r row
	for _, x := range s.rows() {
		if x.name == "Streambird verify, right code, no session" {
			r = x
		}
	}
	var (
		calls, pruned atomic.Int64
		firstErr      error
	)
	smp, err := s.measure(ctx, r, l, est, func() func() {
		pctx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			for pctx.Err() == nil {
				n, err := s.db.Prune(pctx, time.Now())
				if err != nil && firstErr == nil && pctx.Err() == nil {
					firstErr = err
				}
				calls.Add(1)
				pruned.Add(n)
			}
		}()
		return func() { stop(); <-done }
	})
	if err != nil {
		return smp, err
	}
	if firstErr != nil {
		return smp, fmt.Errorf("prune: %w", firstErr)
	}
	fmt.Fprintf(os.Stderr, "bench: pruning row: %d prune calls deleted or changed %d rows during the run\n", calls.Load(), pruned.Load())
	return smp, nil
}

// fetch saves the body of a GET to file.
func fetch(ctx context.Context, url, file string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
