package sendgrid_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/internal/auth"
	"github.com/sesame-auth/sesame/internal/fakeprovider"
	"github.com/sesame-auth/sesame/internal/sendgrid"
)

const (
	apiKey = "SG.test-key.abc"
	from   = "Sesame <no-reply@sesame.test>"
	to     = "ada@example.com"
)

func setup(t *testing.T, mut func(*sendgrid.Config)) (*fakeprovider.SendGrid, *sendgrid.Sender) {
	t.Helper()
	fake := fakeprovider.NewSendGrid()
	t.Cleanup(fake.Close)
	fake.RequireAPIKey(apiKey)
	cfg := sendgrid.Config{APIKey: apiKey, From: from, BaseURL: fake.URL()}
	if mut != nil {
		mut(&cfg)
	}
	s, err := sendgrid.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return fake, s
}

func email() *auth.OutboundMessage {
	return &auth.OutboundMessage{
		MessageID: "msg-42",
		Channel:   auth.ChannelEmail,
		To:        to,
		Subject:   "Your login link",
		Text:      "Click the link below.\n\nhttps://app.test/auth?token=tok123&stytch_token_type=magic_links",
		HTML:      `<p><a href="https://app.test/auth?token=tok123&amp;stytch_token_type=magic_links">Log in</a></p>`,
	}
}

func TestSender_SendSucceeds(t *testing.T) {
	t.Run("ReturnsMessageIDAndFakeSeesEverything", func(t *testing.T) {
		fake, s := setup(t, nil)
		m := email()
		id, err := s.Send(t.Context(), m)
		if err != nil {
			t.Fatal(err)
		}
		got, err := fake.WaitFor(to, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if id == "" || id != got.ID {
			t.Errorf("id = %q, fake X-Message-Id %q", id, got.ID)
		}
		if got.To != to || got.From != "no-reply@sesame.test" || got.FromName != "Sesame" {
			t.Errorf("to/from = %q %q %q", got.To, got.From, got.FromName)
		}
		if got.Subject != m.Subject || got.Text != m.Text || got.HTML != m.HTML {
			t.Errorf("content differs: %+v", got)
		}
		if got.CustomArgs["message_id"] != "msg-42" {
			t.Errorf("custom args = %v", got.CustomArgs)
		}
		if !slices.Equal(got.ContentTypes, []string{"text/plain", "text/html"}) {
			t.Errorf("content types = %v", got.ContentTypes)
		}
		if got.ClickTracking == nil || *got.ClickTracking || got.OpenTracking == nil || *got.OpenTracking {
			t.Errorf("tracking click=%v open=%v, want both explicitly false", got.ClickTracking, got.OpenTracking)
		}
		// The request JSON itself, as SendGrid would read it.
		var raw struct {
			Tracking map[string]map[string]any `json:"tracking_settings"`
		}
		if err := json.Unmarshal(got.Raw, &raw); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"click_tracking", "open_tracking", "subscription_tracking", "ganalytics"} {
			if raw.Tracking[k]["enable"] != false {
				t.Errorf("tracking_settings.%s = %v, want enable false", k, raw.Tracking[k])
			}
		}
		if raw.Tracking["click_tracking"]["enable_text"] != false {
			t.Errorf("click_tracking.enable_text = %v", raw.Tracking["click_tracking"]["enable_text"])
		}
	})
	t.Run("TextOnlyMessageHasOnlyPlainPart", func(t *testing.T) {
		fake, s := setup(t, nil)
		m := email()
		m.HTML = ""
		if _, err := s.Send(t.Context(), m); err != nil {
			t.Fatal(err)
		}
		if got := fake.Messages()[0].ContentTypes; !slices.Equal(got, []string{"text/plain"}) {
			t.Errorf("content types = %v", got)
		}
	})
	t.Run("BearerKeyAndJSONSentToMailSend", func(t *testing.T) {
		var gotAuth, gotCT, gotPath, gotMethod string
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			gotAuth, gotCT, gotPath, gotMethod = r.Header.Get("Authorization"), r.Header.Get("Content-Type"), r.URL.Path, r.Method
			w.Header().Set("X-Message-Id", "abc")
			w.WriteHeader(http.StatusAccepted)
		}))
		defer srv.Close()
		s, err := sendgrid.New(sendgrid.Config{APIKey: apiKey, From: "a@b.test", BaseURL: srv.URL + "/"})
		if err != nil {
			t.Fatal(err)
		}
		if id, err := s.Send(t.Context(), email()); err != nil || id != "abc" {
			t.Fatalf("Send = %q, %v", id, err)
		}
		if gotAuth != "Bearer "+apiKey || gotCT != "application/json" || gotPath != "/v3/mail/send" || gotMethod != "POST" {
			t.Errorf("auth set=%v ct=%q path=%q method=%q", gotAuth != "", gotCT, gotPath, gotMethod)
		}
	})
}

func TestSender_SendFails(t *testing.T) {
	reset := func(d time.Duration) http.Header {
		return http.Header{"X-Ratelimit-Reset": {strconv.FormatInt(time.Now().Add(d).Unix(), 10)}}
	}
	for _, tc := range []struct {
		name          string
		setup         func(*fakeprovider.SendGrid)
		cfg           func(*sendgrid.Config)
		msg           func(*auth.OutboundMessage)
		wantPermanent bool
		wantReason    string
		afterMin      time.Duration
		afterMax      time.Duration
	}{
		{name: "BadRequestIsPermanent400", setup: func(f *fakeprovider.SendGrid) { f.FailNext(1, 400) }, wantPermanent: true, wantReason: "sendgrid 400"},
		{name: "MissingSubjectIsPermanent400", msg: func(m *auth.OutboundMessage) { m.Subject = "" }, wantPermanent: true, wantReason: "sendgrid 400"},
		{name: "WrongKeyIsPermanent401", cfg: func(c *sendgrid.Config) { c.APIKey = "SG.wrong" }, wantPermanent: true, wantReason: "sendgrid 401"},
		{name: "ForbiddenIsPermanent403", setup: func(f *fakeprovider.SendGrid) { f.FailNext(1, 403) }, wantPermanent: true, wantReason: "sendgrid 403"},
		{name: "TooLargeIsPermanent413", setup: func(f *fakeprovider.SendGrid) { f.FailNext(1, 413) }, wantPermanent: true, wantReason: "sendgrid 413"},
		{name: "WrongPathIsPermanent404", setup: func(f *fakeprovider.SendGrid) { f.FailNext(1, 404) }, wantPermanent: true, wantReason: "sendgrid 404"},
		{
			name: "RateLimitedIsRetryableUntilReset",
			setup: func(f *fakeprovider.SendGrid) {
				f.FailNextWith(1, fakeprovider.Failure{Status: 429, Header: reset(30 * time.Second)})
			},
			wantReason: "sendgrid 429", afterMin: 28 * time.Second, afterMax: 31 * time.Second,
		},
		{
			name: "RateLimitedFallsBackToRetryAfter",
			setup: func(f *fakeprovider.SendGrid) {
				f.FailNextWith(1, fakeprovider.Failure{Status: 429, Header: http.Header{"Retry-After": {"5"}}})
			},
			wantReason: "sendgrid 429", afterMin: 5 * time.Second, afterMax: 5 * time.Second,
		},
		{
			name:       "RateLimitedWithoutHeadersLeavesBackoffToWorker",
			setup:      func(f *fakeprovider.SendGrid) { f.FailNextWith(1, fakeprovider.Failure{Status: 429}) },
			wantReason: "sendgrid 429",
		},
		{
			name: "RateLimitResetIsCappedAtAnHour",
			setup: func(f *fakeprovider.SendGrid) {
				f.FailNextWith(1, fakeprovider.Failure{Status: 429, Header: reset(48 * time.Hour)})
			},
			wantReason: "sendgrid 429", afterMin: time.Hour, afterMax: time.Hour,
		},
		{name: "RequestTimeoutIsRetryable408", setup: func(f *fakeprovider.SendGrid) { f.FailNext(1, 408) }, wantReason: "sendgrid 408"},
		{name: "ServerErrorIsRetryable500", setup: func(f *fakeprovider.SendGrid) { f.FailNext(1, 500) }, wantReason: "sendgrid 500"},
		{name: "UnavailableIsRetryable503", setup: func(f *fakeprovider.SendGrid) { f.FailNext(1, 503) }, wantReason: "sendgrid 503"},
		{
			name: "HTMLBadGatewayIsRetryable",
			setup: func(f *fakeprovider.SendGrid) {
				f.FailNextWith(1, fakeprovider.Failure{Status: 502, Body: "<html>502 Bad Gateway</html>"})
			},
			wantReason: "sendgrid 502",
		},
		{name: "SMSChannelIsPermanent", msg: func(m *auth.OutboundMessage) { m.Channel = auth.ChannelSMS }, wantPermanent: true, wantReason: "sendgrid unsupported channel"},
		{name: "EmptyBodyIsPermanent", msg: func(m *auth.OutboundMessage) { m.Text, m.HTML = "", "" }, wantPermanent: true, wantReason: "sendgrid invalid message"},
		{name: "NoRecipientIsPermanent", msg: func(m *auth.OutboundMessage) { m.To = " " }, wantPermanent: true, wantReason: "sendgrid invalid message"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake, s := setup(t, tc.cfg)
			if tc.setup != nil {
				tc.setup(fake)
			}
			m := email()
			if tc.msg != nil {
				tc.msg(m)
			}
			id, err := s.Send(t.Context(), m)
			if err == nil {
				t.Fatalf("Send succeeded with id %q", id)
			}
			var de *auth.DeliveryError
			if !errors.As(err, &de) {
				t.Fatalf("error %v is not a *auth.DeliveryError", err)
			}
			if de.Permanent != tc.wantPermanent || de.Reason != tc.wantReason {
				t.Errorf("got permanent=%v reason=%q, want %v %q (err: %v)", de.Permanent, de.Reason, tc.wantPermanent, tc.wantReason, err)
			}
			if de.RetryAfter < tc.afterMin || de.RetryAfter > tc.afterMax {
				t.Errorf("RetryAfter = %v, want in [%v, %v]", de.RetryAfter, tc.afterMin, tc.afterMax)
			}
			if strings.Contains(err.Error(), apiKey) || strings.Contains(err.Error(), "tok123") {
				t.Errorf("error leaks a secret: %v", err)
			}
			if n := len(fake.Messages()); n != 0 {
				t.Errorf("fake recorded %d messages", n)
			}
		})
	}
}

func TestSender_SendFailsOnTransport(t *testing.T) {
	t.Run("TimeoutIsRetryable", func(t *testing.T) {
		fake, s := setup(t, func(c *sendgrid.Config) { c.Timeout = 100 * time.Millisecond })
		fake.SetLatency(5 * time.Second)
		start := time.Now()
		_, err := s.Send(t.Context(), email())
		if de := auth.AsDeliveryError(err); err == nil || de.Permanent || de.Reason != "sendgrid timeout" {
			t.Fatalf("err = %v", err)
		}
		if el := time.Since(start); el > 2*time.Second {
			t.Errorf("Send took %v", el)
		}
	})
	t.Run("CanceledContextIsRetryable", func(t *testing.T) {
		fake, s := setup(t, nil)
		fake.SetLatency(5 * time.Second)
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(50*time.Millisecond, cancel)
		_, err := s.Send(ctx, email())
		if de := auth.AsDeliveryError(err); err == nil || de.Permanent || de.Reason != "sendgrid canceled" {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("ConnectionRefusedIsRetryable", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		s, err := sendgrid.New(sendgrid.Config{APIKey: apiKey, From: from, BaseURL: "http://" + addr})
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.Send(t.Context(), email())
		if de := auth.AsDeliveryError(err); err == nil || de.Permanent || de.Reason != "sendgrid network" {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("NeverUsesGlobalDefaultClient", func(t *testing.T) {
		// A transport given in HTTPClient must carry the request.
		fake, _ := setup(t, nil)
		var used bool
		var mu sync.Mutex
		rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
			mu.Lock()
			used = true
			mu.Unlock()
			return http.DefaultTransport.RoundTrip(r)
		})
		s, err := sendgrid.New(sendgrid.Config{APIKey: apiKey, From: from, BaseURL: fake.URL(), HTTPClient: &http.Client{Transport: rt}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Send(t.Context(), email()); err != nil {
			t.Fatal(err)
		}
		if !used {
			t.Error("custom transport not used")
		}
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestSender_ConcurrentSends(t *testing.T) {
	fake, s := setup(t, nil)
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			m := email()
			m.To = "user" + strconv.Itoa(i) + "@example.com"
			if _, err := s.Send(t.Context(), m); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := len(fake.Messages()); n != 20 {
		t.Errorf("fake recorded %d messages", n)
	}
}

func TestNew_InvalidConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  sendgrid.Config
		want []string
	}{
		{"EmptyNamesEveryMissingSetting", sendgrid.Config{}, []string{"SENDGRID_API_KEY", "EMAIL_FROM"}},
		{"BadFromAddress", sendgrid.Config{APIKey: apiKey, From: "not an address"}, []string{"EMAIL_FROM", "not a valid address"}},
		{"KeyWithNewline", sendgrid.Config{APIKey: "SG.a\nInjected: x", From: "a@b.test"}, []string{"SENDGRID_API_KEY"}},
		{"BadBaseURL", sendgrid.Config{APIKey: apiKey, From: "a@b.test", BaseURL: "api.sendgrid.com"}, []string{"SENDGRID_BASE_URL"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := sendgrid.New(tc.cfg)
			if err == nil {
				t.Fatal("New succeeded")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if tc.cfg.APIKey != "" && strings.Contains(err.Error(), tc.cfg.APIKey) {
				t.Errorf("error leaks the key")
			}
		})
	}
}

func TestFromEnv(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	t.Run("ReadsEveryVariable", func(t *testing.T) {
		cfg, err := sendgrid.FromEnv(env(map[string]string{"SENDGRID_API_KEY": apiKey, "EMAIL_FROM": from, "SENDGRID_BASE_URL": "http://127.0.0.1:8025"}))
		if err != nil {
			t.Fatal(err)
		}
		if cfg.APIKey != apiKey || cfg.From != from || cfg.BaseURL != "http://127.0.0.1:8025" || cfg.Timeout != sendgrid.DefaultTimeout {
			t.Errorf("cfg = %+v", cfg)
		}
	})
	t.Run("DefaultsBaseURL", func(t *testing.T) {
		cfg, err := sendgrid.FromEnv(env(map[string]string{"SENDGRID_API_KEY": apiKey, "EMAIL_FROM": "a@b.test"}))
		if err != nil || cfg.BaseURL != sendgrid.DefaultBaseURL {
			t.Errorf("cfg = %+v, err = %v", cfg, err)
		}
	})
	t.Run("MissingVariablesAreNamed", func(t *testing.T) {
		_, err := sendgrid.FromEnv(env(nil))
		if err == nil || !strings.Contains(err.Error(), "SENDGRID_API_KEY") || !strings.Contains(err.Error(), "EMAIL_FROM") {
			t.Errorf("err = %v", err)
		}
	})
}

func TestSender_MessageTakesTheProjectsSender(t *testing.T) {
	_, s := setup(t, nil)
	tests := []struct {
		name, fromName, fromEmail, wantName, wantAddr string
	}{
		{"no project sender keeps EMAIL_FROM", "", "", "Sesame", "no-reply@sesame.test"},
		{"a name only keeps the address", "Acme", "", "Acme", "no-reply@sesame.test"},
		{"a name and an address", "Acme Security", "security@acme.test", "Acme Security", "security@acme.test"},
		{"the configured sender is not changed by the previous message", "", "", "Sesame", "no-reply@sesame.test"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := email()
			m.FromName, m.FromEmail = tt.fromName, tt.fromEmail
			f := s.Message(m).From
			if f.Name != tt.wantName || f.Address != tt.wantAddr {
				t.Fatalf("from = %q <%s>, want %q <%s>", f.Name, f.Address, tt.wantName, tt.wantAddr)
			}
		})
	}
}
