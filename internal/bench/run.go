// Package bench is `make bench`: it starts, on free ports, a private
// nats-server, bin/limitserver, bin/api and (for the delivery rows)
// bin/smsworker against a fake Twilio, and drives the limit server and
// Sesame interleaved with one external load generator (vegeta as a
// library): every round runs the limit server's rows, then Sesame's, at
// each concurrency, then the delivery and pruning rows. Each Sesame figure
// is printed as a ratio to the limit server's figure of the same round,
// with latency percentiles, errors and CPU per request by process (from
// /proc; Postgres is the sum of the backends serving that database).
// See docs/benchmarks.md.
package bench

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/sesame-auth/sesame/internal/nats"
)

// Config is what `bench` is told.
type Config struct {
	// Bin holds api, smsworker and limitserver. Default "bin".
	Bin string
	// DatabaseURL is a postgres:// URL of a server where the driver may
	// create (and at the end drop) two databases. Required.
	DatabaseURL string
	// Duration of every timed run. Default 2 s.
	Duration time.Duration
	// Rounds of every row, interleaved. Default 3.
	Rounds int
	// Concs are the closed-loop concurrencies. Default 32 and 64.
	Concs []int
	// OpenRate is the open-loop arrival rate of the send→provider row.
	// Default 1,000 requests per second.
	OpenRate int
	// ProviderLatency is the slow provider of the second drain row.
	// Default 200 ms.
	ProviderLatency time.Duration
	// Only, when not empty, runs only the rows whose name contains one of
	// these (case-insensitive); the limit rows always run.
	Only []string
	// ProfileDir, when set, takes 'go tool pprof' CPU profiles of the api
	// during one extra send and one extra verify-with-session run (not
	// counted) and writes them there. Default "": none.
	ProfileDir string
	// KeepDir keeps the temporary directory (process logs). Default false.
	KeepDir bool
	// EmailCodesByChallenge binds the B2B email OTP row's codes to their
	// challenge, as builds before address binding (CheckMemberEmailOTP)
	// expect: for an A/B against them. Default false: bound to the
	// project and address, as a send now binds them.
	EmailCodesByChallenge bool
}

func (c *Config) defaults() {
	if c.Bin == "" {
		c.Bin = "bin"
	}
	if c.Duration <= 0 {
		c.Duration = 2 * time.Second
	}
	if c.Rounds <= 0 {
		c.Rounds = 3
	}
	if len(c.Concs) == 0 {
		c.Concs = []int{32, 64}
	}
	if c.OpenRate <= 0 {
		c.OpenRate = 1000
	}
	if c.ProviderLatency <= 0 {
		c.ProviderLatency = 200 * time.Millisecond
	}
}

func (c *Config) wants(name string) bool {
	if len(c.Only) == 0 {
		return true
	}
	for _, o := range c.Only {
		if strings.Contains(strings.ToLower(name), strings.ToLower(o)) {
			return true
		}
	}
	return false
}

// results collects the samples of every row and load, round by round.
type results struct {
	order []string
	by    map[string][]Sample
	conc  map[string]string
	ref   map[string]string
	names map[string]string
}

func (r *results) add(name, load, ref string, s Sample) {
	k := name + " @ " + load
	if _, ok := r.by[k]; !ok {
		r.order = append(r.order, k)
		r.conc[k], r.names[k] = load, name
		if ref != "" {
			r.ref[k] = ref + " @ " + load
		}
	}
	r.by[k] = append(r.by[k], s)
}

func (r *results) lines() []Line {
	var out []Line
	for _, k := range r.order {
		var ref []Sample
		if rk, ok := r.ref[k]; ok {
			ref = r.by[rk]
		}
		out = append(out, Aggregate(r.names[k], r.conc[k], r.by[k], ref))
	}
	return out
}

// Run runs the benchmark and prints the table to stdout, progress to stderr.
func Run(ctx context.Context, cfg Config, stdout, stderr io.Writer) error {
	cfg.defaults()
	if cfg.DatabaseURL == "" {
		return fmt.Errorf("a Postgres URL is required (TEST_DATABASE_URL)")
	}
	s, err := newSystem(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	defer s.close()
	res := &results{by: map[string][]Sample{}, conc: map[string]string{}, ref: map[string]string{}, names: map[string]string{}}
	rows := s.rows()
	est := map[string]float64{}
	started := time.Now()
	for round := 1; round <= cfg.Rounds; round++ {
		for _, c := range cfg.Concs {
			l := Load{Conc: c}
			for _, r := range rows {
				if !r.limit && !cfg.wants(r.name) {
					continue
				}
				smp, err := s.measure(ctx, r, l, est, nil)
				if err != nil {
					return fmt.Errorf("round %d, %s at %s: %w", round, r.name, l, err)
				}
				progress(stderr, round, r.name, l.String(), smp)
				res.add(r.name, l.String(), r.ref, smp)
			}
		}
		if err := s.specials(ctx, round, res, est, stderr); err != nil {
			return fmt.Errorf("round %d: %w", round, err)
		}
	}
	if cfg.ProfileDir != "" {
		if err := s.profiles(ctx, rows, est, stderr); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "\n%d round(s) of %s per run, %s in all; closed loop at %v, open loop at %d/s; ratios are Sesame's rate ÷ the limit server's in the same round (median [min–max] over rounds); CPU is ms per successful request (median).\n\n",
		cfg.Rounds, cfg.Duration, time.Since(started).Round(time.Second), cfg.Concs, cfg.OpenRate)
	fmt.Fprint(stdout, Table(res.lines()))
	return nil
}

func progress(w io.Writer, round int, name, load string, s Sample) {
	fmt.Fprintf(w, "bench: round %d %-48s %-12s %8.0f/s p50 %-9s p99 %-9s errors %d/%d (prepared in %s) %s\n", round, name, load, s.Rate, ms(s.P50), ms(s.P99), s.Errors, s.Requests,
		s.Prepared.Round(100*time.Millisecond), s.Note)
}

// warmup is the unmeasured run before every closed-loop row.
const warmup = 500 * time.Millisecond

// measure prepares and runs one row at one load. onStart (may be nil)
// runs when the timed part starts and returns a func to call at its end.
func (s *system) measure(ctx context.Context, r row, l Load, est map[string]float64, during func() func()) (Sample, error) {
	// Enough for 1.3 × the best rate seen so far (a first guess of
	// the row's guess): a row that runs out ends early and says so.
	n := int(max(est[r.name], cmp.Or(r.guess, 1000))*(s.cfg.Duration+warmup).Seconds()*1.3) + 2*l.Conc + 100
	if l.Rate > 0 {
		n = int(float64(l.Rate)*s.cfg.Duration.Seconds()*1.1) + 100
	}
	t0 := time.Now()
	next, err := r.prepare(ctx, n)
	if err != nil {
		return Sample{}, fmt.Errorf("prepare: %w", err)
	}
	if !r.limit {
		// Fixtures add thousands of users to small tables in seconds, and
		// a send row as many itself, faster than autovacuum re-analyzes
		// them (this box even runs with autovacuum off): refresh the
		// planner's statistics as it would have by then, before every
		// row. Statistics of near-empty tables left a send at 0.3x with
		// a cached plan that scanned every user per send (issue 10).
		s.grown()
		if _, err := s.db.Pool().Exec(ctx, "ANALYZE"); err != nil {
			return Sample{}, fmt.Errorf("analyze: %w", err)
		}
	}
	prepared := time.Since(t0)
	base := s.apiURL
	if r.limit {
		base = s.limitURL
	}
	var used atomic.Uint64 // requests the warm-up took
	if l.Rate == 0 {
		// Unmeasured warm-up with the same requests: the server's pool
		// connections plan their statements (five custom plans and a
		// generic one per connection after every ANALYZE) here, not in
		// the 2 s the row is judged on.
		attack(ctx, base, r.header, l, warmup, func(i uint64) (request, bool) {
			used.Add(1)
			b, ok := next(i)
			return request{path: r.path, body: b}, ok
		}, r.want)
	}
	off := used.Load()
	probe := s.probe(r.limit)
	a := probe.sample()
	var end func()
	if during != nil {
		end = during()
	}
	res := attack(ctx, base, r.header, l, s.cfg.Duration, func(i uint64) (request, bool) {
		b, ok := next(i + off)
		return request{path: r.path, body: b}, ok
	}, r.want)
	if end != nil {
		end()
	}
	b := probe.sample()
	smp := Summarize(res.latencies, res.errors, res.elapsed)
	smp.CPU = cpuPerOp(a, b, smp.Requests-smp.Errors)
	if res.exhausted {
		smp.Note = "ran out of prepared requests"
	}
	smp.Prepared = prepared
	if res.errors > 0 {
		fmt.Fprintf(os.Stderr, "bench: %s at %s: %d errors, first: %.300s\n", r.name, l, res.errors, res.firstErr)
	}
	est[r.name] = max(est[r.name], smp.Rate)
	return smp, nil
}

// jetstream connects the driver to the private nats-server (once).
func (s *system) jetstream() (jetstream.JetStream, error) {
	if s.js != nil {
		return s.js, nil
	}
	nc, err := nats.Connect(s.natsURL, nats.WithLogger(s.log))
	if err != nil {
		return nil, err
	}
	if s.js, err = jetstream.New(nc); err != nil {
		nc.Close()
		return nil, err
	}
	s.nc = nc
	return s.js, nil
}

// consumerState describes the worker's consumer, for a row's note.
func (s *system) consumerState(ctx context.Context) string {
	js, err := s.jetstream()
	if err != nil {
		return err.Error()
	}
	st, err := nats.ConsumerInfo(ctx, js, nats.ConsumerSMS)
	if err != nil {
		return err.Error()
	}
	return fmt.Sprintf("consumer: %d pending, %d ack pending, %d redelivered", st.NumPending, st.NumAckPending, st.NumRedelivered)
}

// purge empties Sesame's stream (events of earlier send rows nobody
// consumed) so a delivery row sees only its own.
func (s *system) purge(ctx context.Context) error {
	js, err := s.jetstream()
	if err != nil {
		return err
	}
	st, err := js.Stream(ctx, nats.StreamName)
	if err != nil {
		return err
	}
	return st.Purge(ctx)
}

// profiles runs a send and the verify-with-session rows (RS256, and
// ES256 when offered) once more at the first concurrency while taking a
// CPU profile of the api.
func (s *system) profiles(ctx context.Context, rows []row, est map[string]float64, stderr io.Writer) error {
	if err := os.MkdirAll(s.cfg.ProfileDir, 0o755); err != nil {
		return err
	}
	// Profiles need samples: these extra runs last at least 6 s.
	defer func(d time.Duration) { s.cfg.Duration = d }(s.cfg.Duration)
	s.cfg.Duration = max(s.cfg.Duration, 6*time.Second)
	for _, r := range rows {
		switch r.name {
		case "Streambird send, new address", "Streambird verify, new session (RS256)", "Streambird verify, new session (ES256)":
			if !s.cfg.wants(r.name) {
				continue
			}
		default:
			continue
		}
		file := filepath.Join(s.cfg.ProfileDir, "api-"+slug(r.name)+".pprof")
		done := make(chan error, 1)
		var waits map[string]int
		smp, err := s.measure(ctx, r, Load{Conc: s.cfg.Concs[0]}, est, func() func() {
			go func() {
				done <- fetch(ctx, s.apiDebug+fmt.Sprintf("/debug/pprof/profile?seconds=%d", max(1, int(s.cfg.Duration.Seconds())-1)), file)
			}()
			stop := make(chan struct{})
			sampled := make(chan map[string]int, 1)
			go func() { sampled <- s.sampleWaits(ctx, stop) }()
			return func() { close(stop); waits = <-sampled }
		})
		if err != nil {
			return err
		}
		if err := <-done; err != nil {
			return fmt.Errorf("profile: %w", err)
		}
		fmt.Fprintf(stderr, "bench: profiled %s (%.0f/s): %s; Postgres backends of the api's database, sampled every 20 ms: %s\n", r.name, smp.Rate, file, topWaits(waits, 6))
	}
	if s.cfg.wants("worker drain, 1 smsworker, 0 ms provider") {
		return s.profileDrain(ctx, stderr)
	}
	return nil
}

// profileDrain runs one longer 0 ms drain (profileDrainN messages) while
// taking CPU profiles of the smsworker and of the driver itself (the fake
// Twilio and the load generator: to see whether they limit the drain).
func (s *system) profileDrain(ctx context.Context, stderr io.Writer) error {
	const profileDrainN = 8000
	secs := 2
	workerFile := filepath.Join(s.cfg.ProfileDir, "smsworker-drain.pprof")
	driverFile := filepath.Join(s.cfg.ProfileDir, "driver-drain.pprof")
	done := make(chan error, 1)
	var waits map[string]int
	smp, err := s.drain(ctx, 0, profileDrainN, func() func() {
		go func() {
			done <- fetch(ctx, s.workerDebug+fmt.Sprintf("/debug/pprof/profile?seconds=%d", secs), workerFile)
		}()
		f, ferr := os.Create(driverFile)
		if ferr == nil {
			if ferr = pprof.StartCPUProfile(f); ferr != nil {
				f.Close()
			}
		}
		stopDriver := func() {}
		if ferr == nil {
			t := time.AfterFunc(time.Duration(secs)*time.Second, func() { pprof.StopCPUProfile(); f.Close() })
			stopDriver = func() {
				if t.Stop() {
					pprof.StopCPUProfile()
					f.Close()
				}
			}
		}
		stop := make(chan struct{})
		sampled := make(chan map[string]int, 1)
		go func() { sampled <- s.sampleWaits(ctx, stop) }()
		return func() { close(stop); waits = <-sampled; stopDriver() }
	})
	if err != nil {
		return err
	}
	if err := <-done; err != nil {
		return fmt.Errorf("worker profile: %w", err)
	}
	fmt.Fprintf(stderr, "bench: profiled a drain of %d messages (%.0f/s, CPU ms/msg %v): %s, %s; Postgres backends, sampled every 20 ms: %s\n",
		smp.Requests, smp.Rate, smp.CPU, workerFile, driverFile, topWaits(waits, 6))
	return nil
}

func slug(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		if r >= 'A' && r <= 'Z' {
			return r + 32
		}
		return '-'
	}, s)
}

// sampleWaits counts, every 20 ms until stop, what the active backends of
// the api's database are doing (pg_stat_activity's wait event, "CPU" when
// none) and returns the counts.
func (s *system) sampleWaits(ctx context.Context, stop <-chan struct{}) map[string]int {
	counts := map[string]int{}
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return counts
		case <-t.C:
		}
		rows, err := s.admin.Query(ctx, `SELECT coalesce(wait_event_type || ':' || wait_event, 'CPU') FROM pg_stat_activity
			WHERE datname = $1 AND state = 'active' AND pid <> pg_backend_pid()`, s.dbNames[0])
		if err != nil {
			continue
		}
		for rows.Next() {
			var w string
			if rows.Scan(&w) == nil {
				counts[w]++
			}
		}
		rows.Close()
	}
}

// topWaits renders the n most frequent of counts with their shares.
func topWaits(counts map[string]int, n int) string {
	type kv struct {
		k string
		v int
	}
	var all []kv
	total := 0
	for k, v := range counts {
		all = append(all, kv{k, v})
		total += v
	}
	if total == 0 {
		return "no samples"
	}
	slices.SortFunc(all, func(a, b kv) int { return cmp.Or(b.v-a.v, strings.Compare(a.k, b.k)) })
	var parts []string
	for _, e := range all[:min(n, len(all))] {
		parts = append(parts, fmt.Sprintf("%s %.0f%%", e.k, 100*float64(e.v)/float64(total)))
	}
	return strings.Join(parts, ", ")
}
