package stytch_test

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sesame-auth/sesame/internal/authtest"
)

// stytchRoutes is every route of the Stytch dialect (handler.go,
// b2b_routes.go, totp_routes.go), path parameters filled with "x".
var stytchRoutes = []string{
	"POST /v1/users", "POST /v1/users/search", "GET /v1/users/x", "PUT /v1/users/x", "DELETE /v1/users/x",
	"DELETE /v1/users/emails/x", "DELETE /v1/users/phone_numbers/x",
	"POST /v1/otps/sms/send", "POST /v1/otps/sms/login_or_create", "POST /v1/otps/whatsapp/send",
	"POST /v1/otps/whatsapp/login_or_create", "POST /v1/otps/email/send", "POST /v1/otps/email/login_or_create",
	"POST /v1/otps/authenticate",
	"POST /v1/magic_links", "POST /v1/magic_links/email/send", "POST /v1/magic_links/email/login_or_create",
	"POST /v1/magic_links/email/invite", "POST /v1/magic_links/email/revoke_invite", "POST /v1/magic_links/authenticate",
	"GET /v1/sessions", "POST /v1/sessions/authenticate", "POST /v1/sessions/revoke",
	"POST /v1/totps", "POST /v1/totps/authenticate", "POST /v1/totps/recovery_codes", "POST /v1/totps/recover",
	"DELETE /v1/users/totps/x",
	"POST /v1/b2b/organizations", "POST /v1/b2b/organizations/search", "GET /v1/b2b/organizations/x",
	"PUT /v1/b2b/organizations/x", "DELETE /v1/b2b/organizations/x", "GET /v1/b2b/organizations/x/metrics",
	"POST /v1/b2b/organizations/x/members", "GET /v1/b2b/organizations/x/member",
	"PUT /v1/b2b/organizations/x/members/x", "DELETE /v1/b2b/organizations/x/members/x",
	"PUT /v1/b2b/organizations/x/members/x/reactivate", "POST /v1/b2b/organizations/members/search",
	"GET /v1/b2b/organizations/members/dangerously_get/x",
	"POST /v1/b2b/magic_links/email/login_or_signup", "POST /v1/b2b/magic_links/email/invite",
	"POST /v1/b2b/magic_links/authenticate", "POST /v1/b2b/magic_links/email/discovery/send",
	"POST /v1/b2b/magic_links/discovery/authenticate",
	"POST /v1/b2b/otps/sms/send", "POST /v1/b2b/otps/sms/authenticate", "POST /v1/b2b/otps/email/login_or_signup",
	"POST /v1/b2b/otps/email/authenticate",
	"GET /v1/b2b/sessions", "POST /v1/b2b/sessions/authenticate", "POST /v1/b2b/sessions/revoke", "POST /v1/b2b/sessions/exchange",
	"POST /v1/b2b/discovery/organizations", "POST /v1/b2b/discovery/organizations/create",
	"POST /v1/b2b/discovery/intermediate_sessions/exchange",
	"POST /v1/b2b/totp", "POST /v1/b2b/totp/authenticate", "POST /v1/b2b/totp/migrate", "POST /v1/b2b/recovery_codes/recover",
	"GET /v1/b2b/recovery_codes/x/x", "POST /v1/b2b/recovery_codes/rotate",
	"DELETE /v1/b2b/organizations/x/members/x/x",
}

// plausible is a body whose fields many routes read, so a hostile value in
// it reaches the field checks of most routes.
func plausible(v string) string {
	return `{"email":"` + v + `","email_address":"` + v + `","phone_number":"+15555550123","organization_id":"` + v +
		`","session_token":"` + v + `","token":"` + v + `","user_id":"` + v + `","name":"` + v + `"}`
}

// TestHostileInputIsRefusedOnEveryStytchRoute walks every route with each
// class of hostile input and expects a 4xx JSON error body and nothing
// written (no message published, no user or organization created).
func TestHostileInputIsRefusedOnEveryStytchRoute(t *testing.T) {
	f := newFixture(t)
	bodies := authtest.HostileBodies(plausible)
	users := func() any { return sub(f.c.ok("POST", "/v1/users/search", obj{}), "results_metadata")["total"] }
	orgs := func() any {
		return sub(f.c.ok("POST", "/v1/b2b/organizations/search", obj{}), "results_metadata")["total"]
	}
	events, u0, o0 := len(f.env.Events()), users(), orgs()
	for _, route := range stytchRoutes {
		method, path, _ := strings.Cut(route, " ")
		for _, b := range bodies {
			if method == http.MethodGet {
				continue // bodies of GETs are not read; their URLs are walked below
			}
			t.Run(route+"/"+b.Name, func(t *testing.T) {
				status, _ := f.c.do(method, path, b.Body) // fails unless the answer is a JSON object
				if status < 400 || status > 499 || (b.Status != 0 && status != b.Status) {
					t.Fatalf("%s with %s: status %d, want %d (0: any 4xx)", route, b.Name, status, b.Status)
				}
			})
		}
		for _, bad := range []string{"a%00b", "a%ffb"} {
			t.Run(route+"/path "+bad, func(t *testing.T) {
				p := strings.Replace(path, "/x", "/"+bad, 1)
				if !strings.Contains(p, bad) {
					p = path + "?user_id=" + bad
				}
				status, _ := f.c.do(method, p, nil)
				if status != 400 {
					t.Fatalf("%s %s: status %d, want 400", method, p, status)
				}
			})
		}
	}
	if n := len(f.env.Events()); n != events {
		t.Errorf("hostile requests published %d messages", n-events)
	}
	if u, o := users(), orgs(); u != u0 || o != o0 {
		t.Errorf("hostile requests wrote users %v -> %v, organizations %v -> %v", u0, u, o0, o)
	}
}

// TestHostileIdentifiersAreRefusedInTheCore sends the identifier classes
// the core refuses through the routes that take them.
func TestHostileIdentifiersAreRefusedInTheCore(t *testing.T) {
	f := newFixture(t)
	org := flowOrg(t, f.c, nil)
	orgID := str(org, "organization_id")
	events := len(f.env.Events())
	tests := []struct {
		name, path string
		body       obj
		field      string
	}{
		{"invisible character in an email", "/v1/magic_links/email/login_or_create", obj{"email": "ada\u200b@example.com"}, "email"},
		{"RTL override in an email", "/v1/otps/email/login_or_create", obj{"email": "\u202eada@example.com"}, "email"},
		{"mixed-script email domain", "/v1/magic_links/email/login_or_create", obj{"email": "ada@pаypal.com"}, "email"},
		{"mixed-script B2B email", "/v1/b2b/magic_links/email/login_or_signup", obj{"organization_id": orgID, "email_address": "аda@example.com"}, "email"},
		{"whole-script lookalike email domain", "/v1/magic_links/email/login_or_create", obj{"email": "ada@раураӏ.com"}, "email"},
		{"malformed locale", "/v1/magic_links/email/login_or_create", obj{"email": uniqueEmail("loc"), "locale": "not a locale"}, "locale"},
		{"malformed B2B locale", "/v1/b2b/magic_links/email/discovery/send", obj{"email_address": uniqueEmail("loc"), "locale": "<script>"}, "locale"},
		{"malformed OTP locale", "/v1/otps/sms/login_or_create", obj{"phone_number": uniquePhone(), "locale": "e"}, "locale"},
		{"bad code_challenge", "/v1/magic_links/email/login_or_create", obj{"email": uniqueEmail("pkce"), "code_challenge": "short!"}, "code_challenge"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, m := f.c.do("POST", tt.path, tt.body)
			if status != 400 || !strings.Contains(strings.ToLower(str(m, "error_message")+str(m, "error_type")), strings.Split(tt.field, "_")[0]) {
				t.Fatalf("%s: %d %v, want 400 naming %s", tt.path, status, m, tt.field)
			}
		})
	}
	if n := len(f.env.Events()); n != events {
		t.Errorf("refused identifiers published %d messages", n-events)
	}
}

// TestBadURLsAreRefusedBeforeAnyRoute checks the Stytch router refuses
// NUL and invalid UTF-8 in paths and queries, in JSON, before any handler
// runs (a NUL in a path parameter never reaches Postgres).
func TestBadURLsAreRefusedBeforeAnyRoute(t *testing.T) {
	f := newFixture(t)
	for _, target := range []string{"/v1/sessions?user_id=a%00", "/v1/users/a%00b", "/v1/b2b/organizations/a%ffb"} {
		req := httptest.NewRequest("GET", target, nil)
		req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(f.c.id+":"+f.c.secret)))
		w := httptest.NewRecorder()
		f.h.ServeHTTP(w, req)
		if w.Code != 400 || w.Header().Get("Content-Type") != "application/json" || !bytes.Contains(w.Body.Bytes(), []byte("UTF-8")) {
			t.Fatalf("GET %s: %d %s", target, w.Code, w.Body)
		}
	}
}

// TestSessionAuthenticateRefusesAnIPAddressThatIsNotOne checks
// attributes.ip_address on POST /v1/sessions/authenticate as on every
// other authenticate call: a 400 naming it, and the session untouched.
func TestSessionAuthenticateRefusesAnIPAddressThatIsNotOne(t *testing.T) {
	f := newFixture(t)
	login := f.login(t, f.c, nil)
	token := str(login, "session_token")
	expires := sub(login, "session")["expires_at"]
	tests := []struct {
		name   string
		ip     string
		status int
	}{
		{"an out-of-range IPv4 address", "999.1.1.1", 400},
		{"a host name", "example.com", 400},
		{"an IPv6 address with a zone", "fe80::1%eth0", 400},
		{"a NUL", "10.0.0.1\x00", 400},
		{"an IPv6 address", "2001:db8::1", 200},
		{"an IPv4 address", "203.0.113.9", 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, m := f.c.do("POST", "/v1/sessions/authenticate", obj{"session_token": token, "session_duration_minutes": 600,
				"attributes": obj{"ip_address": tt.ip}})
			if status != tt.status {
				t.Fatalf("status %d %v, want %d", status, m, tt.status)
			}
			if status == 400 {
				if !strings.Contains(str(m, "error_message"), "ip_address") {
					t.Fatalf("the error does not name ip_address: %v", m)
				}
				got := sub(f.c.ok("POST", "/v1/sessions/authenticate", obj{"session_token": token}), "session")["expires_at"]
				if got != expires {
					t.Fatalf("a refused request extended the session: expires_at %v -> %v", expires, got)
				}
			}
		})
	}
}
