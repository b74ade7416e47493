package health_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/sesame-auth/sesame/internal/health"
)

func TestReadyz(t *testing.T) {
	ok := func(context.Context) error { return nil }
	down := func(context.Context) error { return errors.New("down") }
	tests := []struct {
		name     string
		required map[string]health.Check
		optional map[string]health.Check
		want     int
		check    string
		result   string
	}{
		{"OKAllUp", map[string]health.Check{"postgres": ok}, map[string]health.Check{"nats": ok}, 200, "nats", "ok"},
		{"OKOptionalDownIsDegraded", map[string]health.Check{"postgres": ok}, map[string]health.Check{"nats": down}, 200, "nats", "degraded: down"},
		{"ErrRequiredDown", map[string]health.Check{"postgres": down}, nil, 503, "postgres", "down"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mux := http.NewServeMux()
			health.Register(mux, tt.required, tt.optional)
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
			var body struct {
				Checks map[string]string `json:"checks"`
			}
			_ = json.Unmarshal(rec.Body.Bytes(), &body)
			if rec.Code != tt.want || body.Checks[tt.check] != tt.result {
				t.Fatalf("status %d body %s", rec.Code, rec.Body)
			}
			rec = httptest.NewRecorder()
			mux.ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
			if rec.Code != 200 {
				t.Fatalf("healthz = %d", rec.Code)
			}
		})
	}
}
