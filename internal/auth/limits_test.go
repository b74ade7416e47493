package auth_test

import (
	"testing"
	"time"

	"github.com/sesame-auth/sesame/internal/auth"
)

func TestRate_GCRANeverAllowsMoreThanTheLimitInAWindow(t *testing.T) {
	tests := []struct {
		name                string
		rate                auth.Rate
		emission, tolerance time.Duration
	}{
		{"WholeLimitAsBurstByDefault", auth.Rate{Limit: 5, Window: 10 * time.Minute}, 10 * time.Minute, 40 * time.Minute},
		{"HalfBurst", auth.Rate{Limit: 10, Window: time.Minute, Burst: 5}, 10 * time.Second, 40 * time.Second},
		{"BurstOfOneSpreadsEvenly", auth.Rate{Limit: 4, Window: time.Minute, Burst: 1}, 15 * time.Second, 0},
		{"BurstAboveLimitIsTheLimit", auth.Rate{Limit: 2, Window: time.Minute, Burst: 9}, time.Minute, time.Minute},
		{"IntervalRoundsUpToAMicrosecond", auth.Rate{Limit: 3, Window: 10 * time.Nanosecond, Burst: 1}, time.Microsecond, 0},
		{"IntervalRoundsUp", auth.Rate{Limit: 3, Window: 10 * time.Millisecond, Burst: 2}, 5 * time.Millisecond, 5 * time.Millisecond},
		{"HugeLimitDoesNotOverflow", auth.Rate{Limit: 1 << 30, Window: 10 * time.Minute}, 10 * time.Minute, 100 * 365 * 24 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, tol := tt.rate.GCRA()
			if e != tt.emission || tol != tt.tolerance {
				t.Fatalf("GCRA() = %v, %v; want %v, %v", e, tol, tt.emission, tt.tolerance)
			}
			// Burst at once plus one per emission interval within the window.
			burst := int(tol/e) + 1
			if n := burst + int((tt.rate.Window-1)/e); n > tt.rate.Limit {
				t.Fatalf("up to %d events fit in one window, limit %d", n, tt.rate.Limit)
			}
		})
	}
}

func TestAbuseConfigFromEnv(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		ok   func(auth.AbuseConfig) bool
		err  bool
	}{
		{"DefaultsWhenUnset", nil, func(c auth.AbuseConfig) bool { return c == auth.AbuseConfig{} }, false},
		{"PerHourLimitsWithAThirdAsBurst", map[string]string{"SMS_LIMIT_PER_PREFIX": "30", "SMS_LIMIT_PER_COUNTRY": "0"}, func(c auth.AbuseConfig) bool {
			return c.PerPrefix == auth.Rate{Limit: 30, Window: time.Hour, Burst: 10} && c.PerCountry.Limit == -1
		}, false},
		{"GuardOffAndWindows", map[string]string{"SMS_PUMPING_GUARD": "off", "SMS_PUMPING_WINDOW": "30m", "SMS_PUMPING_BLOCK_FOR": "2h", "SMS_PREFIX_DIGITS": "5"}, func(c auth.AbuseConfig) bool {
			return c.Pumping.Off && c.Pumping.Window == 30*time.Minute && c.Pumping.BlockFor == 2*time.Hour && c.PrefixDigits == 5
		}, false},
		{"ErrNegativeLimit", map[string]string{"SMS_LIMIT_PER_PREFIX": "-3"}, nil, true},
		{"ErrPrefixDigits", map[string]string{"SMS_PREFIX_DIGITS": "12"}, nil, true},
		{"ErrGuardValue", map[string]string{"SMS_PUMPING_GUARD": "maybe"}, nil, true},
		{"ErrWindowTooLong", map[string]string{"SMS_PUMPING_WINDOW": "48h"}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := auth.AbuseConfigFromEnv(func(k string) string { return tt.env[k] })
			if (err != nil) != tt.err {
				t.Fatalf("err = %v, want error %v", err, tt.err)
			}
			if tt.ok != nil && !tt.ok(c) {
				t.Fatalf("config = %+v", c)
			}
		})
	}
}

func TestNumberPrefixAndCallingCode(t *testing.T) {
	tests := []struct{ number, prefix, cc string }{
		{"+447400901234", "+447400", "+44"},
		{"+14155550100", "+141555", "+1"},
		{"+35312345678", "+353123", "+353"},
		{"+1234", "", "+1"}, // too short for a prefix
	}
	for _, tt := range tests {
		if p := auth.NumberPrefix(tt.number, 6); p != tt.prefix {
			t.Errorf("NumberPrefix(%s) = %q, want %q", tt.number, p, tt.prefix)
		}
		if cc := auth.CallingCode(tt.number); cc != tt.cc {
			t.Errorf("CallingCode(%s) = %q, want %q", tt.number, cc, tt.cc)
		}
	}
}

// TestSendOTP_NoBurstAcrossTheOldWindowEdge replays the attack the fixed
// window let through: 10 codes to one phone within 7 seconds across a
// 10-minute boundary. At most the limit may pass in any 10 minutes, and
// each refusal says when to retry.
func TestSendOTP_NoBurstAcrossTheOldWindowEdge(t *testing.T) {
	g := newGuardEnv(t, auth.Config{SendLimit: 5, SendWindow: 10 * time.Minute})
	edge := g.clock.Now().Truncate(10 * time.Minute).Add(10 * time.Minute)
	g.clock.Set(edge.Add(-3500 * time.Millisecond))
	var sent []time.Time
	for range 10 {
		_, err := g.send(t, "+14155550177")
		switch {
		case err == nil:
			sent = append(sent, g.clock.Now())
		case auth.RetryAfter(err) <= 0 || auth.RetryAfter(err) > 10*time.Minute:
			t.Fatalf("refusal with Retry-After %v", auth.RetryAfter(err))
		}
		g.clock.Advance(700 * time.Millisecond)
	}
	if len(sent) != 5 {
		t.Fatalf("%d codes within 7 s across the window edge, want the limit, 5", len(sent))
	}
	// The next one passes 10 minutes after the first, not at the edge.
	g.clock.Set(sent[0].Add(10*time.Minute - time.Second))
	if _, err := g.send(t, "+14155550177"); auth.ErrorCode(err) != auth.ERateLimited {
		t.Fatalf("a 6th code within 10 minutes: %v", err)
	}
	g.clock.Set(sent[0].Add(10 * time.Minute))
	if _, err := g.send(t, "+14155550177"); err != nil {
		t.Fatalf("a code 10 minutes after the first: %v", err)
	}
}
