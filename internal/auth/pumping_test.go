package auth_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/internal/auth"
	"github.com/sesame-auth/sesame/internal/authtest"
)

// countingMetrics records the guard's metrics.
type countingMetrics struct {
	auth.NopMetrics
	mu        sync.Mutex
	decisions map[string]int // kind/state
	refused   map[string]int
	limited   map[string]int
}

func newCountingMetrics() *countingMetrics {
	return &countingMetrics{decisions: map[string]int{}, refused: map[string]int{}, limited: map[string]int{}}
}

func (m *countingMetrics) PumpingDecision(kind, state string) {
	m.mu.Lock()
	m.decisions[kind+"/"+state]++
	m.mu.Unlock()
}

func (m *countingMetrics) PumpingRefused(kind, state string) {
	m.mu.Lock()
	m.refused[kind+"/"+state]++
	m.mu.Unlock()
}

func (m *countingMetrics) RateLimited(limit string) {
	m.mu.Lock()
	m.limited[limit]++
	m.mu.Unlock()
}

// simClock is the one clock of the service and the store.
type simClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *simClock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *simClock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }
func (c *simClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// guardEnv is a service with the default abuse limits on a simulated clock.
type guardEnv struct {
	*authtest.Env
	svc   *auth.Service
	clock *simClock
	m     *countingMetrics
	logs  *bytes.Buffer
}

func newGuardEnv(t *testing.T, cfg auth.Config) *guardEnv {
	env := authtest.New(t)
	c := &simClock{t: time.Now().UTC().Truncate(time.Minute)}
	env.Store.SetClock(c.Now)
	m := newCountingMetrics()
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&syncWriter{w: &buf}, nil))
	svc := auth.NewService(env.Store, env.Publisher, env.Keys, env.Signer, m, log, cfg)
	svc.SetClock(c.Now)
	return &guardEnv{Env: env, svc: svc, clock: c, m: m, logs: &buf}
}

type syncWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (s *syncWriter) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(b)
}

// send asks for an SMS code; it returns the method id, or the error.
func (g *guardEnv) send(t *testing.T, to string) (string, error) {
	t.Helper()
	res, err := g.svc.SendOTP(t.Context(), g.Project, auth.SendOTPInput{Channel: auth.ChannelSMS, To: to, LoginOrCreate: true})
	if err != nil {
		if auth.ErrorCode(err) != auth.ERateLimited {
			t.Fatalf("send to %s: %v", to, err)
		}
		return "", err
	}
	return res.MethodID, nil
}

func (g *guardEnv) verify(t *testing.T, to, methodID string) {
	t.Helper()
	if _, err := g.svc.AuthenticateOTP(t.Context(), g.Project, auth.AuthenticateOTPInput{MethodID: methodID, Code: g.LastCode(to)}); err != nil {
		t.Fatalf("verify %s: %v", to, err)
	}
}

// TestPumpingGuard_BlocksAPumpedPrefixWhileNormalTrafficFlows simulates
// an hour: an attacker asks for a code every 2 s to fresh numbers of one
// prefix (+447400) and never verifies one, while real users of other
// prefixes of the same countries (and of the US) ask for a code every
// 15 s and 17 of 20 type it in 40 s later.
func TestPumpingGuard_BlocksAPumpedPrefixWhileNormalTrafficFlows(t *testing.T) {
	g := newGuardEnv(t, auth.Config{SendLimit: 5})
	const (
		step     = 2 * time.Second
		duration = time.Hour
	)
	normalPrefixes := []string{"+1415555", "+1212555", "+1310555", "+4479111", "+4479121", "+4477001"}
	type pending struct {
		to, method string
		at         time.Time
	}
	var (
		queue                                  []pending
		pumpedTried, pumpedSent                int
		normalTried, normalSent, normalRefused int
		normalVerified                         int
		firstRefusal                           time.Duration
	)
	start := g.clock.Now()
	for i := 0; time.Duration(i)*step < duration; i++ {
		now := g.clock.Now()
		// The attacker.
		pumped := fmt.Sprintf("+447400%06d", 900000+i%100000)
		pumpedTried++
		if _, err := g.send(t, pumped); err == nil {
			pumpedSent++
		} else if firstRefusal == 0 {
			firstRefusal = now.Sub(start)
			if auth.RetryAfter(err) <= 0 {
				t.Fatalf("a pumping refusal without Retry-After: %v", err)
			}
		}
		// Real users: one every 15 s (every 7.5th step, rounded).
		if i%15 == 0 || i%15 == 7 {
			n := normalTried
			prefix := normalPrefixes[n%len(normalPrefixes)]
			size := 13 // +44 and 10 digits
			if strings.HasPrefix(prefix, "+1") {
				size = 12
			}
			to := fmt.Sprintf("%s%0*d", prefix, size-len(prefix), 1000+n)
			normalTried++
			m, err := g.send(t, to)
			if err != nil {
				normalRefused++
				t.Errorf("normal send %d to prefix %s refused at %v: %v", n, to[:7], now.Sub(start), err)
			} else {
				normalSent++
				if n%20 < 17 {
					queue = append(queue, pending{to: to, method: m, at: now.Add(40 * time.Second)})
				}
			}
		}
		for len(queue) > 0 && !queue[0].at.After(now) {
			g.verify(t, queue[0].to, queue[0].method)
			normalVerified++
			queue = queue[1:]
		}
		g.clock.Advance(step)
	}
	t.Logf("pumping: %d of %d pumped sends got through (first refusal after %v); normal: %d tried, %d sent, %d refused, %d verified",
		pumpedSent, pumpedTried, firstRefusal, normalTried, normalSent, normalRefused, normalVerified)
	if normalRefused != 0 || normalSent != normalTried || normalTried < 230 {
		t.Fatalf("normal traffic: %d tried, %d refused; want ≥ 230 tried and none refused", normalTried, normalRefused)
	}
	// Sends are judged once 30 s to 1m30s old (Settle): about 45 attack
	// sends pass before the prefix is throttled, one more before it is
	// blocked. The floor catches a guard that refuses everything.
	if pumpedSent > 50 || pumpedSent < 20 {
		t.Fatalf("%d pumped sends got through, want between 20 and 50", pumpedSent)
	}
	guards, err := g.svc.ListSMSGuards(t.Context(), g.Project, auth.GuardFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(guards) != 1 || guards[0].Subject != "+447400" || guards[0].Kind != auth.GuardPrefix || guards[0].State != auth.GuardBlocked || guards[0].BlockedUntil == nil {
		t.Fatalf("guards = %+v, want the one prefix +447400 blocked", guardsString(guards))
	}
	if g.m.decisions["prefix/throttled"] != 1 || g.m.decisions["prefix/blocked"] != 1 || g.m.refused["prefix/blocked"] == 0 {
		t.Fatalf("metrics: decisions %v, refused %v", g.m.decisions, g.m.refused)
	}
	all, err := g.svc.ListSMSGuards(t.Context(), g.Project, auth.GuardFilter{All: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, gd := range all {
		if gd.Subject == "+141555" && (gd.State != auth.GuardOK || gd.Sent < 30 || gd.Verified*100 < gd.Sent*80) {
			t.Fatalf("a normal prefix: %s; want ok with its verifications counted", guardsString([]*auth.SMSGuard{gd}))
		}
	}
	t.Logf("guards: %s", guardsString(all))
	logs := g.logs.String()
	if !strings.Contains(logs, "subject=+447400 ") || strings.Contains(logs, "+447400900") {
		t.Fatalf("the decision must be logged with the prefix and never a number:\n%s", logs)
	}

	// An operator lifts the block: the prefix is judged on new sends only.
	lifted, err := g.svc.LiftSMSGuard(t.Context(), g.Project, auth.GuardPrefix, "+447400")
	if err != nil || lifted.State != auth.GuardOK || lifted.Sent != 0 || lifted.LiftedAt == nil {
		t.Fatalf("lift: %+v, %v", lifted, err)
	}
	g.clock.Advance(time.Hour) // past the per-prefix velocity limit's refill
	if _, err := g.send(t, "+447400123456"); err != nil {
		t.Fatalf("a send after the lift: %v", err)
	}
	if guards, _ := g.svc.ListSMSGuards(t.Context(), g.Project, auth.GuardFilter{}); len(guards) != 0 {
		t.Fatalf("after the lift: %v, want no throttled or blocked subject", guardsString(guards))
	}
}

func guardsString(gs []*auth.SMSGuard) string {
	var b strings.Builder
	for _, g := range gs {
		fmt.Fprintf(&b, "[%s %s %s sent=%d verified=%d] ", g.Kind, g.Subject, g.State, g.Sent, g.Verified)
	}
	return b.String()
}

// TestPumpingGuard_ThresholdsArePerProject runs the same unverified burst
// against one prefix in four projects: the service-wide thresholds block
// it after 4 sends, a project's own settings override them field by
// field, or turn the guard off for that project.
func TestPumpingGuard_ThresholdsArePerProject(t *testing.T) {
	g := newGuardEnv(t, auth.Config{SendLimit: 1000, Abuse: auth.AbuseConfig{Pumping: auth.PumpingConfig{
		Settle: -1, ThrottleEvery: time.Microsecond,
		Prefix: auth.PumpingThresholds{ThrottleMinSends: 3, ThrottleBelow: 0.5, BlockMinSends: 4, BlockBelow: 0.5},
	}}})
	off := true
	tests := []struct {
		name     string
		settings *auth.PumpingSettings
		wantSent int
	}{
		{"no settings: the service's thresholds", nil, 4},
		{"stricter thresholds (throttled at the 3rd, blocked at the 4th)", &auth.PumpingSettings{Prefix: &auth.PumpingThresholds{ThrottleMinSends: 2, BlockMinSends: 2}}, 3},
		{"throttling and blocking off for prefixes", &auth.PumpingSettings{Prefix: &auth.PumpingThresholds{ThrottleMinSends: -1, BlockMinSends: -1}}, 10},
		{"the guard off", &auth.PumpingSettings{Off: &off}, 10},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, _ := g.NewProject(t, false)
			if tt.settings != nil {
				if _, err := g.svc.UpdateProject(t.Context(), p.ID, auth.UpdateProjectInput{Settings: &auth.Settings{Pumping: tt.settings}}); err != nil {
					t.Fatal(err)
				}
			}
			sent := 0
			for n := range 10 {
				_, err := g.svc.SendOTP(t.Context(), p, auth.SendOTPInput{Channel: auth.ChannelSMS, To: fmt.Sprintf("+4474009%d%04d", i, n), LoginOrCreate: true})
				if err == nil {
					sent++
				} else if auth.ErrorCode(err) != auth.ERateLimited {
					t.Fatalf("send %d: %v", n, err)
				}
			}
			if sent != tt.wantSent {
				t.Fatalf("%d of 10 pumped sends passed, want %d", sent, tt.wantSent)
			}
			// The codes the guard judged are counted; with the guard off,
			// none (its counting triggers skip them).
			var counted, all int
			if err := g.Store.Pool().QueryRow(t.Context(), `SELECT count(*) FILTER (WHERE sms_counted), count(*) FROM challenges WHERE project_id = $1`,
				p.ID).Scan(&counted, &all); err != nil {
				t.Fatal(err)
			}
			if want := map[bool]int{true: 0, false: all}[tt.settings != nil && tt.settings.Off != nil]; all != sent || counted != want {
				t.Fatalf("%d codes, %d counted; want %d codes, %d counted", all, counted, sent, want)
			}
		})
	}
}

func TestPumpingSettingsAreValidated(t *testing.T) {
	env := authtest.New(t)
	tests := []struct {
		name  string
		ps    auth.PumpingSettings
		field string
	}{
		{"a MinSends below -1", auth.PumpingSettings{Prefix: &auth.PumpingThresholds{BlockMinSends: -2}}, "sms_pumping.prefix.block_min_sends"},
		{"a MinSends too large", auth.PumpingSettings{Country: &auth.PumpingThresholds{ThrottleMinSends: 2_000_000}}, "sms_pumping.country.throttle_min_sends"},
		{"a fraction above 1", auth.PumpingSettings{Country: &auth.PumpingThresholds{BlockBelow: 1.5}}, "sms_pumping.country.block_below"},
		{"a negative fraction", auth.PumpingSettings{Prefix: &auth.PumpingThresholds{ThrottleBelow: -0.1}}, "sms_pumping.prefix.throttle_below"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantSettingsRefused(t, env, auth.Settings{Pumping: &tt.ps}, tt.field)
		})
	}
}
