package e2e_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/internal/postgres"
)

// BenchmarkSendDuringPrune measures send latency over HTTP (p50, p99) with
// nothing else running, while Prune deletes a backlog of expired rows in
// batches (postgres.PruneBatchSize rows, PrunePause apart), and while the
// same backlog goes in one DELETE (what Prune did before), in interleaved
// rounds. Each pruning phase sends until its prune finished (at least
// pruneMinOps sends) and counts the sends that started before the prune
// finished. Reported: p50_ms_<mode>, p99_ms_<mode> (medians over the
// rounds), prune_s_<mode> and sends_<mode> (sends counted per round).
func BenchmarkSendDuringPrune(b *testing.B) {
	const (
		backlog     = 100_000
		rounds      = 3
		idleOps     = 2000
		pruneMinOps = 500
	)
	e := newBenchSys(b)
	ctx := context.Background()
	old := time.Now().Add(-postgres.RateLimitRetention - time.Hour)
	seed := func() {
		if _, err := e.db.Pool().Exec(ctx, `INSERT INTO rate_limits (key, window_start, n)
			SELECT 'prune-bench-' || i, $1::timestamptz, 1 FROM generate_series(1, $2::int) i
			ON CONFLICT DO NOTHING`, old, backlog); err != nil {
			b.Fatal(err)
		}
	}
	var sent atomic.Int64
	send := func() (time.Duration, error) {
		i := int(sent.Add(1))
		t := time.Now()
		err := e.post("/v1/auth/otps/sms/login_or_create", fmt.Appendf(nil, `{"phone_number":%q}`, phone("628", i)), nil)
		return time.Since(t), err
	}
	modes := []struct {
		name  string
		prune func() error
	}{
		{"idle", nil},
		{"batched", func() error { _, err := e.db.Prune(ctx, time.Now()); return err }},
		{"one_statement", func() error {
			_, err := e.db.Pool().Exec(ctx, `DELETE FROM rate_limits WHERE window_start < $1`, time.Now().Add(-postgres.RateLimitRetention))
			return err
		}},
	}
	p50s, p99s, took, count := map[string][]float64{}, map[string][]float64{}, map[string][]float64{}, map[string][]float64{}
	b.ResetTimer()
	for range rounds {
		for _, m := range modes {
			var done atomic.Bool
			var pruneErr error
			var wg sync.WaitGroup
			if m.prune != nil {
				b.StopTimer()
				seed()
				b.StartTimer()
				wg.Go(func() {
					t := time.Now()
					pruneErr = m.prune()
					took[m.name] = append(took[m.name], time.Since(t).Seconds())
					done.Store(true)
				})
			} else {
				done.Store(true)
			}
			var mu sync.Mutex
			var lat []time.Duration
			var next atomic.Int64
			var sendErr error
			var senders sync.WaitGroup
			for range benchConc() {
				senders.Go(func() {
					for {
						n := next.Add(1)
						if m.prune == nil && n > idleOps || m.prune != nil && n > pruneMinOps && done.Load() {
							return
						}
						during := !done.Load()
						d, err := send()
						mu.Lock()
						if m.prune == nil || during {
							lat = append(lat, d)
						}
						if err != nil && sendErr == nil {
							sendErr = err
						}
						mu.Unlock()
					}
				})
			}
			senders.Wait()
			wg.Wait()
			if sendErr != nil || pruneErr != nil {
				b.Fatalf("%s: send %v, prune %v", m.name, sendErr, pruneErr)
			}
			if len(lat) == 0 {
				b.Fatalf("%s: no send overlapped the prune", m.name)
			}
			count[m.name] = append(count[m.name], float64(len(lat)))
			slices.Sort(lat)
			p50s[m.name] = append(p50s[m.name], ms(lat[len(lat)/2]))
			p99s[m.name] = append(p99s[m.name], ms(lat[len(lat)*99/100]))
		}
	}
	b.StopTimer()
	for _, m := range modes {
		b.ReportMetric(median(p50s[m.name]), "p50_ms_"+m.name)
		b.ReportMetric(median(p99s[m.name]), "p99_ms_"+m.name)
		b.ReportMetric(median(count[m.name]), "sends_"+m.name)
		if m.prune != nil {
			b.ReportMetric(median(took[m.name]), "prune_s_"+m.name)
		}
	}
	e.purgeStream(b)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}
