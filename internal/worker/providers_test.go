package worker_test

import (
	"io"
	"strings"
	"testing"

	"github.com/sesame-auth/sesame/internal/smsroute"
	"github.com/sesame-auth/sesame/internal/worker"
)

var twilioEnv = map[string]string{"TWILIO_ACCOUNT_SID": "ACtest", "TWILIO_AUTH_TOKEN": "token", "TWILIO_FROM": "+15005550006"}

func env(extra ...map[string]string) func(string) string {
	m := map[string]string{}
	for _, e := range extra {
		for k, v := range e {
			m[k] = v
		}
	}
	return func(k string) string { return m[k] }
}

func TestSMSSender(t *testing.T) {
	second := map[string]string{"INDIA_TWILIO_ACCOUNT_SID": "ACindia", "INDIA_TWILIO_AUTH_TOKEN": "token2", "INDIA_TWILIO_MESSAGING_SERVICE_SID": "MGindia",
		"GW_SMS_WEBHOOK_URL": "https://gw.example.com/sms", "GW_SMS_WEBHOOK_SECRET": strings.Repeat("s", 32)}
	tests := []struct {
		name      string
		getenv    func(string) string
		wantNames string
		wantErr   string
	}{
		{"OKDefaultConsole", env(), "console", ""},
		{"OKSingleTwilio", env(twilioEnv, map[string]string{"SMS_PROVIDER": "twilio"}), "twilio", ""},
		{"OKListWithPrefixedAccountsAndRoutes", env(twilioEnv, second, map[string]string{"SMS_PROVIDERS": "twilio, india:twilio, gw:webhook",
			"SMS_ROUTES": "+91=india,twilio;+234=india,gw", "SMS_FAILOVER_AFTER": "5", "SMS_FAILOVER_COOLDOWN": "30s"}), "twilio,india,gw", ""},
		{"ErrBothListAndSingle", env(twilioEnv, map[string]string{"SMS_PROVIDERS": "twilio", "SMS_PROVIDER": "twilio"}), "", "not both"},
		{"ErrUnknownKind", env(map[string]string{"SMS_PROVIDERS": "x:carrier"}), "", "kind must be"},
		{"ErrPrefixedVariablesMissing", env(twilioEnv, map[string]string{"SMS_PROVIDERS": "twilio,india:twilio"}), "", `"india"`},
		{"ErrRouteNamesUnknownProvider", env(twilioEnv, map[string]string{"SMS_PROVIDER": "twilio", "SMS_ROUTES": "+91=india"}), "", "unknown provider"},
		{"ErrBadFailoverAfter", env(map[string]string{"SMS_FAILOVER_AFTER": "0"}), "", "SMS_FAILOVER_AFTER"},
		{"ErrBadCoolDown", env(map[string]string{"SMS_FAILOVER_COOLDOWN": "1"}), "", "SMS_FAILOVER_COOLDOWN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, names, err := worker.SMSSender(tt.getenv, io.Discard)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to mention %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			r, ok := s.(*smsroute.Router)
			if !ok || names != tt.wantNames || strings.Join(r.Names(), ",") != tt.wantNames {
				t.Fatalf("sender %T names %q, want a router over %q", s, names, tt.wantNames)
			}
		})
	}
}

func TestEmailSender(t *testing.T) {
	tests := []struct {
		name, provider string
		env            map[string]string
		wantErr        bool
	}{
		{"OKSMTP", "smtp", map[string]string{"EMAIL_PROVIDER": "smtp", "SMTP_HOST": "127.0.0.1", "SMTP_TLS": "none", "EMAIL_FROM": "a@example.com"}, false},
		{"OKConsoleDefault", "console", map[string]string{}, false},
		{"ErrSMTPWithoutHost", "", map[string]string{"EMAIL_PROVIDER": "smtp", "EMAIL_FROM": "a@example.com"}, true},
		{"ErrUnknown", "", map[string]string{"EMAIL_PROVIDER": "ses"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, name, err := worker.EmailSender(env(tt.env), io.Discard)
			if (err != nil) != tt.wantErr || name != tt.provider {
				t.Fatalf("name %q err %v", name, err)
			}
		})
	}
}
