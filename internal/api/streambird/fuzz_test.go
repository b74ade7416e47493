package streambird_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sesame-auth/sesame/internal/api/streambird"
	"github.com/sesame-auth/sesame/internal/authtest"
)

// fuzzBodies seed both fuzz targets: the seed's odd body, valid bodies and
// shapes near the decoder's edges.
var fuzzBodies = []string{
	seedUpdateBody,
	`{"phone_numbers": ["phone_number": "+14152222223", "phone_number": "+14152222224"]}`,
	`{"emails": ["email": "fz@example.com"]}`,
	`{"first_name":"A","middle_name":"B","last_name":"C"}`,
	`{"emails":[{"email":"fz2@example.com"}],"phone_numbers":[{"phone_number":"+14155550199"}]}`,
	``, `{}`, `null`, `[]`, `"x"`, `1`, `{"a":`, `{"emails":[[[[["k":"v"]]]]]}`,
	`{"phone_numbers": ["phone_number": 5]}`, `{"phone_numbers": ["phone_number": ]}`,
	`{"first_name":"\u0000"}`, `{"first_name":"\ud800"}`, `{"emails":[{"email":"a\u0000@example.com"}]}`,
	`{"first_name":` + `"` + strings.Repeat("x", 300) + `"}`,
	`{"phone_numbers":[{"phone_number":"+1` + strings.Repeat("9", 40) + `"}]}`,
	`{"emails":null,"phone_numbers":null,"first_name":null}`,
	`{"emails":[{"email":"` + strings.Repeat("a", 250) + `@example.com"}]}`,
	`["a": "b",]`, `{"x": ["a": ["b": ["c": 1]]]}`, `{"limit":1e400}`, `{"expires_in":-99999999999999999999}`,
}

func FuzzUpdateBody(f *testing.F) {
	env := authtest.New(f)
	h := streambird.NewHandler(env.Service, streambird.Options{})
	c := &client{t: f, h: h, secret: env.Secret}
	b := c.do("POST", "/v1/auth/users/create", `{"phone_number":"+14152222222"}`).ok(f)
	userID := str(f, b, "user_id")
	for _, body := range fuzzBodies {
		f.Add(body, false)
		f.Add(body, true)
	}
	f.Fuzz(func(t *testing.T, body string, put bool) {
		method := "POST"
		if put {
			method = "PUT"
		}
		serveNo5xx(t, h, env.Secret, method, "/v1/auth/users/"+userID+"/update", body)
	})
}

// FuzzRequestBodies sends random bodies to every body-reading route.
func FuzzRequestBodies(f *testing.F) {
	routes := []struct{ method, path string }{
		{"POST", "/v1/auth/users/create"},
		{"POST", "/v1/auth/users/search"},
		{"POST", "/v1/auth/otps/sms/send"},
		{"POST", "/v1/auth/otps/sms/login_or_create"},
		{"POST", "/v1/auth/otps/email/send"},
		{"POST", "/v1/auth/otps/email/login_or_create"},
		{"POST", "/v1/auth/otps/verify"},
		{"POST", "/v1/auth/magic_links/email/login_or_create"},
		{"POST", "/v1/auth/magic_links/invite"},
		{"POST", "/v1/auth/magic_links/create"},
		{"POST", "/v1/auth/magic_links/verify"},
		{"POST", "/v1/auth/sessions/verify"},
		{"DELETE", "/v1/auth/sessions/delete"},
	}
	env := authtest.New(f)
	h := streambird.NewHandler(env.Service, streambird.Options{})
	more := []string{
		`{"phone_number":"+14155550150","expires_in":10,"device_fingerprint":{"ip":"::1","user_agent":"\u0000"}}`,
		`{"email":"fuzz@example.com","login_redirect_url":"https://x.example/\u0000"}`,
		`{"method_id":"phone-number-test-x","otp":"123456","session_expires_in":5,"session_token":"t"}`,
		`{"token":"` + strings.Repeat("t", 600) + `","session_jwt":"a.b.c"}`,
		`{"session_id":"\u0000"}`, `{"session_jwt":"eyJhbGciOiJub25lIn0.e30."}`,
		`{"user_id":"user-test-\u0000","expires_in":5}`,
		`{"filters":{"operator":"OR","fields":[{"field":"user_id","operator":"equals","value":["\u0000"]}]}}`,
		`{"filters":{"fields":[{"field":"email","operator":"equals","value":[]}]},"limit":1000,"cursor":"\u0000"}`,
		`{"filters":{"fields":[{"field":"status","value":["active","pending"]}]},"cursor":"not-a-cursor"}`,
	}
	for i, body := range append(fuzzBodies, more...) {
		f.Add(uint8(i), body)
	}
	f.Fuzz(func(t *testing.T, route uint8, body string) {
		r := routes[int(route)%len(routes)]
		serveNo5xx(t, h, env.Secret, r.method, r.path, body)
	})
}

func serveNo5xx(t *testing.T, h http.Handler, secret, method, path, body string) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+secret)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code >= 500 {
		t.Fatalf("%s %s with body %q: status %d: %s", method, path, body, rec.Code, rec.Body)
	}
	var m map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
		t.Fatalf("%s %s with body %q: response is not a JSON object: %q", method, path, body, rec.Body)
	}
	if rec.Code != 200 {
		if sc, _ := m["status_code"].(float64); int(sc) != rec.Code || m["error_type"] == "" || m["error_message"] == "" {
			t.Fatalf("%s %s with body %q: bad error body %s", method, path, body, rec.Body)
		}
	}
}
