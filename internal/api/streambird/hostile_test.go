package streambird_test

import (
	"strings"
	"testing"

	"github.com/sesame-auth/sesame/internal/authtest"
)

// streambirdRoutes is every route of the Streambird dialect
// (streambird.go), path parameters filled with "x".
var streambirdRoutes = []string{
	"POST /v1/auth/users/create", "GET /v1/auth/users/x", "DELETE /v1/auth/users/x/delete",
	"DELETE /v1/auth/users/emails/x/delete", "DELETE /v1/auth/users/phone_numbers/x/delete", "POST /v1/auth/users/search",
	"POST /v1/auth/otps/sms/send", "POST /v1/auth/otps/sms/login_or_create", "POST /v1/auth/otps/email/send",
	"POST /v1/auth/otps/email/login_or_create", "POST /v1/auth/otps/verify", "POST /v1/auth/totps/create",
	"POST /v1/auth/totps/verify", "POST /v1/auth/magic_links/email/login_or_create", "POST /v1/auth/magic_links/invite",
	"POST /v1/auth/magic_links/create", "POST /v1/auth/magic_links/verify", "POST /v1/auth/sessions/verify",
	"GET /v1/auth/sessions/list", "DELETE /v1/auth/sessions/delete",
}

func plausible(v string) string {
	return `{"email":"` + v + `","phone_number":"+15555550123","user_id":"` + v + `","token":"` + v +
		`","session_token":"` + v + `","code":"` + v + `"}`
}

// TestHostileInputIsRefusedOnEveryStreambirdRoute walks every route with
// each class of hostile input and expects a 4xx JSON error and no message
// published.
func TestHostileInputIsRefusedOnEveryStreambirdRoute(t *testing.T) {
	f := newFixture(t)
	bodies := authtest.HostileBodies(plausible)
	events := len(f.env.Events())
	for _, route := range streambirdRoutes {
		method, path, _ := strings.Cut(route, " ")
		if method != "GET" {
			for _, b := range bodies {
				t.Run(route+"/"+b.Name, func(t *testing.T) {
					if r := f.c.do(method, path, b.Body); r.Status < 400 || r.Status > 499 || (b.Status != 0 && r.Status != b.Status) {
						t.Fatalf("%s with %s: status %d, want %d (0: any 4xx): %s", route, b.Name, r.Status, b.Status, r.Raw)
					}
				})
			}
		}
		for _, bad := range []string{"a%00b", "a%ffb"} {
			t.Run(route+"/url "+bad, func(t *testing.T) {
				p := strings.Replace(path, "/x", "/"+bad, 1)
				if !strings.Contains(p, bad) {
					p = path + "?user_id=" + bad
				}
				if r := f.c.do(method, p, "{}"); r.Status != 400 {
					t.Fatalf("%s %s: status %d, want 400: %s", method, p, r.Status, r.Raw)
				}
			})
		}
	}
	if n := len(f.env.Events()); n != events {
		t.Errorf("hostile requests published %d messages", n-events)
	}
}
