package stytch_test

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"testing"
)

// fuzzPost posts body and fails on a 5xx or a non-JSON answer.
func fuzzPost(t *testing.T, f *fixture, path string, body []byte) {
	req := httptest.NewRequest("POST", path, bytes.NewReader(body))
	req.SetBasicAuth(f.c.id, f.c.secret)
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, req)
	if rec.Code >= 500 {
		t.Fatalf("status %d for body %q: %s", rec.Code, body, rec.Body)
	}
	var m map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
		t.Fatalf("non-JSON answer for body %q: %s", body, rec.Body)
	}
	if rec.Code != 200 {
		if _, ok := m["error_type"].(string); !ok || m["error"] != nil {
			t.Fatalf("bad error body for %q: %s", body, rec.Body)
		}
	}
}

// FuzzOTPAuthenticate: no request body makes /v1/otps/authenticate answer 5xx.
func FuzzOTPAuthenticate(f *testing.F) {
	fx := newFixture(f)
	phoneID, _ := fx.sendSMS(f, fx.c, uniquePhone())
	for _, seed := range []string{
		``, `{}`, `null`, `[]`, `{"method_id":"` + phoneID + `","code":"123456"}`,
		`{"method_id":"` + phoneID + `","code":"123456","session_duration_minutes":60,"session_custom_claims":{"a":null}}`,
		`{"method_id":"` + phoneID + `","code":"000000","session_token":"x"}`,
		`{"method_id":"` + phoneID + `","code":"000000","session_jwt":"a.b.c"}`,
		`{"method_id":"` + phoneID + `","code":"12345\u0000"}`,
		`{"method_id":"x","code":1}`, `{"session_duration_minutes":1e300}`, `{"session_duration_minutes":-9223372036854775808}`,
		`{"method_id":"` + phoneID + `","code":"123456","session_duration_minutes":153722867}`,
		`{"options":{"ip_match_required":"yes"}}`, `{"attributes":[]}`, `{"session_custom_claims":[1]}`,
		`{"method_id":"phone-number-test-` + string(bytes.Repeat([]byte("a"), 200)) + `","code":"123456"}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		fuzzPost(t, fx, "/v1/otps/authenticate", body)
	})
}

// FuzzUserSearch: no search query makes /v1/users/search answer 5xx.
func FuzzUserSearch(f *testing.F) {
	fx := newFixture(f)
	for _, seed := range []string{
		`{}`, `{"limit":-1}`, `{"cursor":"garbage"}`, `{"cursor":"` + string(bytes.Repeat([]byte("z"), 300)) + `"}`,
		`{"query":{"operator":"OR","operands":[{"filter_name":"user_id","filter_value":["a"]},{"filter_name":"status","filter_value":"active"}]}}`,
		`{"query":{"operands":[{"filter_name":"created_at_between","filter_value":{"greater_than":"2020-01-01T00:00:00Z"}}]}}`,
		`{"query":{"operands":[{"filter_name":"full_name_fuzzy","filter_value":"%_\\"}]}}`,
		`{"query":{"operands":[{"filter_name":"phone_number","filter_value":["+1","x"]}]}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		fuzzPost(t, fx, "/v1/users/search", body)
	})
}
