package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/internal/auth"
)

// gcraModel is the reference GCRA the store must agree with.
type gcraModel struct{ tat time.Time }

func (m *gcraModel) hit(now time.Time, emission, tolerance time.Duration) (bool, time.Duration) {
	tat := m.tat
	if tat.Before(now) {
		tat = now
	}
	if tat.Sub(now) > tolerance {
		return false, tat.Sub(now) - tolerance
	}
	m.tat = tat.Add(emission)
	return true, 0
}

// maxInWindow is the most allowed events in any half-open interval
// [t, t+w) that starts at an allowed event.
func maxInWindow(times []time.Time, w time.Duration) int {
	most := 0
	for i, t := range times {
		n := 0
		for _, u := range times[i:] {
			if u.Sub(t) < w {
				n++
			}
		}
		most = max(most, n)
	}
	return most
}

func TestHitLimits_NoIntervalOfAWindowEverHoldsMoreThanTheLimit(t *testing.T) {
	e := newEnv(t)
	ctx := ctxT(t)
	// A window boundary of the old fixed window (aligned on the epoch):
	// the attack sends just before and just after it.
	edge := e.clock.t.Truncate(10 * time.Minute).Add(10 * time.Minute)
	every := func(step time.Duration, n int, from time.Duration) []time.Duration {
		out := make([]time.Duration, n)
		for i := range out {
			out[i] = from + time.Duration(i)*step
		}
		return out
	}
	tests := []struct {
		name string
		rate auth.Rate
		// at are the request times relative to the fixed window's edge.
		at []time.Duration
		// allowed is the number of requests the limit must let through
		// (the reference model's count; a floor that catches a limit that
		// refuses everything).
		minAllowed int
	}{
		{"FixedWindowEdgeAttack10In7sGetsAtMost5", auth.Rate{Limit: 5, Window: 10 * time.Minute}, every(700*time.Millisecond, 10, -3500*time.Millisecond), 5},
		{"SteadyOnePerSecondFor30Minutes", auth.Rate{Limit: 5, Window: 10 * time.Minute}, every(time.Second, 1800, -15*time.Minute), 5 + 2},
		{"HalfBurstSpreadsTheRest", auth.Rate{Limit: 10, Window: time.Minute, Burst: 5}, every(500*time.Millisecond, 600, -2*time.Minute), 5 + 5*5},
		{"BurstOfOne", auth.Rate{Limit: 3, Window: 30 * time.Second, Burst: 1}, every(time.Second, 120, -time.Minute), 12},
		{"LimitOne", auth.Rate{Limit: 1, Window: time.Hour}, every(7*time.Minute, 30, -time.Hour), 3},
		{"BurstsAtBothEdges", auth.Rate{Limit: 4, Window: time.Minute}, append(every(10*time.Millisecond, 20, -time.Second), every(10*time.Millisecond, 20, 59*time.Second)...), 5},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := fmt.Sprintf("test:%d:%s", i, tt.name)
			emission, tolerance := tt.rate.GCRA()
			var model gcraModel
			var allowed []time.Time
			for _, d := range tt.at {
				now := edge.Add(d)
				e.clock.t = now
				denied, wait, err := e.db.HitLimits(ctx, []auth.LimitKey{{Key: key, Emission: emission, Tolerance: tolerance}})
				if err != nil {
					t.Fatal(err)
				}
				ok, mwait := model.hit(now, emission, tolerance)
				if (denied < 0) != ok {
					t.Fatalf("at %v: allowed = %v, the reference GCRA says %v", d, denied < 0, ok)
				}
				if !ok && (wait < mwait || wait > mwait+time.Microsecond) {
					t.Fatalf("at %v: retry after %v, want %v", d, wait, mwait)
				}
				if ok {
					allowed = append(allowed, now)
				}
			}
			if got := maxInWindow(allowed, tt.rate.Window); got > tt.rate.Limit {
				t.Fatalf("%d events in one window of %v, limit %d", got, tt.rate.Window, tt.rate.Limit)
			}
			if len(allowed) < tt.minAllowed {
				t.Fatalf("allowed %d, want at least %d", len(allowed), tt.minAllowed)
			}
		})
	}
}

func TestHitLimits_RetryAfterIsExact(t *testing.T) {
	e := newEnv(t)
	ctx := ctxT(t)
	k := []auth.LimitKey{{Key: "retry", Emission: time.Minute, Tolerance: 2 * time.Minute}} // 3 at once, then one a minute
	for range 3 {
		if d, _, err := e.db.HitLimits(ctx, k); err != nil || d != -1 {
			t.Fatalf("burst: denied %d, err %v", d, err)
		}
	}
	e.clock.Advance(10 * time.Second)
	d, wait, err := e.db.HitLimits(ctx, k)
	if err != nil || d != 0 || wait != 50*time.Second {
		t.Fatalf("over the burst: denied %d, wait %v, err %v; want 0, 50s", d, wait, err)
	}
	e.clock.Advance(wait - time.Microsecond)
	if d, _, _ := e.db.HitLimits(ctx, k); d != 0 {
		t.Fatalf("1µs before Retry-After: denied %d, want 0", d)
	}
	e.clock.Advance(time.Microsecond)
	if d, _, _ := e.db.HitLimits(ctx, k); d != -1 {
		t.Fatalf("at Retry-After: denied %d, want -1 (allowed)", d)
	}
}

func TestHitLimits_ARefusedRequestUsesNoCapacity(t *testing.T) {
	e := newEnv(t)
	ctx := ctxT(t)
	loose := auth.LimitKey{Key: "loose", Emission: time.Minute, Tolerance: 2 * time.Minute} // 3 at once
	tight := auth.LimitKey{Key: "tight", Emission: time.Hour}                               // 1 at once
	if d, _, _ := e.db.HitLimits(ctx, []auth.LimitKey{loose, tight}); d != -1 {
		t.Fatalf("first: denied %d", d)
	}
	for range 5 {
		if d, _, _ := e.db.HitLimits(ctx, []auth.LimitKey{loose, tight}); d != 1 {
			t.Fatalf("tight key: denied %d, want 1", d)
		}
	}
	// loose spent 1 of 3: two more pass.
	for i := range 2 {
		if d, _, _ := e.db.HitLimits(ctx, []auth.LimitKey{loose}); d != -1 {
			t.Fatalf("loose hit %d after refusals: denied %d, want allowed", i+2, d)
		}
	}
	if d, _, _ := e.db.HitLimits(ctx, []auth.LimitKey{loose}); d != 0 {
		t.Fatalf("loose hit 4: denied %d, want 0", d)
	}
}

func TestHitLimits_ConcurrentReplicasShareTheLimit(t *testing.T) {
	e := newEnv(t)
	ctx := ctxT(t)
	k := []auth.LimitKey{{Key: "shared", Emission: time.Minute, Tolerance: 4 * time.Minute}} // 5 at once
	var ok atomic.Int32
	var wg sync.WaitGroup
	for range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d, _, err := e.db.HitLimits(ctx, k)
			if err != nil {
				t.Error(err)
			}
			if d == -1 {
				ok.Add(1)
			}
		}()
	}
	wg.Wait()
	if ok.Load() != 5 {
		t.Fatalf("%d of 40 concurrent hits passed, want exactly 5", ok.Load())
	}
}

func TestHitLimits_BadKeyIsInvalid(t *testing.T) {
	e := newEnv(t)
	for _, k := range []auth.LimitKey{{Key: "", Emission: time.Second}, {Key: "k"}, {Key: "k", Emission: time.Second, Tolerance: -1}} {
		if _, _, err := e.db.HitLimits(ctxT(t), []auth.LimitKey{k}); auth.ErrorCode(err) != auth.EInvalid {
			t.Fatalf("%+v: err %v, want invalid", k, err)
		}
	}
}

// BenchmarkSMSSendChecks measures the two statements an SMS send adds for
// abuse control, from parallel clients: the GCRA check of four keys
// (recipient, IP, prefix, and one country key every send shares, the hot
// row) and the pumping guard's judgement of the prefix and the country.
func BenchmarkSMSSendChecks(b *testing.B) {
	e := newEnv(b)
	e.clock = nil
	db := e.db
	db.SetClock(time.Now)
	p := e.project(b)
	subjects := []auth.GuardSubject{
		{Kind: auth.GuardPrefix, Subject: "+141555", Thresholds: auth.PumpingThresholds{ThrottleMinSends: -1, BlockMinSends: -1}},
		{Kind: auth.GuardCountry, Subject: "+1", Thresholds: auth.PumpingThresholds{ThrottleMinSends: -1, BlockMinSends: -1}},
	}
	cfg := auth.PumpingConfig{Window: time.Hour, ThrottleEvery: time.Minute, BlockFor: time.Hour}
	var seq atomic.Int64
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			n := seq.Add(1)
			keys := []auth.LimitKey{
				{Key: fmt.Sprintf("send:%s:+1415555%04d", p.ID, n), Emission: time.Minute, Tolerance: 4 * time.Minute},
				{Key: fmt.Sprintf("send-ip:%s:198.51.100.%d", p.ID, n%250), Emission: time.Microsecond, Tolerance: time.Hour},
				{Key: "send-prefix:" + p.ID + ":+141555", Emission: time.Microsecond, Tolerance: time.Hour},
				{Key: "send-country:" + p.ID + ":+1", Emission: time.Microsecond, Tolerance: time.Hour},
			}
			if _, _, err := db.HitLimits(ctx, keys); err != nil {
				b.Fatal(err)
			}
			if _, err := db.JudgeSMSSend(ctx, p.ID, "US", subjects, cfg); err != nil {
				b.Fatal(err)
			}
		}
	})
}
