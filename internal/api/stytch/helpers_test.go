package stytch_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/internal/api/stytch"
	"github.com/sesame-auth/sesame/internal/auth"
	"github.com/sesame-auth/sesame/internal/authtest"
)

// obj is a decoded JSON object.
type obj = map[string]any

// client calls the handler as one project, like the SDK does.
type client struct {
	t      testing.TB
	h      http.Handler
	id     string
	secret string
	// header, when set, replaces the Authorization header.
	header string
	ua     string
}

type fixture struct {
	env *authtest.Env
	h   http.Handler
	c   *client // the env's test project
}

func newFixture(t testing.TB, opts ...authtest.Option) *fixture {
	t.Helper()
	env := authtest.New(t, opts...)
	h := stytchHandler(env, false)
	return &fixture{env: env, h: h, c: &client{t: t, h: h, id: env.Project.ID, secret: env.Secret}}
}

func stytchHandler(env *authtest.Env, trustProxy bool) http.Handler {
	return stytch.NewHandler(env.Service, stytch.Options{TrustProxy: trustProxy})
}

// project returns a client for a new project.
func (f *fixture) project(t testing.TB, live bool) *client {
	p, secret := f.env.NewProject(t, live)
	return &client{t: t, h: f.h, id: p.ID, secret: secret}
}

// do sends a request; body nil sends no body (GET) and DELETE sends {} as
// the SDK does. It returns the status and the decoded JSON object, and
// fails the test if the body is not a JSON object.
func (c *client) do(method, path string, body any) (int, obj) {
	c.t.Helper()
	var rd *bytes.Reader
	switch b := body.(type) {
	case nil:
		if method == http.MethodDelete {
			rd = bytes.NewReader([]byte("{}"))
		} else {
			rd = bytes.NewReader(nil)
		}
	case string:
		rd = bytes.NewReader([]byte(b))
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req := httptest.NewRequest(method, path, rd)
	req.Header.Set("Content-Type", "application/json")
	ua := c.ua
	if ua == "" {
		ua = "Stytch Node v14.2.0"
	}
	req.Header.Set("User-Agent", ua)
	switch {
	case c.header != "":
		req.Header.Set("Authorization", c.header)
	case c.id != "" || c.secret != "":
		req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(c.id+":"+c.secret)))
	}
	rec := httptest.NewRecorder()
	c.h.ServeHTTP(rec, req)
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		c.t.Fatalf("%s %s: Content-Type %q, want application/json (body %s)", method, path, ct, rec.Body)
	}
	var m obj
	if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
		c.t.Fatalf("%s %s: body is not a JSON object: %v: %s", method, path, err, rec.Body)
	}
	return rec.Code, m
}

// ok sends a request that must succeed and returns its body.
func (c *client) ok(method, path string, body any) obj {
	c.t.Helper()
	status, m := c.do(method, path, body)
	if status != http.StatusOK {
		c.t.Fatalf("%s %s: status %d, want 200: %v", method, path, status, m)
	}
	checkMeta(c.t, m, 200)
	return m
}

// fail sends a request that must fail with status and error_type.
func (c *client) fail(method, path string, body any, status int, errorType string) obj {
	c.t.Helper()
	got, m := c.do(method, path, body)
	checkError(c.t, got, m, status, errorType)
	return m
}

func checkMeta(t testing.TB, m obj, status int) {
	t.Helper()
	if sc, _ := m["status_code"].(float64); int(sc) != status {
		t.Errorf("status_code = %v, want %d", m["status_code"], status)
	}
	if rid, _ := m["request_id"].(string); !strings.HasPrefix(rid, "request-id-") {
		t.Errorf("request_id = %v, want request-id-…", m["request_id"])
	}
}

// checkError checks a Stytch error body: status in the body equal to the
// HTTP status, error_type, a message, the error_url and no "error" key.
func checkError(t testing.TB, status int, m obj, wantStatus int, wantType string) {
	t.Helper()
	if status != wantStatus || m["error_type"] != wantType {
		t.Fatalf("got %d %v, want %d %s: %v", status, m["error_type"], wantStatus, wantType, m)
	}
	checkMeta(t, m, wantStatus)
	if msg, _ := m["error_message"].(string); msg == "" {
		t.Errorf("error_message is empty: %v", m)
	}
	wantURL := "https://stytch.com/docs/api/errors/" + itoa(wantStatus) + "#" + wantType
	if m["error_url"] != wantURL {
		t.Errorf("error_url = %v, want %s", m["error_url"], wantURL)
	}
	if _, has := m["error"]; has {
		t.Errorf("error body has an \"error\" key: %v", m)
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// checkTime checks that v is an RFC 3339 UTC timestamp.
func checkTime(t testing.TB, field string, v any) time.Time {
	t.Helper()
	s, _ := v.(string)
	ts, err := time.Parse(time.RFC3339, s)
	if err != nil || !strings.HasSuffix(s, "Z") {
		t.Errorf("%s = %v, want an RFC 3339 UTC timestamp", field, v)
	}
	return ts
}

// checkArray checks that m[key] is a JSON array (never null) and returns it.
func checkArray(t testing.TB, m obj, key string) []any {
	t.Helper()
	a, ok := m[key].([]any)
	if !ok {
		t.Errorf("%s = %#v, want an array", key, m[key])
	}
	return a
}

// checkUser checks the User object shape of §B.3.
func checkUser(t testing.TB, u obj) {
	t.Helper()
	for _, k := range []string{"emails", "phone_numbers", "webauthn_registrations", "providers", "totps", "crypto_wallets", "biometric_registrations", "roles"} {
		checkArray(t, u, k)
	}
	if id, _ := u["user_id"].(string); !strings.HasPrefix(id, "user-") {
		t.Errorf("user_id = %v", u["user_id"])
	}
	if s := u["status"]; s != "active" && s != "pending" {
		t.Errorf("status = %v", s)
	}
	if roles, _ := u["roles"].([]any); len(roles) != 1 || roles[0] != "stytch_user" {
		t.Errorf("roles = %v, want [stytch_user]", u["roles"])
	}
	if _, ok := u["is_locked"].(bool); !ok {
		t.Errorf("is_locked = %v, want a boolean", u["is_locked"])
	}
	if _, ok := u["name"].(obj); !ok {
		t.Errorf("name = %v, want an object", u["name"])
	}
	for _, k := range []string{"trusted_metadata", "untrusted_metadata"} {
		if _, ok := u[k].(obj); !ok {
			t.Errorf("%s = %v, want an object", k, u[k])
		}
	}
	checkTime(t, "created_at", u["created_at"])
}

// checkSession checks the Session object shape of §B.7.
func checkSession(t testing.TB, s obj) {
	t.Helper()
	if id, _ := s["session_id"].(string); !strings.HasPrefix(id, "session-") {
		t.Errorf("session_id = %v", s["session_id"])
	}
	checkArray(t, s, "authentication_factors")
	if roles, _ := s["roles"].([]any); len(roles) != 1 || roles[0] != "stytch_user" {
		t.Errorf("roles = %v, want [stytch_user]", s["roles"])
	}
	for _, k := range []string{"started_at", "last_accessed_at", "expires_at"} {
		checkTime(t, k, s[k])
	}
	if _, ok := s["custom_claims"].(obj); !ok {
		t.Errorf("custom_claims = %v, want an object", s["custom_claims"])
	}
	if _, ok := s["attributes"].(obj); !ok {
		t.Errorf("attributes = %v, want an object", s["attributes"])
	}
}

// str returns m[key] as a string.
func str(m obj, key string) string { s, _ := m[key].(string); return s }

// sub returns m[key] as an object.
func sub(m obj, key string) obj { o, _ := m[key].(obj); return o }

// factors returns the session's authentication factors.
func factors(s obj) []obj {
	var out []obj
	for _, f := range checkArrayQuiet(s, "authentication_factors") {
		if o, ok := f.(obj); ok {
			out = append(out, o)
		}
	}
	return out
}

func checkArrayQuiet(m obj, key string) []any { a, _ := m[key].([]any); return a }

// uniquePhone returns a distinct valid US number per call.
var phoneSeq atomic.Int64

func init() { phoneSeq.Store(time.Now().UnixNano() % 5000) }

func uniquePhone() string {
	return "+1415555" + pad4(phoneSeq.Add(1)%10000)
}

func pad4(n int64) string {
	s := itoa(int(n))
	return strings.Repeat("0", 4-len(s)) + s
}

// uniqueEmail returns a distinct email address per call.
func uniqueEmail(tag string) string { return tag + "-" + auth.NewUUID()[:8] + "@example.com" }

// sendSMS starts an SMS login for phone and returns the phone id and the code.
func (f *fixture) sendSMS(t testing.TB, c *client, phone string) (phoneID, code string) {
	t.Helper()
	m := c.ok("POST", "/v1/otps/sms/login_or_create", obj{"phone_number": phone})
	code = f.env.LastCode(phone)
	if code == "" {
		t.Fatalf("no code was sent to %s", phone)
	}
	return str(m, "phone_id"), code
}

// login authenticates a fresh SMS user and returns the authenticate body.
func (f *fixture) login(t testing.TB, c *client, extra obj) obj {
	t.Helper()
	phoneID, code := f.sendSMS(t, c, uniquePhone())
	body := obj{"method_id": phoneID, "code": code, "session_duration_minutes": 60}
	for k, v := range extra {
		body[k] = v
	}
	return c.ok("POST", "/v1/otps/authenticate", body)
}
