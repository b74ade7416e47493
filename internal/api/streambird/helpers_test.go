package streambird_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/sesame-auth/sesame/internal/api/streambird"
	"github.com/sesame-auth/sesame/internal/auth"
	"github.com/sesame-auth/sesame/internal/authtest"
)

// fixture is one test's service, handler and client for the env's project.
type fixture struct {
	t   testing.TB
	env *authtest.Env
	h   http.Handler
	c   *client // bearer = the env's project secret
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	env := authtest.New(t)
	h := streambird.NewHandler(env.Service, streambird.Options{})
	return &fixture{t: t, env: env, h: h, c: &client{t: t, h: h, secret: env.Secret}}
}

// other returns a client for a second project of the same service.
func (f *fixture) other() *client {
	f.t.Helper()
	_, secret := f.env.NewProject(f.t, false)
	return &client{t: f.t, h: f.h, secret: secret}
}

type client struct {
	t      testing.TB
	h      http.Handler
	secret string
}

type response struct {
	Status int
	Header http.Header
	Raw    string
	Body   map[string]any
}

// do sends one request with the bearer secret ("" sends no Authorization).
func (c *client) do(method, path, body string) *response {
	c.t.Helper()
	return c.doWith(method, path, body, func(r *http.Request) {
		if c.secret != "" {
			r.Header.Set("Authorization", "Bearer "+c.secret)
		}
	})
}

func (c *client) doWith(method, path, body string, edit func(*http.Request)) *response {
	c.t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "streambird-node/test")
	if edit != nil {
		edit(req)
	}
	rec := httptest.NewRecorder()
	c.h.ServeHTTP(rec, req)
	res := &response{Status: rec.Code, Header: rec.Header(), Raw: rec.Body.String()}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		c.t.Fatalf("%s %s: Content-Type %q, want application/json; body %s", method, path, ct, res.Raw)
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &res.Body); err != nil {
		c.t.Fatalf("%s %s: body is not a JSON object: %v: %q", method, path, err, res.Raw)
	}
	return res
}

// ok asserts a 200 and returns the body.
func (r *response) ok(t testing.TB) map[string]any {
	t.Helper()
	if r.Status != http.StatusOK {
		t.Fatalf("status %d, want 200; body %s", r.Status, r.Raw)
	}
	return r.Body
}

// fail asserts a Streambird error body with this status and error_type.
func (r *response) fail(t testing.TB, status int, typ string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d; body %s", r.Status, status, r.Raw)
	}
	if got := r.Body["error_type"]; got != typ {
		t.Fatalf("error_type %v, want %s; body %s", got, typ, r.Raw)
	}
	if sc, _ := r.Body["status_code"].(float64); int(sc) != status {
		t.Fatalf("status_code %v, want %d", r.Body["status_code"], status)
	}
	if msg, _ := r.Body["error_message"].(string); msg == "" {
		t.Fatalf("empty error_message; body %s", r.Raw)
	}
	if len(r.Body) != 3 {
		t.Fatalf("error body has keys beyond status_code, error_type, error_message: %s", r.Raw)
	}
}

// str returns a string field of a JSON object, failing if absent.
func str(t testing.TB, m map[string]any, key string) string {
	t.Helper()
	s, ok := m[key].(string)
	if !ok || s == "" {
		t.Fatalf("%q is %v, want a non-empty string; in %v", key, m[key], m)
	}
	return s
}

func obj(t testing.TB, m map[string]any, key string) map[string]any {
	t.Helper()
	o, ok := m[key].(map[string]any)
	if !ok {
		t.Fatalf("%q is %v, want an object; in %v", key, m[key], m)
	}
	return o
}

func arr(t testing.TB, m map[string]any, key string) []any {
	t.Helper()
	a, ok := m[key].([]any)
	if !ok {
		t.Fatalf("%q is %v, want an array; in %v", key, m[key], m)
	}
	return a
}

// epochSeconds asserts a plausible epoch-seconds integer timestamp.
func epochSeconds(t testing.TB, m map[string]any, key string) int64 {
	t.Helper()
	f, ok := m[key].(float64)
	if !ok || f != float64(int64(f)) || f < 1.6e9 || f > 5e9 {
		t.Fatalf("%q is %v, want epoch seconds", key, m[key])
	}
	return int64(f)
}

// q quotes s as a JSON string.
func q(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

var phoneSeq atomic.Int64

// newPhone returns a fresh valid US number.
func newPhone() string {
	return fmt.Sprintf("+1415555%04d", phoneSeq.Add(1)%10000)
}

// createPhoneUser creates a user with a phone number and returns (user_id, phone_number_id).
func (f *fixture) createPhoneUser(phone string) (string, string) {
	f.t.Helper()
	b := f.c.do("POST", "/v1/auth/users/create", `{"phone_number":`+q(phone)+`}`).ok(f.t)
	return str(f.t, b, "user_id"), str(f.t, b, "phone_number_id")
}

func (f *fixture) createEmailUser(email string) (string, string) {
	f.t.Helper()
	b := f.c.do("POST", "/v1/auth/users/create", `{"email":`+q(email)+`}`).ok(f.t)
	return str(f.t, b, "user_id"), str(f.t, b, "email_id")
}

// sendSMS sends a code to phone and returns (phone_number_id, code).
func (f *fixture) sendSMS(phone string) (string, string) {
	f.t.Helper()
	b := f.c.do("POST", "/v1/auth/otps/sms/send", `{"phone_number":`+q(phone)+`}`).ok(f.t)
	code := f.env.LastCode(phone)
	if code == "" {
		f.t.Fatalf("no code was published to %s", phone)
	}
	return str(f.t, b, "phone_number_id"), code
}

// login creates a phone user and a 60-minute session; it returns the
// verify body (user_id, session_token, session_jwt, session).
func (f *fixture) login(phone string) map[string]any {
	f.t.Helper()
	f.createPhoneUser(phone)
	mid, code := f.sendSMS(phone)
	return f.c.do("POST", "/v1/auth/otps/verify",
		`{"method_id":`+q(mid)+`,"otp":`+q(code)+`,"session_expires_in":60}`).ok(f.t)
}

// wrongCode returns a 6-digit code different from code.
func wrongCode(code string) string {
	if code == "000001" {
		return "000002"
	}
	return "000001"
}

// seedProject makes the seed's literal secret a valid key of a new project.
func (f *fixture) seedProject(secret string) *client {
	f.t.Helper()
	id := "project-test-" + auth.NewUUID()
	if err := f.env.Service.EnsureProject(context.Background(), id, secret); err != nil {
		f.t.Fatal(err)
	}
	return &client{t: f.t, h: f.h, secret: secret}
}
