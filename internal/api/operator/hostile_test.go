package operator_test

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sesame-auth/sesame/internal/api/httpx"
	"github.com/sesame-auth/sesame/internal/api/operator"
	"github.com/sesame-auth/sesame/internal/auth"
	"github.com/sesame-auth/sesame/internal/authtest"
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
	type test struct {
		name, path, body string
		status           int
	}
	var tests []test
	for _, b := range authtest.HostileBodies(with) {
		want := b.Status
		if want == 0 {
			want = 400 // the lift reads its body first
		}
		tests = append(tests, test{b.Name, "/v1/pumping/lift", b.Body, want})
	}
	tests = append(tests, test{"oversize body on a route that reads none", "/v1/messages/x/replay", with(strings.Repeat("a", httpx.MaxBodyBytes)), 413})
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
