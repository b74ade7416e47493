package stytch_test

import (
	"net/http"
	"testing"

	"github.com/sesame-auth/sesame/internal/authtest"
)

// TestProjectsCannotTouchEachOther uses project B's credentials on project
// A's users, methods and sessions: everything is "not found", and A's data
// is unchanged afterwards.
func TestProjectsCannotTouchEachOther(t *testing.T) {
	f := newFixture(t)
	a := f.c
	b := f.project(t, false)

	email, phone := uniqueEmail("iso"), uniquePhone()
	created := a.ok("POST", "/v1/users", obj{"email": email, "phone_number": phone})
	userID := str(created, "user_id")
	a.ok("POST", "/v1/otps/sms/send", obj{"phone_number": phone})
	login := a.ok("POST", "/v1/otps/authenticate", obj{"method_id": created["phone_id"], "code": f.env.LastCode(phone), "session_duration_minutes": 60})
	sessionID := sub(login, "session")["session_id"]

	for _, tc := range []struct {
		name         string
		method, path string
		body         any
		status       int
		errorType    string
	}{
		{"get user", "GET", "/v1/users/" + userID, nil, 404, "user_not_found"},
		{"update user", "PUT", "/v1/users/" + userID, obj{"name": obj{"first_name": "Mallory"}}, 404, "user_not_found"},
		{"delete user", "DELETE", "/v1/users/" + userID, nil, 404, "user_not_found"},
		{"delete email", "DELETE", "/v1/users/emails/" + str(created, "email_id"), nil, 404, "email_not_found"},
		{"delete phone", "DELETE", "/v1/users/phone_numbers/" + str(created, "phone_id"), nil, 404, "phone_number_not_found"},
		{"send to A's phone", "POST", "/v1/otps/sms/send", obj{"phone_number": phone}, 404, "phone_number_not_found"},
		{"send attaching to A's user", "POST", "/v1/otps/sms/send", obj{"phone_number": uniquePhone(), "user_id": userID}, 404, "user_not_found"},
		{"authenticate A's method", "POST", "/v1/otps/authenticate", obj{"method_id": created["phone_id"], "code": "123456"}, 404, "otp_code_not_found"},
		{"authenticate A's session token", "POST", "/v1/sessions/authenticate", obj{"session_token": login["session_token"]}, 404, "session_not_found"},
		{"authenticate A's session JWT", "POST", "/v1/sessions/authenticate", obj{"session_jwt": login["session_jwt"]}, 401, "unable_to_parse_session_jwt"},
		{"revoke A's session", "POST", "/v1/sessions/revoke", obj{"session_id": sessionID}, 404, "session_not_found"},
		{"revoke A's session token", "POST", "/v1/sessions/revoke", obj{"session_token": login["session_token"]}, 404, "session_not_found"},
		{"embedded link for A's user", "POST", "/v1/magic_links", obj{"user_id": userID}, 404, "user_not_found"},
		{"magic link to A's email", "POST", "/v1/magic_links/email/send", obj{"email": email}, 404, "email_not_found"},
	} {
		t.Run(tc.name, func(t *testing.T) { b.fail(tc.method, tc.path, tc.body, tc.status, tc.errorType) })
	}

	if got := checkArray(t, b.ok("GET", "/v1/sessions?user_id="+userID, nil), "sessions"); len(got) != 0 {
		t.Errorf("B lists A's sessions: %v", got)
	}
	search := b.ok("POST", "/v1/users/search", obj{"query": obj{"operator": "OR", "operands": []obj{
		{"filter_name": "user_id", "filter_value": []string{userID}},
		{"filter_name": "email_address", "filter_value": []string{email}}}}})
	if got := checkArray(t, search, "results"); len(got) != 0 {
		t.Errorf("B finds A's user: %v", got)
	}

	// A is untouched.
	u := a.ok("GET", "/v1/users/"+userID, nil)
	if len(checkArray(t, u, "emails")) != 1 || len(checkArray(t, u, "phone_numbers")) != 1 || sub(u, "name")["first_name"] != "" {
		t.Errorf("A's user changed: %v", u)
	}
	a.ok("POST", "/v1/sessions/authenticate", obj{"session_token": login["session_token"]})
}

// TestTrustProxyTakesTheForwardedAddress checks Options.TrustProxy: the
// session records X-Forwarded-For only when the proxy is trusted.
func TestTrustProxyTakesTheForwardedAddress(t *testing.T) {
	env := authtest.New(t)
	for _, trust := range []bool{false, true} {
		f := &fixture{env: env}
		f.h = stytchHandler(env, trust)
		c := &client{t: t, h: &forwarded{f.h}, id: env.Project.ID, secret: env.Secret}
		login := f.login(t, c, nil)
		ip := sub(sub(login, "session"), "attributes")["ip_address"]
		want := "192.0.2.1" // httptest's RemoteAddr
		if trust {
			want = "203.0.113.9"
		}
		if ip != want {
			t.Errorf("TrustProxy=%v: ip_address = %v, want %s", trust, ip, want)
		}
	}
}

type forwarded struct{ h http.Handler }

func (f *forwarded) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	r.Header.Set("X-Forwarded-For", "203.0.113.9, 10.0.0.1")
	f.h.ServeHTTP(w, r)
}
