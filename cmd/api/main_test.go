package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/internal/auth"
	"github.com/sesame-auth/sesame/internal/pgtest"
)

func TestParseConfig(t *testing.T) {
	base := map[string]string{"DATABASE_URL": "postgres://x@127.0.0.1/db", "SECRET_KEYS": strings.Repeat("ab", 32)}
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		wantErr string
	}{
		{"OKServe", nil, base, ""},
		{"OKMigrateWithoutKeys", []string{"migrate"}, map[string]string{"DATABASE_URL": "postgres://x@h/db"}, ""},
		{"OKDevNeedsNothing", []string{"-dev"}, map[string]string{}, ""},
		{"ErrNoDatabase", nil, map[string]string{"SECRET_KEYS": "x"}, "DATABASE_URL is required"},
		{"ErrNoKeys", nil, map[string]string{"DATABASE_URL": "postgres://x@h/db"}, "SECRET_KEYS is required"},
		{"ErrUnknownCommand", []string{"serve"}, base, "unknown command"},
		{"ErrBadSendLimit", nil, merge(base, "SEND_LIMIT", "lots"), "SEND_LIMIT"},
		{"ErrBadCountry", nil, merge(base, "SMS_ALLOWED_COUNTRIES", "US,USA"), "SMS_ALLOWED_COUNTRIES"},
		{"ErrBadReplicas", nil, merge(base, "NATS_STREAM_REPLICAS", "0"), "NATS_STREAM_REPLICAS"},
		{"ErrBadVerifyLimit", nil, merge(base, "VERIFY_LIMIT", "-1"), "VERIFY_LIMIT must be"},
		{"ErrBadVerifyLimitPerIP", nil, merge(base, "VERIFY_LIMIT_PER_IP", "some"), "VERIFY_LIMIT_PER_IP"},
		{"ErrBadVerifyWindow", nil, merge(base, "VERIFY_WINDOW", "0s"), "VERIFY_WINDOW"},
		{"ErrJWTAlgorithmHS256", nil, merge(base, "JWT_ALGORITHM", "HS256"), "JWT_ALGORITHM must be RS256, ES256 or EdDSA"},
		{"ErrJWTLifetimeNotADuration", nil, merge(base, "JWT_LIFETIME", "300"), "JWT_LIFETIME must be"},
		{"ErrJWTLifetimeOverAnHour", nil, merge(base, "JWT_LIFETIME", "2h"), "JWT_LIFETIME must be"},
		{"ErrJWTLifetimeUnderAMinute", nil, merge(base, "JWT_LIFETIME", "30s"), "JWT_LIFETIME must be"},
		{"ErrOTPExpirationOverTenMinutes", nil, merge(base, "OTP_EXPIRATION", "11m"), "OTP_EXPIRATION must be"},
		{"ErrOTPExpirationNotWholeMinutes", nil, merge(base, "OTP_EXPIRATION", "90s"), "OTP_EXPIRATION must be"},
		{"ErrMagicLinkExpirationUnderFiveMinutes", nil, merge(base, "MAGIC_LINK_EXPIRATION", "4m"), "MAGIC_LINK_EXPIRATION must be"},
		{"ErrMagicLinkExpirationOverAWeek", nil, merge(base, "MAGIC_LINK_EXPIRATION", "169h"), "MAGIC_LINK_EXPIRATION must be"},
		{"ErrBadSendGridWebhookKey", nil, merge(base, "SENDGRID_WEBHOOK_VERIFICATION_KEY", "bm90IGEga2V5"), "SENDGRID_WEBHOOK_VERIFICATION_KEY"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseConfig(tt.args, func(k string) string { return tt.env[k] }, io.Discard)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

// TestServiceConfigDefaults: the environment's verify limits, default
// expirations and JWT settings become the service-wide Config (the defaults of every project
// that sets none), with their documented defaults when unset.
func TestServiceConfigDefaults(t *testing.T) {
	base := map[string]string{"DATABASE_URL": "postgres://x@127.0.0.1/db", "SECRET_KEYS": strings.Repeat("ab", 32)}
	tests := []struct {
		name string
		env  map[string]string
		want auth.Config
	}{
		{"OKDefaults", base, auth.Config{VerifyLimit: 10, VerifyWindow: 10 * time.Minute, IPVerifyLimit: 0,
			OTPExpiration: 2 * time.Minute, JWTAlgorithm: auth.JWTRS256, JWTLifetime: 5 * time.Minute}},
		{"OKExpirations", merge(merge(base, "OTP_EXPIRATION", "5m"), "MAGIC_LINK_EXPIRATION", "30m"), auth.Config{VerifyLimit: 10, VerifyWindow: 10 * time.Minute,
			OTPExpiration: 5 * time.Minute, MagicLinkExpiration: 30 * time.Minute, JWTAlgorithm: auth.JWTRS256, JWTLifetime: 5 * time.Minute}},
		{"OKSet", merge(merge(merge(merge(merge(base, "VERIFY_LIMIT", "20"), "VERIFY_WINDOW", "1h"), "VERIFY_LIMIT_PER_IP", "100"),
			"JWT_ALGORITHM", "es256"), "JWT_LIFETIME", "15m"),
			auth.Config{VerifyLimit: 20, VerifyWindow: time.Hour, IPVerifyLimit: 100, OTPExpiration: 2 * time.Minute, JWTAlgorithm: auth.JWTES256, JWTLifetime: 15 * time.Minute}},
		{"OKVerifyLimitOff", merge(merge(base, "VERIFY_LIMIT", "0"), "JWT_ALGORITHM", "EdDSA"),
			auth.Config{VerifyLimit: -1, VerifyWindow: 10 * time.Minute, OTPExpiration: 2 * time.Minute, JWTAlgorithm: auth.JWTEdDSA, JWTLifetime: 5 * time.Minute}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parseConfig(nil, func(k string) string { return tt.env[k] }, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			got := serviceConfig(c)
			if got.VerifyLimit != tt.want.VerifyLimit || got.VerifyWindow != tt.want.VerifyWindow || got.IPVerifyLimit != tt.want.IPVerifyLimit ||
				got.OTPExpiration != tt.want.OTPExpiration || got.MagicLinkExpiration != tt.want.MagicLinkExpiration ||
				got.JWTAlgorithm != tt.want.JWTAlgorithm || got.JWTLifetime != tt.want.JWTLifetime {
				t.Fatalf("service config %+v, want %+v", got, tt.want)
			}
		})
	}
}

func merge(m map[string]string, k, v string) map[string]string {
	out := map[string]string{k: v}
	for a, b := range m {
		out[a] = b
	}
	return out
}

// syncBuffer is a bytes.Buffer safe for the concurrent writes of the dev
// console and reads of the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// TestRunDev runs `api -dev` as a newcomer would and sends and verifies a
// code read from the console, then stops it.
func TestRunDev_SendAndVerifyFromConsole(t *testing.T) {
	dsn, err := pgtest.NewDatabase(t)
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"DATABASE_URL": dsn, "SESAME_DATA_DIR": t.TempDir(), "LOG_LEVEL": "error", "TWILIO_AUTH_TOKEN": "devtoken0123456789"}
	var stdout syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-dev", "-http-addr", "127.0.0.1:0"}, func(k string) string { return env[k] }, &stdout, io.Discard)
	}()
	var base, secret string
	deadline := time.Now().Add(30 * time.Second)
	for base == "" && time.Now().Before(deadline) {
		if m := regexp.MustCompile(`running at (http://\S+)`).FindStringSubmatch(stdout.String()); m != nil {
			base = m[1]
			secret = regexp.MustCompile(`secret:\s+(\S+)`).FindStringSubmatch(stdout.String())[1]
		}
		time.Sleep(20 * time.Millisecond)
	}
	if base == "" {
		cancel()
		t.Fatalf("dev mode did not start: %v\n%s", <-done, stdout.String())
	}
	post := func(path, body string) map[string]any {
		req, _ := http.NewRequest("POST", base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+secret)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d %v", path, resp.StatusCode, out)
		}
		return out
	}
	sent := post("/v1/auth/otps/sms/login_or_create", `{"phone_number":"+14152222222"}`)
	var code string
	for i := 0; i < 200 && code == ""; i++ {
		if m := regexp.MustCompile(`\b(\d{6}) is your`).FindStringSubmatch(stdout.String()); m != nil {
			code = m[1]
		}
		time.Sleep(25 * time.Millisecond)
	}
	if code == "" {
		t.Fatalf("no code printed by the console provider:\n%s", stdout.String())
	}
	out := post("/v1/auth/otps/verify", `{"method_id":"`+sent["phone_number_id"].(string)+`","otp":"`+code+`","session_expires_in":60}`)
	if out["session_token"] == "" {
		t.Fatalf("verify = %v", out)
	}
	// Webhooks are routed: Twilio's (token set) refuses an unsigned
	// report, SendGrid's (no key) is disabled.
	for path, want := range map[string]int{"/v1/webhooks/twilio": 403, "/v1/webhooks/sendgrid": 404} {
		resp, err := http.Post(base+path, "application/x-www-form-urlencoded", strings.NewReader("MessageSid=SMx&MessageStatus=delivered"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("POST %s = %d, want %d", path, resp.StatusCode, want)
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run returned %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("run did not stop within 20 s")
	}
}
