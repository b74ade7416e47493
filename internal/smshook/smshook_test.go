package smshook_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/internal/auth"
	"github.com/sesame-auth/sesame/internal/fakeprovider"
	"github.com/sesame-auth/sesame/internal/smshook"
)

const secret = "0123456789abcdef0123456789abcdef-gateway"

func sms() *auth.OutboundMessage {
	return &auth.OutboundMessage{MessageID: "msg-1", Channel: auth.ChannelSMS, To: "+919876543210", Text: "Your code is 123456"}
}

func TestSend(t *testing.T) {
	tests := []struct {
		name       string
		secret     string // sender's secret; default the gateway's
		fail       *fakeprovider.Failure
		latency    time.Duration
		timeout    time.Duration
		wantReason string // "" means accepted
		permanent  bool
		wantAfter  time.Duration
	}{
		{name: "OKAcceptedWithGatewayID"},
		{name: "ErrWrongSecretPermanent401", secret: strings.Repeat("x", 40), wantReason: "webhook 401", permanent: true},
		{name: "ErrBadRequestPermanent400", fail: &fakeprovider.Failure{Status: 400}, wantReason: "webhook 400", permanent: true},
		{name: "ErrServerErrorRetryable500", fail: &fakeprovider.Failure{Status: 500}, wantReason: "webhook 500"},
		{name: "ErrThrottledRetryableWithRetryAfter429", fail: &fakeprovider.Failure{Status: 429, Header: http.Header{"Retry-After": {"30"}}},
			wantReason: "webhook 429", wantAfter: 30 * time.Second},
		{name: "ErrUnavailableRetryableWithRetryAfter503", fail: &fakeprovider.Failure{Status: 503, Header: http.Header{"Retry-After": {"5"}}},
			wantReason: "webhook 503", wantAfter: 5 * time.Second},
		{name: "ErrRequestTimeoutRetryable408", fail: &fakeprovider.Failure{Status: 408}, wantReason: "webhook 408"},
		{name: "ErrSlowGatewayTimeoutRetryable", latency: time.Second, timeout: 100 * time.Millisecond, wantReason: "webhook timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gw := fakeprovider.NewWebhook(secret)
			defer gw.Close()
			if tt.fail != nil {
				gw.FailNextWith(1, *tt.fail)
			}
			gw.SetLatency(tt.latency)
			sec := tt.secret
			if sec == "" {
				sec = secret
			}
			s, err := smshook.New(smshook.Config{URL: gw.URL() + "/sms", Secret: sec, Timeout: tt.timeout})
			if err != nil {
				t.Fatal(err)
			}
			id, err := s.Send(t.Context(), sms())
			if tt.wantReason != "" {
				de := auth.AsDeliveryError(err)
				if err == nil || de.Reason != tt.wantReason || de.Permanent != tt.permanent || de.RetryAfter != tt.wantAfter {
					t.Fatalf("err = %v (retry after %v), want %q permanent %v after %v", err, de.RetryAfter, tt.wantReason, tt.permanent, tt.wantAfter)
				}
				if n := len(gw.Messages()); n != 0 {
					t.Fatalf("gateway recorded %d messages", n)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := gw.Messages()
			if len(got) != 1 || got[0].ID != id || !strings.HasPrefix(id, "GW") {
				t.Fatalf("id %q, gateway messages %+v", id, got)
			}
			g := got[0]
			if g.To != "+919876543210" || g.Text != "Your code is 123456" || g.Channel != "sms" || g.MessageID != "msg-1" || g.IdempotencyKey != "msg-1" {
				t.Fatalf("gateway got %+v", g)
			}
		})
	}
}

func TestSendUnsupportedChannelPermanent(t *testing.T) {
	s, err := smshook.New(smshook.Config{URL: "https://gw.example.com/sms", Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	m := sms()
	m.Channel = auth.ChannelEmail
	_, err = s.Send(context.Background(), m)
	if de := auth.AsDeliveryError(err); err == nil || !de.Permanent {
		t.Fatalf("err = %v", err)
	}
}

func TestVerify(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	body := []byte(`{"to":"+15551234567"}`)
	ts := "1800000000"
	good := smshook.Sign([]byte(secret), ts, body)
	tests := []struct {
		name    string
		ts, sig string
		body    []byte
		wantErr bool
	}{
		{"OKSigned", ts, good, body, false},
		{"ErrBodyChanged", ts, good, []byte(`{"to":"+15550000000"}`), true},
		{"ErrTimestampChanged", "1800000001", good, body, true},
		{"ErrStaleTimestamp", "1799999000", smshook.Sign([]byte(secret), "1799999000", body), body, true},
		{"ErrNotANumber", "soon", good, body, true},
		{"ErrOtherSecret", ts, smshook.Sign([]byte("another secret of at least 32 bytes!"), ts, body), body, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := smshook.Verify([]byte(secret), tt.ts, tt.sig, tt.body, now, 5*time.Minute)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

func TestFromEnv(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		wantErr string
	}{
		{"OKHTTPS", map[string]string{"SMS_WEBHOOK_URL": "https://gw.example.com/sms", "SMS_WEBHOOK_SECRET": secret}, ""},
		{"OKLoopbackHTTP", map[string]string{"SMS_WEBHOOK_URL": "http://127.0.0.1:9000/sms", "SMS_WEBHOOK_SECRET": secret, "SMS_WEBHOOK_TIMEOUT": "2s"}, ""},
		{"ErrMissing", map[string]string{}, "SMS_WEBHOOK_URL"},
		{"ErrPlainHTTPOverNetwork", map[string]string{"SMS_WEBHOOK_URL": "http://gw.example.com/sms", "SMS_WEBHOOK_SECRET": secret}, "https"},
		{"ErrShortSecret", map[string]string{"SMS_WEBHOOK_URL": "https://gw.example.com/sms", "SMS_WEBHOOK_SECRET": "short"}, "SMS_WEBHOOK_SECRET"},
		{"ErrBadTimeout", map[string]string{"SMS_WEBHOOK_URL": "https://gw.example.com/sms", "SMS_WEBHOOK_SECRET": secret, "SMS_WEBHOOK_TIMEOUT": "-1s"}, "SMS_WEBHOOK_TIMEOUT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := smshook.FromEnv(func(k string) string { return tt.env[k] })
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want it to mention %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), secret) {
				t.Fatal("error leaks the secret")
			}
		})
	}
}
