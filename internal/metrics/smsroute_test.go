package metrics_test

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/internal/metrics"
)

func TestRegistry_SMSRouteCallsFeedRouteAndLegacyProviderSeries(t *testing.T) {
	r := metrics.New()
	r.SMSProviderCall("india", "+91", "ok", 20*time.Millisecond)
	r.SMSProviderCall("twilio", "+91", "twilio 20500", 10*time.Millisecond)
	r.SMSFailover("+91", "twilio", "india")
	r.SMSProviderOpen("twilio", true)
	r.SMSProviderOpen("india", false)
	rec := httptest.NewRecorder()
	r.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{
		`sesame_sms_provider_requests_total{provider="india",result="ok",route="+91"} 1`,
		`sesame_sms_provider_requests_total{provider="twilio",result="twilio 20500",route="+91"} 1`,
		`sesame_sms_provider_request_duration_seconds_count{provider="india",route="+91"} 1`,
		`sesame_sms_provider_failovers_total{from="twilio",route="+91",to="india"} 1`,
		`sesame_sms_provider_open{provider="twilio"} 1`,
		`sesame_sms_provider_open{provider="india"} 0`,
		`sesame_provider_requests_total{provider="india",result="ok"} 1`,
		`sesame_provider_request_duration_seconds_count{provider="twilio"} 1`,
	} {
		if !strings.Contains(string(body), want) {
			t.Fatalf("metrics lack %q", want)
		}
	}
}
