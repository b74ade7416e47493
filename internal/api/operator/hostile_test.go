package operator_test

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sesame-auth/sesame/internal/api/httpx"
	"github.com/sesame-auth/sesame/internal/api/operator"
	"github.com/sesame-auth/sesame/internal/auth"
)

// TestOperatorHostileBodiesAreRefusedAndLiftNothing sends lift requests
// that would lift the blocked prefix but for one hostile part, and a
// replay with an oversize body: each is a 4xx JSON error and the prefix
// stays blocked.
func TestOperatorHostileBodiesAreRefusedAndLiftNothing(t *testing.T) {
	env := blockedPrefixEnv(t)
	h := operator.NewHandler(env.Service, operator.Options{})
	const valid = `"kind":"prefix","subject":"+447400"`
	with := func(v string) string { return `{` + valid + `,"x":"` + v + `"}` }
	tests := []struct {
		name, path, body string
		status           int
	}{
		{"trailing data", "/v1/pumping/lift", `{` + valid + `}} junk`, 400},
		{"second JSON value", "/v1/pumping/lift", `{` + valid + `}{"kind":"country"}`, 400},
		{"NUL escape", "/v1/pumping/lift", with(`a\u0000b`), 400},
		{"invalid UTF-8", "/v1/pumping/lift", with("a\xffb"), 400},
		{"lone surrogate", "/v1/pumping/lift", with(`a\ud800b`), 400},
		{"oversize string", "/v1/pumping/lift", with(strings.Repeat("a", httpx.MaxStringBytes+1)), 400},
		{"oversize body", "/v1/pumping/lift", with(strings.Repeat("a", httpx.MaxBodyBytes)), 413},
		{"not JSON", "/v1/pumping/lift", `kind=prefix&subject=%2B447400`, 400},
		{"oversize body on a route that reads none", "/v1/messages/x/replay", with(strings.Repeat("a", httpx.MaxBodyBytes)), 413},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", tt.path, strings.NewReader(tt.body))
			r.Header.Set("Authorization", "Bearer "+env.Secret)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			var body map[string]any
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || w.Code != tt.status || body["status_code"] != float64(tt.status) {
				t.Fatalf("= %d %.200s (%v), want %d in JSON", w.Code, w.Body, err, tt.status)
			}
		})
	}
	list, err := env.Service.ListSMSGuards(t.Context(), env.Project, auth.GuardFilter{})
	if err != nil || len(list) != 1 || list[0].State != auth.GuardBlocked {
		t.Fatalf("guards after hostile lifts: %+v, %v; want the prefix still blocked", list, err)
	}
}
