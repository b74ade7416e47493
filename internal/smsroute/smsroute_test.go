package smsroute_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/internal/auth"
	"github.com/sesame-auth/sesame/internal/authtest"
	"github.com/sesame-auth/sesame/internal/fakeprovider"
	"github.com/sesame-auth/sesame/internal/metrics"
	"github.com/sesame-auth/sesame/internal/render"
	"github.com/sesame-auth/sesame/internal/smsroute"
	"github.com/sesame-auth/sesame/internal/twilio"
)

// clock is a settable time for the breakers.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func twilioSender(t *testing.T, fake *fakeprovider.Twilio, from string) auth.Sender {
	t.Helper()
	s, err := twilio.New(twilio.Config{AccountSID: "ACtest", AuthToken: "token", From: from, BaseURL: fake.URL()})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

const (
	usPhone    = "+14155550123"
	indiaPhone = "+919876543210"
)

// countingRecorder counts the attempts recorded on their own.
type countingRecorder struct {
	next  smsroute.Recorder
	calls atomic.Int64
}

func (c *countingRecorder) RecordProviderAttempt(ctx context.Context, messageID, provider string, accepted bool) error {
	c.calls.Add(1)
	return c.next.RecordProviderAttempt(ctx, messageID, provider, accepted)
}

// TestRouterRecordsAttemptOutsideDeliverer: a Send whose caller does not
// take the attempt (no Deliverer) records it through the Recorder.
func TestRouterRecordsAttemptOutsideDeliverer(t *testing.T) {
	env := authtest.New(t)
	fake := fakeprovider.NewTwilio()
	defer fake.Close()
	rec := &countingRecorder{next: env.Store}
	r, err := smsroute.New(smsroute.Config{Providers: []smsroute.Provider{{Name: "twilio", Sender: twilioSender(t, fake, "+15005550006")}}, Recorder: rec})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.Service.SendOTP(t.Context(), env.Project, auth.SendOTPInput{Channel: auth.ChannelSMS, To: usPhone, LoginOrCreate: true}); err != nil {
		t.Fatal(err)
	}
	ev := env.Publisher.Last(usPhone, auth.KindOTP)
	if _, err := r.Send(t.Context(), render.Render(ev, render.Options{})); err != nil {
		t.Fatal(err)
	}
	m, err := env.Service.GetMessage(t.Context(), env.Project, ev.MessageID)
	if err != nil {
		t.Fatal(err)
	}
	if rec.calls.Load() != 1 || m.Provider != "twilio" || strings.Join(m.ProvidersTried, ",") != "twilio" {
		t.Fatalf("recorder calls %d, record provider %q tried %q", rec.calls.Load(), m.Provider, m.ProvidersTried)
	}
}

// TestRouterFailoverRecordsProviders drives real deliveries (auth.Deliverer,
// Postgres, twilio-go against two fake Twilio accounts): the primary fails
// with 500s, traffic moves to the second account after FailAfter failures,
// the message record shows both, and traffic returns after the cool-down.
func TestRouterFailoverRecordsProviders(t *testing.T) {
	env := authtest.New(t)
	primary, second := fakeprovider.NewTwilio(), fakeprovider.NewTwilio()
	defer primary.Close()
	defer second.Close()
	clk := &clock{t: time.Unix(1_800_000_000, 0)}
	reg := metrics.New()
	rec := &countingRecorder{next: env.Store}
	r, err := smsroute.New(smsroute.Config{
		Providers: []smsroute.Provider{{Name: "twilio", Sender: twilioSender(t, primary, "+15005550006")}, {Name: "india", Sender: twilioSender(t, second, "+15005550007")}},
		Routes:    []smsroute.Route{{Prefix: "+91", Providers: []string{"india", "twilio"}}},
		FailAfter: 3, CoolDown: time.Minute, Now: clk.Now, Recorder: rec, Metrics: reg,
	})
	if err != nil {
		t.Fatal(err)
	}
	// The Deliverer's store records each attempt with its outcome, in the
	// same statement: the Recorder is never called.
	t.Cleanup(func() {
		if n := rec.calls.Load(); n != 0 {
			t.Errorf("Recorder called %d times under a Deliverer that records attempts with the outcome", n)
		}
	})
	d := &auth.Deliverer{Store: env.Store, Sender: r, Render: func(ev *auth.Event) *auth.OutboundMessage { return render.Render(ev, render.Options{}) }}
	send := func(t *testing.T, to string) *auth.Event {
		t.Helper()
		if _, err := env.Service.SendOTP(t.Context(), env.Project, auth.SendOTPInput{Channel: auth.ChannelSMS, To: to, LoginOrCreate: true}); err != nil {
			t.Fatal(err)
		}
		return env.Publisher.Last(to, auth.KindOTP)
	}
	record := func(t *testing.T, ev *auth.Event) *auth.Message {
		t.Helper()
		m, err := env.Service.GetMessage(t.Context(), env.Project, ev.MessageID)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}

	t.Run("OKIndiaRoutedToSecondAccount", func(t *testing.T) {
		ev := send(t, indiaPhone)
		if err := d.Deliver(t.Context(), ev); err != nil {
			t.Fatal(err)
		}
		got, err := second.WaitFor(indiaPhone, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		m := record(t, ev)
		if m.Provider != "india" || strings.Join(m.ProvidersTried, ",") != "india" || m.ProviderID != got.SID {
			t.Fatalf("record: provider %q tried %q id %q (sid %q)", m.Provider, m.ProvidersTried, m.ProviderID, got.SID)
		}
	})

	var failedOver *auth.Event
	t.Run("OKPrimaryFailuresMoveTrafficToSecond", func(t *testing.T) {
		primary.FailNext(3, http.StatusInternalServerError, 20500)
		ev := send(t, usPhone)
		for i := range 3 {
			err := d.Deliver(t.Context(), ev)
			if de := auth.AsDeliveryError(err); err == nil || de.Permanent || de.Reason != "twilio 20500" {
				t.Fatalf("attempt %d: err = %v", i+1, err)
			}
		}
		if err := d.Deliver(t.Context(), ev); err != nil {
			t.Fatalf("attempt 4 (second account): %v", err)
		}
		if _, err := second.WaitFor(usPhone, time.Second); err != nil {
			t.Fatal(err)
		}
		if n := len(primary.Messages()); n != 0 {
			t.Fatalf("primary accepted %d messages while failing", n)
		}
		m := record(t, ev)
		if m.Status != auth.MessageSent || m.Provider != "india" || strings.Join(m.ProvidersTried, ",") != "twilio,twilio,twilio,india" {
			t.Fatalf("record: status %s provider %q tried %q", m.Status, m.Provider, m.ProvidersTried)
		}
		failedOver = ev
	})

	t.Run("OKSkippedProviderStaysSkippedDuringCoolDown", func(t *testing.T) {
		clk.Advance(59 * time.Second)
		ev := send(t, "+14155550124")
		if err := d.Deliver(t.Context(), ev); err != nil {
			t.Fatal(err)
		}
		if m := record(t, ev); m.Provider != "india" {
			t.Fatalf("during cool-down provider = %q, want india", m.Provider)
		}
	})

	t.Run("OKTrafficReturnsAfterCoolDown", func(t *testing.T) {
		clk.Advance(time.Second)
		ev := send(t, "+14155550125")
		if err := d.Deliver(t.Context(), ev); err != nil {
			t.Fatal(err)
		}
		if _, err := primary.WaitFor("+14155550125", time.Second); err != nil {
			t.Fatal(err)
		}
		if m := record(t, ev); m.Provider != "twilio" || strings.Join(m.ProvidersTried, ",") != "twilio" {
			t.Fatalf("after cool-down: provider %q tried %q", m.Provider, m.ProvidersTried)
		}
	})

	t.Run("OKMetricsShowIt", func(t *testing.T) {
		if failedOver == nil {
			t.Skip("failover subtest failed")
		}
		rec := httptest.NewRecorder()
		reg.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		body, _ := io.ReadAll(rec.Body)
		for _, want := range []string{
			`sesame_sms_provider_requests_total{provider="twilio",result="twilio 20500",route="default"} 3`,
			`sesame_sms_provider_failovers_total{from="twilio",route="default",to="india"} 2`,
			`sesame_sms_provider_requests_total{provider="india",result="ok",route="+91"} 1`,
			`sesame_sms_provider_open{provider="twilio"} 0`,
			`sesame_provider_requests_total{provider="twilio",result="ok"} 1`,
		} {
			if !strings.Contains(string(body), want) {
				t.Errorf("metrics lack %q", want)
			}
		}
	})
}

// stub fails with queued errors, then accepts.
type stub struct {
	mu    sync.Mutex
	errs  []error
	calls int
}

func (s *stub) Send(context.Context, *auth.OutboundMessage) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if len(s.errs) > 0 {
		err := s.errs[0]
		s.errs = s.errs[1:]
		return "", err
	}
	return "id", nil
}

func TestRouterBreaker(t *testing.T) {
	transient := auth.Retryable("x 500", 0, nil)
	throttled := auth.Retryable("x 429", 30*time.Second, nil)
	permanent := auth.Permanent("x 21211", nil)
	tests := []struct {
		name       string
		primary    []error
		advance    []time.Duration // clock advance before each send
		wantCalls  [2]int          // primary, backup
		wantLastOK bool
		wantAfter  time.Duration // RetryAfter of the last send's error
	}{
		{name: "OKPermanentFailuresNeverFailOver", primary: []error{permanent, permanent, permanent, permanent},
			advance: make([]time.Duration, 4), wantCalls: [2]int{4, 0}},
		{name: "OKSuccessResetsTheCount", primary: []error{transient, transient, nil, transient, transient},
			advance: make([]time.Duration, 5), wantCalls: [2]int{5, 0}},
		{name: "OKFailedProbeAfterCoolDownSkipsAgainAtOnce", primary: []error{transient, transient, transient, transient},
			advance: []time.Duration{0, 0, 0, time.Minute, 0}, wantCalls: [2]int{4, 1}, wantLastOK: true},
		{name: "OKRetryAfterDroppedWhenTheRetryGoesElsewhere", primary: []error{throttled, throttled, throttled},
			advance: make([]time.Duration, 3), wantCalls: [2]int{3, 0}, wantAfter: 0},
		{name: "OKRetryAfterKeptWhileTheProviderStaysPrimary", primary: []error{throttled},
			advance: make([]time.Duration, 1), wantCalls: [2]int{1, 0}, wantAfter: 30 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := &clock{t: time.Unix(1_800_000_000, 0)}
			p, b := &stub{errs: tt.primary}, &stub{}
			providers := []smsroute.Provider{{Name: "primary", Sender: p}, {Name: "backup", Sender: b}}
			r, err := smsroute.New(smsroute.Config{Providers: providers, FailAfter: 3, CoolDown: time.Minute, Now: clk.Now})
			if err != nil {
				t.Fatal(err)
			}
			var last error
			for _, adv := range tt.advance {
				clk.Advance(adv)
				_, last = r.Send(t.Context(), &auth.OutboundMessage{Channel: auth.ChannelSMS, To: usPhone, Text: "123456"})
			}
			if p.calls != tt.wantCalls[0] || b.calls != tt.wantCalls[1] {
				t.Fatalf("calls primary %d backup %d, want %v", p.calls, b.calls, tt.wantCalls)
			}
			if (last == nil) != tt.wantLastOK {
				t.Fatalf("last err = %v", last)
			}
			if last != nil && auth.AsDeliveryError(last).RetryAfter != tt.wantAfter {
				t.Fatalf("RetryAfter = %v, want %v", auth.AsDeliveryError(last).RetryAfter, tt.wantAfter)
			}
		})
	}
}

func TestRouterAllSkippedProbesThePrimary(t *testing.T) {
	transient := auth.Retryable("x 500", 0, nil)
	p := &stub{errs: []error{transient, transient, transient}}
	b := &stub{errs: []error{transient, transient, transient}}
	r, err := smsroute.New(smsroute.Config{Providers: []smsroute.Provider{{Name: "primary", Sender: p}, {Name: "backup", Sender: b}},
		FailAfter: 3, CoolDown: time.Minute, Now: (&clock{t: time.Unix(1_800_000_000, 0)}).Now})
	if err != nil {
		t.Fatal(err)
	}
	var last error
	for range 7 { // 3 open the primary, 3 open the backup, the 7th probes the primary
		_, last = r.Send(t.Context(), &auth.OutboundMessage{Channel: auth.ChannelSMS, To: usPhone})
	}
	if p.calls != 4 || b.calls != 3 || last != nil {
		t.Fatalf("calls primary %d backup %d, last err %v: want the primary probed and accepting", p.calls, b.calls, last)
	}
}

func TestRouting(t *testing.T) {
	tests := []struct {
		name, to, want string
	}{
		{"OKDefaultRoute", "+14155550123", "a"},
		{"OKCountryCode", "+919876543210", "b"},
		{"OKLongestPrefixWins", "+2348031234567", "c"},
		{"OKShorterPrefixOfLongerRoute", "+2341234567", "b"},
		{"OKWhatsAppPrefixIgnored", "whatsapp:+919876543210", "b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stubs := map[string]*stub{"a": {}, "b": {}, "c": {}}
			r, err := smsroute.New(smsroute.Config{
				Providers: []smsroute.Provider{{Name: "a", Sender: stubs["a"]}, {Name: "b", Sender: stubs["b"]}, {Name: "c", Sender: stubs["c"]}},
				Routes:    mustRoutes(t, "+91=b,a; +234=b; +23480=c,b"),
			})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := r.Send(t.Context(), &auth.OutboundMessage{Channel: auth.ChannelSMS, To: tt.to}); err != nil {
				t.Fatal(err)
			}
			for n, s := range stubs {
				if (s.calls == 1) != (n == tt.want) {
					t.Fatalf("provider %s got %d calls, want the message at %s", n, s.calls, tt.want)
				}
			}
		})
	}
}

func mustRoutes(t *testing.T, s string) []smsroute.Route {
	t.Helper()
	rs, err := smsroute.ParseRoutes(s)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func TestNewRefusesBadConfig(t *testing.T) {
	ok := []smsroute.Provider{{Name: "twilio", Sender: &stub{}}}
	tests := []struct {
		name      string
		providers []smsroute.Provider
		routes    string
		want      string
	}{
		{"ErrNoProvider", nil, "", "at least one provider"},
		{"ErrBadName", []smsroute.Provider{{Name: "Twilio-1", Sender: &stub{}}}, "", "provider name"},
		{"ErrDuplicateName", append(append([]smsroute.Provider{}, ok...), ok...), "", "twice"},
		{"ErrUnknownProviderInRoute", ok, "+91=india", "unknown provider"},
		{"ErrPrefixNotDigits", ok, "+9x=twilio", "route prefix"},
		{"ErrPrefixGivenTwice", ok, "+91=twilio;91=twilio", "given twice"},
		{"ErrRouteWithoutProvider", ok, "+91=", "no provider"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := smsroute.New(smsroute.Config{Providers: tt.providers, Routes: mustRoutes(t, tt.routes)})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tt.want)
			}
		})
	}
	if _, err := smsroute.ParseRoutes("+91 india"); err == nil {
		t.Fatal("ParseRoutes accepted an entry without =")
	}
}
