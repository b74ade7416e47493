package e2e_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/internal/fakeprovider"
	"github.com/sesame-auth/sesame/internal/nats"
)

// TestPipeline_CodesAndLinksArriveThroughRealSDKs runs the seed flow: the
// api commits and publishes, the workers consume, twilio-go and sendgrid-go
// call the fake providers, and the codes and link verify.
func TestPipeline_CodesAndLinksArriveThroughRealSDKs(t *testing.T) {
	s := newSystem(t)
	s.startWorker(nats.ConsumerSMS, 4, time.Minute)
	s.startWorker(nats.ConsumerEmail, 4, time.Minute)

	st, user := s.call("POST", "/v1/auth/users/create", map[string]any{"phone_number": "+14152222222"})
	if st != 200 {
		t.Fatalf("create user: %d %v", st, user)
	}
	tests := []struct {
		name, sendPath, to, field string
		body                      map[string]any
		read                      func(t *testing.T, to string) string
	}{
		{"OKSMS", "/v1/auth/otps/sms/send", "+14152222222", "phone_number_id", map[string]any{"phone_number": "+14152222222"}, func(t *testing.T, to string) string {
			m, err := s.twilio.WaitFor(to, 10*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if m.From != "+15005550006" {
				t.Fatalf("from = %q", m.From)
			}
			return fakeprovider.ExtractCode(m.Body)
		}},
		{"OKEmailOTP", "/v1/auth/otps/email/login_or_create", "ada@example.com", "email_id", map[string]any{"email": "ada@example.com"}, func(t *testing.T, to string) string {
			m, err := s.sg.WaitFor(to, 10*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			return fakeprovider.ExtractCode(m.Text)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, out := s.call("POST", tt.sendPath, tt.body)
			if st != 200 {
				t.Fatalf("send: %d %v", st, out)
			}
			code := tt.read(t, tt.to)
			if len(code) != 6 {
				t.Fatalf("no code in the delivered message")
			}
			st, out = s.call("POST", "/v1/auth/otps/verify", map[string]any{"method_id": out[tt.field], "otp": code, "session_expires_in": 60})
			if st != 200 || out["session_token"] == "" {
				t.Fatalf("verify: %d %v", st, out)
			}
		})
	}
	t.Run("OKMagicLink", func(t *testing.T) {
		st, out := s.call("POST", "/v1/auth/magic_links/email/login_or_create", map[string]any{"email": "link@example.com", "login_redirect_url": "https://app.test/cb"})
		if st != 200 {
			t.Fatalf("send: %d %v", st, out)
		}
		m, err := s.sg.WaitFor("link@example.com", 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		token := fakeprovider.ExtractToken(m.Text)
		if token == "" {
			t.Fatalf("no token= in the email text")
		}
		st, out = s.call("POST", "/v1/auth/magic_links/verify", map[string]any{"token": token})
		if st != 200 {
			t.Fatalf("verify: %d %v", st, out)
		}
		st, _ = s.call("POST", "/v1/auth/magic_links/verify", map[string]any{"token": token})
		if st == 200 {
			t.Fatal("a magic link verified twice")
		}
	})
}

// TestPipeline_NATSOutageLosesNothing stops the JetStream server while
// sends are accepted, restarts it, and counts what the fake Twilio got:
// every accepted send exactly once.
func TestPipeline_NATSOutageLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("slow (processes, a browser or a private cluster): make test runs it, make test-short skips it")
	}
	s := newSystem(t)
	s.startWorker(nats.ConsumerSMS, 8, time.Minute)

	const before, during = 5, 10
	send := func(i int) {
		st, out := s.call("POST", "/v1/auth/otps/sms/login_or_create", map[string]any{"phone_number": fmt.Sprintf("+1415555%04d", i)})
		if st != 200 {
			t.Errorf("send %d: %d %v", i, st, out)
		}
	}
	for i := 0; i < before; i++ {
		send(i)
	}
	s.stopNATS()
	var wg sync.WaitGroup
	for i := before; i < before+during; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); send(i) }()
	}
	wg.Wait()
	s.startNATS()

	total := before + during
	if !waitUntil(30*time.Second, func() bool { return len(s.smsCounts()) == total }) {
		t.Fatalf("delivered to %d of %d recipients", len(s.smsCounts()), total)
	}
	time.Sleep(1 * time.Second) // let any duplicate arrive
	lost, dup := 0, 0
	counts := s.smsCounts()
	for i := 0; i < total; i++ {
		switch n := counts[fmt.Sprintf("+1415555%04d", i)]; {
		case n == 0:
			lost++
		case n > 1:
			dup += n - 1
		}
	}
	t.Logf("NATS outage: %d sends (%d during the outage): lost=%d duplicated=%d", total, during, lost, dup)
	if lost != 0 || dup != 0 {
		t.Fatalf("lost=%d duplicated=%d, want 0 and 0", lost, dup)
	}
}

// TestPipeline_KilledWorkerLosesNothing kills a worker (no ack, no nak)
// while sends are in flight at a slow provider, then starts another one.
// Nothing may be lost; duplicates are bounded by what was in flight.
func TestPipeline_KilledWorkerLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("slow (processes, a browser or a private cluster): make test runs it, make test-short skips it")
	}
	s := newSystem(t)
	s.twilio.SetLatency(300 * time.Millisecond)
	const total, concurrency = 40, 8
	// A 1 ms drain: the kill cancels the provider calls in flight, as a
	// dying process would.
	first := s.startWorkerDrain(nats.ConsumerSMS, concurrency, 2*time.Second, time.Millisecond)
	for i := 0; i < total; i++ {
		st, out := s.call("POST", "/v1/auth/otps/sms/login_or_create", map[string]any{"phone_number": fmt.Sprintf("+1415666%04d", i)})
		if st != 200 {
			t.Fatalf("send %d: %d %v", i, st, out)
		}
	}
	if !waitUntil(10*time.Second, func() bool { return s.twilio.Requests() >= 10 }) {
		t.Fatal("the first worker delivered too little")
	}
	first(false) // kill
	killedAt := s.twilio.Requests()
	s.startWorker(nats.ConsumerSMS, concurrency, 2*time.Second)
	if !waitUntil(45*time.Second, func() bool { return len(s.smsCounts()) == total }) {
		t.Fatalf("delivered to %d of %d recipients", len(s.smsCounts()), total)
	}
	time.Sleep(1 * time.Second)
	lost, dup := 0, 0
	counts := s.smsCounts()
	for i := 0; i < total; i++ {
		switch n := counts[fmt.Sprintf("+1415666%04d", i)]; {
		case n == 0:
			lost++
		case n > 1:
			dup += n - 1
		}
	}
	t.Logf("worker killed after %d provider requests with up to %d in flight: lost=%d duplicated=%d", killedAt, concurrency, lost, dup)
	if lost != 0 {
		t.Fatalf("lost=%d", lost)
	}
	if dup > concurrency {
		t.Fatalf("duplicated=%d, more than the %d sends in flight at the kill", dup, concurrency)
	}
}
