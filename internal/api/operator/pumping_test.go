package operator_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/internal/api/operator"
	"github.com/sesame-auth/sesame/internal/auth"
	"github.com/sesame-auth/sesame/internal/authtest"
)

// blockedPrefixEnv returns a service whose pumping guard blocked the
// prefix +447400 of its project: 4 unverified sends, the 5th refused.
func blockedPrefixEnv(t *testing.T) *authtest.Env {
	t.Helper()
	env := authtest.New(t, authtest.WithConfig(auth.Config{SendLimit: 1000, Abuse: auth.AbuseConfig{Pumping: auth.PumpingConfig{
		Settle: -1, ThrottleEvery: time.Microsecond,
		Prefix: auth.PumpingThresholds{ThrottleMinSends: 3, ThrottleBelow: 0.5, BlockMinSends: 4, BlockBelow: 0.5},
	}}}))
	var err error
	sent := 0
	for i := 0; err == nil && i < 10; i++ {
		_, err = env.Service.SendOTP(t.Context(), env.Project, auth.SendOTPInput{Channel: auth.ChannelSMS, To: fmt.Sprintf("+44740090%04d", i), LoginOrCreate: true})
		if err == nil {
			sent++
		}
	}
	if auth.ErrorCode(err) != auth.ERateLimited || sent != 4 || auth.RetryAfter(err) < 23*time.Hour {
		t.Fatalf("after %d sends: %v (retry after %v); want the 5th refused for a day", sent, err, auth.RetryAfter(err))
	}
	return env
}

func TestOperatorPumping_ListsABlockedPrefixOfItsProjectAndLiftsIt(t *testing.T) {
	env := blockedPrefixEnv(t)
	_, otherSecret := env.NewProject(t, false)
	srv := httptest.NewServer(operator.NewHandler(env.Service, operator.Options{}))
	defer srv.Close()
	do := func(method, path, secret, body string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if secret != "" {
			req.Header.Set("Authorization", "Bearer "+secret)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
			t.Fatalf("%s %s: not JSON: %v", method, path, err)
		}
		return resp.StatusCode, m
	}
	guards := func(m map[string]any) []any { g, _ := m["guards"].([]any); return g }

	st, m := do("GET", "/v1/pumping", env.Secret, "")
	if st != 200 || len(guards(m)) != 1 {
		t.Fatalf("list: %d %v", st, m)
	}
	g := guards(m)[0].(map[string]any)
	if g["kind"] != "prefix" || g["subject"] != "+447400" || g["state"] != "blocked" || g["region"] != "GB" || g["sent"] != float64(4) || g["verified"] != float64(0) || g["blocked_until"] == nil {
		t.Fatalf("guard = %v", g)
	}
	if st, m := do("GET", "/v1/pumping?all=true", otherSecret, ""); st != 200 || len(guards(m)) != 0 {
		t.Fatalf("another project sees %d %v, want nothing", st, m)
	}
	if st, m := do("GET", "/v1/pumping?all=true", env.Secret, ""); st != 200 || len(guards(m)) != 2 {
		t.Fatalf("all: %d %v, want the prefix and the country", st, m)
	}
	for _, tc := range []struct {
		name, secret, path, body string
		status                   int
		typ                      string
	}{
		{"ErrNoCredentials", "", "/v1/pumping", "", 401, "unauthorized"},
		{"ErrBadLimit", env.Secret, "/v1/pumping?limit=0", "", 400, "invalid"},
		{"ErrBadAll", env.Secret, "/v1/pumping?all=maybe", "", 400, "invalid"},
		{"ErrLiftBadKind", env.Secret, "/v1/pumping/lift", `{"kind":"number","subject":"+447400"}`, 400, "invalid"},
		{"ErrLiftBadSubject", env.Secret, "/v1/pumping/lift", `{"kind":"prefix","subject":"447400"}`, 400, "invalid"},
		{"ErrLiftTrailingData", env.Secret, "/v1/pumping/lift", `{"kind":"prefix","subject":"+447400"}}`, 400, "invalid"},
		{"ErrLiftOtherProject", otherSecret, "/v1/pumping/lift", `{"kind":"prefix","subject":"+447400"}`, 404, "not_found"},
		{"ErrLiftUnknown", env.Secret, "/v1/pumping/lift", `{"kind":"prefix","subject":"+447401"}`, 404, "not_found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			method := "GET"
			if tc.body != "" {
				method = "POST"
			}
			if st, m := do(method, tc.path, tc.secret, tc.body); st != tc.status || m["error_type"] != tc.typ {
				t.Fatalf("%d %v, want %d %s", st, m, tc.status, tc.typ)
			}
		})
	}
	if st, m := do("GET", "/v1/pumping", env.Secret, ""); st != 200 || len(guards(m)) != 1 {
		t.Fatalf("a refused lift changed something: %d %v", st, m)
	}
	st, m = do("POST", "/v1/pumping/lift", env.Secret, `{"kind":"prefix","subject":"+447400"}`)
	if g, _ := m["guard"].(map[string]any); st != 200 || g["state"] != "ok" || g["sent"] != float64(0) || g["lifted_at"] == nil {
		t.Fatalf("lift: %d %v", st, m)
	}
	if st, m := do("GET", "/v1/pumping", env.Secret, ""); st != 200 || len(guards(m)) != 0 {
		t.Fatalf("after the lift: %d %v, want nothing throttled or blocked", st, m)
	}
	if _, err := env.Service.SendOTP(t.Context(), env.Project, auth.SendOTPInput{Channel: auth.ChannelSMS, To: "+447400901234", LoginOrCreate: true}); err != nil {
		t.Fatalf("a send after the lift: %v", err)
	}
}
