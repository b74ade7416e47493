package metrics_test

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sesame-auth/sesame/internal/metrics"
)

func TestRegistry_ExposesPumpingGuardCountersWithBoundedLabels(t *testing.T) {
	r := metrics.New()
	r.PumpingDecision("prefix", "blocked")
	r.PumpingRefused("prefix", "blocked")
	r.PumpingRefused("prefix", "blocked")
	rec := httptest.NewRecorder()
	r.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{
		`sesame_sms_pumping_decisions_total{kind="prefix",state="blocked"} 1`,
		`sesame_sms_pumping_refused_total{kind="prefix",state="blocked"} 2`,
	} {
		if !strings.Contains(string(body), want) {
			t.Fatalf("metrics lack %q", want)
		}
	}
}
