package stytch_test

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/sesame-auth/sesame/internal/auth"
	"github.com/sesame-auth/sesame/internal/authtest"
)

func TestOTPSendOverTheLimitCarriesRetryAfter(t *testing.T) {
	f := newFixture(t, authtest.WithConfig(auth.Config{SendLimit: 2}))
	phone := uniquePhone()
	send := func() *httptest.ResponseRecorder {
		r := httptest.NewRequest("POST", "/v1/otps/sms/login_or_create", strings.NewReader(`{"phone_number":"`+phone+`"}`))
		r.Header.Set("Content-Type", "application/json")
		r.SetBasicAuth(f.c.id, f.c.secret)
		w := httptest.NewRecorder()
		f.h.ServeHTTP(w, r)
		return w
	}
	for i := range 2 {
		if w := send(); w.Code != http.StatusOK || w.Header().Get("Retry-After") != "" {
			t.Fatalf("send %d: %d, Retry-After %q", i+1, w.Code, w.Header().Get("Retry-After"))
		}
	}
	w := send()
	// Two at once, then one per 10 minutes.
	if s, err := strconv.Atoi(w.Header().Get("Retry-After")); w.Code != http.StatusTooManyRequests || err != nil || s < 599 || s > 600 {
		t.Fatalf("third send: %d, Retry-After %q; want 429 and about 600", w.Code, w.Header().Get("Retry-After"))
	}
}
