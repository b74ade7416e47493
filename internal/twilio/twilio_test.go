package twilio_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/internal/auth"
	"github.com/sesame-auth/sesame/internal/fakeprovider"
	"github.com/sesame-auth/sesame/internal/twilio"
)

const (
	sid   = "ACtest0123456789"
	token = "secrettoken42"
	from  = "+15005550006"
	to    = "+15551230000"
)

func setup(t *testing.T, mut func(*twilio.Config)) (*fakeprovider.Twilio, *twilio.Sender) {
	t.Helper()
	fake := fakeprovider.NewTwilio()
	t.Cleanup(fake.Close)
	fake.RequireAuth(sid, token)
	cfg := twilio.Config{AccountSID: sid, AuthToken: token, From: from, BaseURL: fake.URL()}
	if mut != nil {
		mut(&cfg)
	}
	s, err := twilio.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return fake, s
}

func sms(to, text string) *auth.OutboundMessage {
	return &auth.OutboundMessage{MessageID: "m1", Channel: auth.ChannelSMS, To: to, Text: text}
}

func TestSender_SendSucceeds(t *testing.T) {
	for _, tc := range []struct {
		name     string
		cfg      func(*twilio.Config)
		msg      *auth.OutboundMessage
		wantTo   string
		wantFrom string
		wantMSS  string
		wantCB   string
	}{
		{
			name: "SMSFromNumber", msg: sms(to, "123456 is your code."),
			wantTo: to, wantFrom: from,
		},
		{
			name:   "WhatsAppPrefixesToAndFrom",
			msg:    &auth.OutboundMessage{Channel: auth.ChannelWhatsApp, To: to, Text: "123456 is your code."},
			wantTo: "whatsapp:" + to, wantFrom: "whatsapp:" + from,
		},
		{
			name:   "WhatsAppUsesExplicitSenderAndKeepsExistingPrefix",
			cfg:    func(c *twilio.Config) { c.WhatsAppFrom = "+14155238886" },
			msg:    &auth.OutboundMessage{Channel: auth.ChannelWhatsApp, To: "whatsapp:" + to, Text: "hi 123456"},
			wantTo: "whatsapp:" + to, wantFrom: "whatsapp:+14155238886",
		},
		{
			name:   "MessagingServiceWithoutFrom",
			cfg:    func(c *twilio.Config) { c.From = ""; c.MessagingServiceSID = "MG0123456789abcdef" },
			msg:    sms(to, "123456"),
			wantTo: to, wantMSS: "MG0123456789abcdef",
		},
		{
			name:   "MessagingServiceAndFromBothSent",
			cfg:    func(c *twilio.Config) { c.MessagingServiceSID = "MGabc" },
			msg:    sms(to, "123456"),
			wantTo: to, wantFrom: from, wantMSS: "MGabc",
		},
		{
			name:   "StatusCallbackSent",
			cfg:    func(c *twilio.Config) { c.StatusCallback = "https://auth.example.com/v1/webhooks/twilio" },
			msg:    sms(to, "123456"),
			wantTo: to, wantFrom: from, wantCB: "https://auth.example.com/v1/webhooks/twilio",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake, s := setup(t, tc.cfg)
			id, err := s.Send(t.Context(), tc.msg)
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			got := fake.Messages()
			if len(got) != 1 {
				t.Fatalf("fake recorded %d messages", len(got))
			}
			m := got[0]
			if id != m.SID || !strings.HasPrefix(id, "SM") || len(id) != 34 {
				t.Errorf("id = %q, fake sid %q", id, m.SID)
			}
			if m.To != tc.wantTo || m.From != tc.wantFrom || m.MessagingServiceSID != tc.wantMSS {
				t.Errorf("To/From/MSS = %q %q %q, want %q %q %q", m.To, m.From, m.MessagingServiceSID, tc.wantTo, tc.wantFrom, tc.wantMSS)
			}
			if m.StatusCallback != tc.wantCB {
				t.Errorf("StatusCallback = %q, want %q", m.StatusCallback, tc.wantCB)
			}
			if m.Body != tc.msg.Text {
				t.Errorf("Body = %q, want %q", m.Body, tc.msg.Text)
			}
			if m.AccountSID != sid || m.Username != sid {
				t.Errorf("account %q, basic auth user %q", m.AccountSID, m.Username)
			}
		})
	}
}

func TestSender_BasicAuthHeaderSent(t *testing.T) {
	var gotUser, gotPass string
	var ok bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotUser, gotPass, ok = r.BasicAuth()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		w.Write([]byte(`{"sid":"SMx","status":"queued"}`))
	}))
	defer srv.Close()
	s, err := twilio.New(twilio.Config{AccountSID: sid, AuthToken: token, From: from, BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	if id, err := s.Send(t.Context(), sms(to, "x")); err != nil || id != "SMx" {
		t.Fatalf("Send = %q, %v", id, err)
	}
	if !ok || gotUser != sid || gotPass != token {
		t.Errorf("basic auth = %v %q", ok, gotUser)
	}
}

func TestSender_BaseURLWithPathPrefix(t *testing.T) {
	fake := fakeprovider.NewTwilio()
	defer fake.Close()
	var paths []string
	var mu sync.Mutex
	proxy := httptest.NewServer(http.StripPrefix("/twilio", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.URL.Path)
		mu.Unlock()
		req, _ := http.NewRequestWithContext(r.Context(), r.Method, fake.URL()+r.URL.Path, r.Body)
		req.Header = r.Header.Clone()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
		w.WriteHeader(resp.StatusCode)
		var buf [4096]byte
		for {
			n, err := resp.Body.Read(buf[:])
			w.Write(buf[:n])
			if err != nil {
				break
			}
		}
	})))
	defer proxy.Close()
	s, err := twilio.New(twilio.Config{AccountSID: sid, AuthToken: token, From: from, BaseURL: proxy.URL + "/twilio/"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Send(t.Context(), sms(to, "123456")); err != nil {
		t.Fatal(err)
	}
	if len(paths) != 1 || paths[0] != "/2010-04-01/Accounts/"+sid+"/Messages.json" {
		t.Errorf("proxy saw %v", paths)
	}
}

func TestSender_SendFails(t *testing.T) {
	for _, tc := range []struct {
		name          string
		setup         func(*fakeprovider.Twilio)
		cfg           func(*twilio.Config)
		msg           *auth.OutboundMessage
		wantPermanent bool
		wantReason    string
		wantAfter     time.Duration
	}{
		{name: "InvalidNumberIsPermanent21211", msg: sms("+15005550001", "x"), wantPermanent: true, wantReason: "twilio 21211"},
		{name: "NonE164NumberIsPermanent21211", msg: sms("555-1234", "x"), wantPermanent: true, wantReason: "twilio 21211"},
		{name: "UnsubscribedIsPermanent21610", msg: sms("+15005550004", "x"), wantPermanent: true, wantReason: "twilio 21610"},
		{name: "GeoPermissionIsPermanent21408", msg: sms("+15005550003", "x"), wantPermanent: true, wantReason: "twilio 21408"},
		{name: "NotMobileIsPermanent21614", msg: sms("+15005550009", "x"), wantPermanent: true, wantReason: "twilio 21614"},
		{
			name:          "WrongCredentialsArePermanent20003",
			cfg:           func(c *twilio.Config) { c.AuthToken = "wrongtoken" },
			msg:           sms(to, "x"),
			wantPermanent: true, wantReason: "twilio 20003",
		},
		{
			name:          "UnknownAccountIsPermanent20404",
			setup:         func(f *fakeprovider.Twilio) { f.FailNext(1, 404, 20404) },
			msg:           sms(to, "x"),
			wantPermanent: true, wantReason: "twilio 20404",
		},
		{
			name:          "Unauthorized401WithoutCodeIsPermanent",
			setup:         func(f *fakeprovider.Twilio) { f.FailNext(1, 401, 0) },
			msg:           sms(to, "x"),
			wantPermanent: true, wantReason: "twilio 401",
		},
		{
			name:          "Unknown4xxCodeIsPermanent",
			setup:         func(f *fakeprovider.Twilio) { f.FailNext(1, 400, 21999) },
			msg:           sms(to, "x"),
			wantPermanent: true, wantReason: "twilio 21999",
		},
		{
			name:       "RateLimited20429IsRetryable",
			setup:      func(f *fakeprovider.Twilio) { f.FailNext(1, 429, 20429) },
			msg:        sms(to, "x"),
			wantReason: "twilio 20429",
		},
		{
			name: "RateLimited429HonorsRetryAfter",
			setup: func(f *fakeprovider.Twilio) {
				f.FailNextWith(1, fakeprovider.Failure{Status: 429, Header: http.Header{"Retry-After": {"7"}}})
			},
			msg:        sms(to, "x"),
			wantReason: "twilio 429", wantAfter: 7 * time.Second,
		},
		{
			name:       "QueueFull21611IsRetryable",
			setup:      func(f *fakeprovider.Twilio) { f.FailNext(1, 400, 21611) },
			msg:        sms(to, "x"),
			wantReason: "twilio 21611",
		},
		{
			name:       "ServerError500IsRetryable",
			setup:      func(f *fakeprovider.Twilio) { f.FailNext(1, 500, 20500) },
			msg:        sms(to, "x"),
			wantReason: "twilio 20500",
		},
		{
			name:       "ServiceUnavailableWithoutCodeIsRetryable",
			setup:      func(f *fakeprovider.Twilio) { f.FailNext(1, 503, 0) },
			msg:        sms(to, "x"),
			wantReason: "twilio 503",
		},
		{
			name: "HTMLBadGatewayIsRetryable",
			setup: func(f *fakeprovider.Twilio) {
				f.FailNextWith(1, fakeprovider.Failure{Status: 502, Body: "<html><body><h1>502 Bad Gateway</h1></body></html>"})
			},
			msg:        sms(to, "x"),
			wantReason: "twilio 502",
		},
		{
			name: "UndecodableSuccessIsRetryable",
			setup: func(f *fakeprovider.Twilio) {
				f.FailNextWith(1, fakeprovider.Failure{Status: 201, Body: "<html>created?</html>"})
			},
			msg:        sms(to, "x"),
			wantReason: "twilio 201",
		},
		{
			name:          "EmailChannelIsPermanent",
			msg:           &auth.OutboundMessage{Channel: auth.ChannelEmail, To: "a@example.com", Text: "x"},
			wantPermanent: true, wantReason: "twilio unsupported channel",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake, s := setup(t, tc.cfg)
			if tc.setup != nil {
				tc.setup(fake)
			}
			id, err := s.Send(t.Context(), tc.msg)
			if err == nil {
				t.Fatalf("Send succeeded with id %q", id)
			}
			var de *auth.DeliveryError
			if !errors.As(err, &de) {
				t.Fatalf("error %v is not a *auth.DeliveryError", err)
			}
			if de.Permanent != tc.wantPermanent || de.Reason != tc.wantReason || de.RetryAfter != tc.wantAfter {
				t.Errorf("got permanent=%v reason=%q after=%v, want %v %q %v (err: %v)",
					de.Permanent, de.Reason, de.RetryAfter, tc.wantPermanent, tc.wantReason, tc.wantAfter, err)
			}
			if strings.Contains(err.Error(), token) {
				t.Errorf("error leaks the auth token: %v", err)
			}
			if n := len(fake.Messages()); n != 0 {
				t.Errorf("fake recorded %d messages", n)
			}
		})
	}
}

func TestSender_SendFailsOnTransport(t *testing.T) {
	t.Run("TimeoutIsRetryable", func(t *testing.T) {
		fake, s := setup(t, func(c *twilio.Config) { c.Timeout = 100 * time.Millisecond })
		fake.SetLatency(5 * time.Second)
		start := time.Now()
		_, err := s.Send(t.Context(), sms(to, "x"))
		de := auth.AsDeliveryError(err)
		if err == nil || de.Permanent || de.Reason != "twilio timeout" {
			t.Fatalf("err = %v", err)
		}
		if el := time.Since(start); el > 2*time.Second {
			t.Errorf("Send took %v", el)
		}
	})
	t.Run("HTTPClientTimeoutIsUsedWhenTimeoutUnset", func(t *testing.T) {
		fake, s := setup(t, func(c *twilio.Config) { c.HTTPClient = &http.Client{Timeout: 100 * time.Millisecond} })
		fake.SetLatency(5 * time.Second)
		_, err := s.Send(t.Context(), sms(to, "x"))
		if de := auth.AsDeliveryError(err); err == nil || de.Reason != "twilio timeout" {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("CanceledContextIsRetryable", func(t *testing.T) {
		fake, s := setup(t, nil)
		fake.SetLatency(5 * time.Second)
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(50*time.Millisecond, cancel)
		_, err := s.Send(ctx, sms(to, "x"))
		de := auth.AsDeliveryError(err)
		if err == nil || de.Permanent || de.Reason != "twilio canceled" || !errors.Is(err, context.Canceled) {
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
		s, err := twilio.New(twilio.Config{AccountSID: sid, AuthToken: token, From: from, BaseURL: "http://" + addr})
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.Send(t.Context(), sms(to, "x"))
		if de := auth.AsDeliveryError(err); err == nil || de.Permanent || de.Reason != "twilio network" {
			t.Fatalf("err = %v", err)
		}
	})
}

// twilio-go leaves error bodies open; the Sender must close them so that
// failed requests do not pin connections (and their goroutines) forever.
func TestSender_ErrorAnswersDoNotLeakConnections(t *testing.T) {
	bigPage := "<html><body>" + strings.Repeat("<p>upstream error</p>", 2000) + "</body></html>" // ~40 KB
	for _, tc := range []struct {
		name    string
		failure fakeprovider.Failure
	}{
		{"TwilioJSONErrors", fakeprovider.Failure{Status: 400, TwilioCode: 21211}},
		{"LargeHTMLErrorPages", fakeprovider.Failure{Status: 502, Body: bigPage}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var dials, open atomic.Int32
			tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
				if err != nil {
					return nil, err
				}
				dials.Add(1)
				open.Add(1)
				return &countingConn{Conn: c, open: &open}, nil
			}}
			defer tr.CloseIdleConnections()
			fake, s := setup(t, func(c *twilio.Config) { c.HTTPClient = &http.Client{Transport: tr} })
			fake.FailNextWith(20, tc.failure)
			for range 20 {
				if _, err := s.Send(t.Context(), sms(to, "x")); err == nil {
					t.Fatal("Send succeeded")
				}
			}
			if n := open.Load(); n > 1 {
				t.Errorf("%d connections still open after 20 sequential error answers (%d dialed)", n, dials.Load())
			}
			if n := dials.Load(); n > 2 {
				t.Errorf("%d connections dialed for 20 sequential error answers; want reuse", n)
			}
			if fake.Requests() != 20 {
				t.Errorf("fake saw %d requests", fake.Requests())
			}
		})
	}
}

type countingConn struct {
	net.Conn
	open *atomic.Int32
	once sync.Once
}

func (c *countingConn) Close() error {
	c.once.Do(func() { c.open.Add(-1) })
	return c.Conn.Close()
}

func TestSender_ConcurrentSends(t *testing.T) {
	fake, s := setup(t, nil)
	var wg sync.WaitGroup
	ids := make(chan string, 20)
	for range 20 {
		wg.Go(func() {
			id, err := s.Send(t.Context(), sms(to, "123456"))
			if err != nil {
				t.Error(err)
			}
			ids <- id
		})
	}
	wg.Wait()
	close(ids)
	seen := map[string]bool{}
	for id := range ids {
		seen[id] = true
	}
	if len(seen) != 20 || len(fake.Messages()) != 20 {
		t.Errorf("%d distinct ids, %d recorded", len(seen), len(fake.Messages()))
	}
}

func TestNew_InvalidConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  twilio.Config
		want []string
	}{
		{"EmptyNamesEveryMissingSetting", twilio.Config{}, []string{"TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM or TWILIO_MESSAGING_SERVICE_SID"}},
		{"NonAlphanumericToken", twilio.Config{AccountSID: sid, AuthToken: "s3cr3t-with-dash", From: from}, []string{"alphanumeric (TWILIO_AUTH_TOKEN)"}},
		{"BadScheme", twilio.Config{AccountSID: sid, AuthToken: token, From: from, BaseURL: "ftp://x"}, []string{"TWILIO_BASE_URL", "scheme"}},
		{"NoHost", twilio.Config{AccountSID: sid, AuthToken: token, From: from, BaseURL: "http://"}, []string{"host"}},
		{"RelativeStatusCallback", twilio.Config{AccountSID: sid, AuthToken: token, From: from, StatusCallback: "/v1/webhooks/twilio"}, []string{"TWILIO_STATUS_CALLBACK_URL"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := twilio.New(tc.cfg)
			if err == nil {
				t.Fatal("New succeeded")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if tc.cfg.AuthToken != "" && strings.Contains(err.Error(), tc.cfg.AuthToken) {
				t.Errorf("error leaks the token")
			}
		})
	}
}

func TestFromEnv(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	t.Run("ReadsEveryVariable", func(t *testing.T) {
		cfg, err := twilio.FromEnv(env(map[string]string{
			"TWILIO_ACCOUNT_SID": sid, "TWILIO_AUTH_TOKEN": token, "TWILIO_FROM": from,
			"TWILIO_MESSAGING_SERVICE_SID": "MGx", "TWILIO_BASE_URL": "http://127.0.0.1:9999",
			"TWILIO_STATUS_CALLBACK_URL": "https://auth.example.com/v1/webhooks/twilio",
		}))
		if err != nil {
			t.Fatal(err)
		}
		if cfg.AccountSID != sid || cfg.AuthToken != token || cfg.From != from || cfg.MessagingServiceSID != "MGx" ||
			cfg.BaseURL != "http://127.0.0.1:9999" || cfg.StatusCallback != "https://auth.example.com/v1/webhooks/twilio" || cfg.WhatsAppFrom != "whatsapp:"+from || cfg.Timeout != twilio.DefaultTimeout {
			t.Errorf("cfg = %+v", cfg)
		}
	})
	t.Run("DefaultsBaseURL", func(t *testing.T) {
		cfg, err := twilio.FromEnv(env(map[string]string{"TWILIO_ACCOUNT_SID": sid, "TWILIO_AUTH_TOKEN": token, "TWILIO_MESSAGING_SERVICE_SID": "MGx"}))
		if err != nil {
			t.Fatal(err)
		}
		if cfg.BaseURL != twilio.DefaultBaseURL || cfg.WhatsAppFrom != "" {
			t.Errorf("cfg = %+v", cfg)
		}
	})
	t.Run("MissingVariablesAreNamed", func(t *testing.T) {
		_, err := twilio.FromEnv(env(map[string]string{"TWILIO_AUTH_TOKEN": token}))
		if err == nil || !strings.Contains(err.Error(), "TWILIO_ACCOUNT_SID") || !strings.Contains(err.Error(), "TWILIO_FROM") {
			t.Errorf("err = %v", err)
		}
		if err != nil && strings.Contains(err.Error(), token) {
			t.Errorf("error leaks the token")
		}
	})
}
