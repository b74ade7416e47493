package stytch_test

import (
	"encoding/base64"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/sesame-auth/sesame/internal/api/stytch"
	"github.com/sesame-auth/sesame/internal/auth"
)

func TestBasicAuthFailuresAreUnauthorizedCredentials(t *testing.T) {
	f := newFixture(t)
	other := f.project(t, false)
	b64 := func(s string) string { return "Basic " + base64.StdEncoding.EncodeToString([]byte(s)) }
	cases := []struct {
		name   string
		header string
		id     string
		secret string
	}{
		{name: "no header"},
		{name: "wrong secret", id: f.c.id, secret: "wrong-secret-wrong-secret"},
		{name: "another project's secret", id: f.c.id, secret: other.secret},
		{name: "unknown project", id: "project-test-00000000-0000-0000-0000-000000000000", secret: f.c.secret},
		{name: "empty secret", id: f.c.id},
		{name: "bearer instead of basic", header: "Bearer " + f.c.secret},
		{name: "not base64", header: "Basic %%%"},
		{name: "no colon", header: b64(f.c.id + f.c.secret)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := &client{t: t, h: f.h, id: tc.id, secret: tc.secret, header: tc.header}
			m := c.fail("GET", "/v1/users/user-test-00000000-0000-0000-0000-000000000000", nil, 401, "unauthorized_credentials")
			if m["error_message"] != "Unauthorized credentials." {
				t.Errorf("error_message = %v", m["error_message"])
			}
			c.fail("POST", "/v1/otps/sms/send", obj{"phone_number": "+14155550100"}, 401, "unauthorized_credentials")
		})
	}
}

func TestUnknownRoutesAreJSON404AndWrongMethodsJSON405(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		method, path string
		status       int
		errorType    string
		allow        string
	}{
		{"GET", "/v1/nothing", 404, "not_found", ""},
		{"POST", "/v1/b2b/nope", 404, "not_found", ""},
		{"GET", "/v1/b2b/magic_links/email/login_or_signup", 405, "method_not_allowed", "POST"},
		{"PATCH", "/v1/b2b/organizations/org-1", 405, "method_not_allowed", "DELETE, GET, POST, PUT"},
		{"GET", "/v1/b2b/organizations/o/members/mfa_phone_numbers/m", 405, "method_not_allowed", "DELETE"},
		// DELETE …/members/{x}/{y} serves deleteMFAPhoneNumber and deleteTOTP (totp_routes.go).
		{"GET", "/v1/b2b/organizations/o/members/m/reactivate", 405, "method_not_allowed", "DELETE, PUT"},
		{"POST", "/v1/auth/users/create", 404, "not_found", ""},
		{"DELETE", "/v1/users/totps/totp-test-1/extra", 404, "not_found", ""},
		{"GET", "/v1/otps/sms/send", 405, "method_not_allowed", "POST"},
		{"PATCH", "/v1/users/user-test-1", 405, "method_not_allowed", "DELETE, GET, PUT"},
		{"POST", "/v1/sessions", 405, "method_not_allowed", "GET"},
		{"DELETE", "/v1/sessions/jwks/" + f.c.id, 405, "method_not_allowed", "GET"},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, tc.path, strings.NewReader("{}"))
			req.SetBasicAuth(f.c.id, f.c.secret)
			rec := httptest.NewRecorder()
			f.h.ServeHTTP(rec, req)
			m := decodeRecorder(t, rec)
			checkError(t, rec.Code, m, tc.status, tc.errorType)
			if got := rec.Header().Get("Allow"); got != tc.allow {
				t.Errorf("Allow = %q, want %q", got, tc.allow)
			}
		})
	}
}

func TestJWKSIsPublicAndProjectScoped(t *testing.T) {
	f := newFixture(t)
	anon := &client{t: t, h: f.h}
	m := anon.ok("GET", "/v1/sessions/jwks/"+f.c.id, nil)
	keys := checkArray(t, m, "keys")
	if len(keys) == 0 {
		t.Fatal("JWKS has no keys")
	}
	for _, k := range keys {
		key := k.(obj)
		if key["kty"] != "RSA" || key["alg"] != "RS256" || str(key, "kid") == "" || key["d"] != nil {
			t.Errorf("unexpected JWK %v", key)
		}
	}
	anon.fail("GET", "/v1/sessions/jwks/project-test-00000000-0000-0000-0000-000000000000", nil, 404, "not_found")
	// A project's credentials may fetch another project's (public) keys: the route ignores them.
	f.project(t, false).ok("GET", "/v1/sessions/jwks/"+f.c.id, nil)
}

// TestErrorTableCoversEveryCode parses internal/auth/errors.go so that a
// code added to the domain cannot silently become a 500 here.
func TestErrorTableCoversEveryCode(t *testing.T) {
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, "../../auth/errors.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	ast.Inspect(file, func(node ast.Node) bool {
		vs, ok := node.(*ast.ValueSpec)
		if !ok {
			return true
		}
		if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != "Code" {
			return true
		}
		for i, name := range vs.Names {
			lit, ok := vs.Values[i].(*ast.BasicLit)
			if !ok {
				continue
			}
			v, _ := strconv.Unquote(lit.Value)
			n++
			status, typ, ok := stytch.ErrorSpec(auth.Code(v))
			switch {
			case !ok:
				t.Errorf("%s (%q) is missing from the error table", name.Name, v)
			case typ == "" || status < 400:
				t.Errorf("%s maps to %d %q", name.Name, status, typ)
			case status >= 500 && name.Name != "EInternal" && name.Name != "EUnavailable":
				t.Errorf("%s maps to %d: client mistakes must be 4xx", name.Name, status)
			}
		}
		return true
	})
	if n < 30 {
		t.Fatalf("found only %d codes in errors.go; did the file move?", n)
	}
}

func TestErrorTableUsesStytchNames(t *testing.T) {
	for _, tc := range []struct {
		code   auth.Code
		status int
		typ    string
	}{
		{auth.EOTPWrong, 404, "otp_code_not_found"},
		{auth.EOTPNotFound, 404, "otp_code_not_found"},
		{auth.EOTPExpired, 401, "unable_to_auth_otp_code"},
		{auth.EUnauthorized, 401, "unauthorized_credentials"},
		{auth.ESessionNotFound, 404, "session_not_found"},
		{auth.EUserNotFound, 404, "user_not_found"},
		{auth.EEmailNotFound, 404, "email_not_found"},
		{auth.EPhoneNotFound, 404, "phone_number_not_found"},
		{auth.EDuplicateEmail, 400, "duplicate_email"},
		{auth.EDuplicatePhone, 400, "duplicate_phone_number"},
		{auth.EInvalidPhone, 400, "invalid_phone_number"},
		{auth.EInvalidEmail, 400, "invalid_email"},
		{auth.EInvalidMethodID, 400, "invalid_method_id"},
		{auth.EMagicLinkNotFound, 404, "magic_link_not_found"},
		{auth.EMagicLinkUsed, 401, "unable_to_auth_magic_link"},
		{auth.EPKCEMismatch, 400, "pkce_mismatch"},
		{auth.ETooManySessionArgs, 400, "too_many_session_arguments"},
		{auth.ENoSessionArgs, 400, "no_session_arguments"},
		{auth.EInvalidDuration, 400, "invalid_session_duration_minutes"},
		{auth.EJWTInvalid, 401, "unable_to_parse_session_jwt"},
		{auth.ERateLimited, 429, "too_many_requests"},
		{auth.EInvalid, 400, "bad_request"},
		{auth.EUnavailable, 503, "service_unavailable"},
		{auth.EInternal, 500, "internal_server_error"},
	} {
		status, typ, _ := stytch.ErrorSpec(tc.code)
		if status != tc.status || typ != tc.typ {
			t.Errorf("%s → %d %s, want %d %s", tc.code, status, typ, tc.status, tc.typ)
		}
	}
}

func TestMalformedBodiesAreBadRequest(t *testing.T) {
	f := newFixture(t)
	for _, body := range []string{`{`, `[]`, `"x"`, `{"method_id": 5}`, `{"a":1} {"b":2}`, `{"session_duration_minutes": "60"}`} {
		f.c.fail("POST", "/v1/otps/authenticate", body, 400, "bad_request")
	}
	f.c.fail("POST", "/v1/users", `{"email": ["a@b.co"]}`, 400, "bad_request")
}

func decodeRecorder(t testing.TB, rec *httptest.ResponseRecorder) obj {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type %q: %s", ct, rec.Body)
	}
	var m obj
	if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
		t.Fatalf("not JSON: %s", rec.Body)
	}
	return m
}
