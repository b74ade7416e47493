package metrics_test

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sesame-auth/sesame/internal/auth"
	"github.com/sesame-auth/sesame/internal/metrics"
)

func TestOTPCountry_BoundsTheCountryLabelToTheAllowList(t *testing.T) {
	r := metrics.New()
	for _, c := range []struct {
		ch           auth.Channel
		phone, stage string
	}{
		{auth.ChannelSMS, "+14155550100", "sent"},
		{auth.ChannelSMS, "+14155550100", "verified"},
		{auth.ChannelWhatsApp, "+33612345678", "sent"},
		{auth.ChannelSMS, "+2302345678", "sent"}, // Mauritius: not on the list
		{auth.ChannelSMS, "+999", "sent"},        // unparsable
		{auth.ChannelEmail, "a@example.com", "sent"},
		{auth.ChannelSMS, "+14155550100", "bogus"}, // unknown stage
	} {
		r.OTPCountry(c.ch, auth.PhoneRegion(c.phone), c.stage)
	}
	rec := httptest.NewRecorder()
	r.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{
		`sesame_otp_country_total{channel="sms",country="US",stage="sent"} 1`,
		`sesame_otp_country_total{channel="sms",country="US",stage="verified"} 1`,
		`sesame_otp_country_total{channel="whatsapp",country="FR",stage="sent"} 1`,
		`sesame_otp_country_total{channel="sms",country="other",stage="sent"} 2`,
		`sesame_otp_country_total{channel="email",country="none",stage="sent"} 1`,
		`sesame_otp_country_total{channel="sms",country="US",stage="other"} 1`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q in:\n%s", want, grepLines(string(body), "sesame_otp_country"))
		}
	}
	if strings.Contains(string(body), `country="MU"`) {
		t.Error("a region off the allow-list got its own label")
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
