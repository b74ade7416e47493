package stytch_test

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

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

func TestTOTPLockoutIs429WithRetryAfterUntilTheLockLifts(t *testing.T) {
	f := newFixture(t)
	clk := f.clock()
	userID, _, secret, _ := f.enrolUser(t, f.c)
	good := totpCode(t, secret, clk.now)
	authenticate := func(code string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("POST", "/v1/totps/authenticate", strings.NewReader(`{"user_id":"`+userID+`","totp_code":"`+code+`"}`))
		r.Header.Set("Content-Type", "application/json")
		r.SetBasicAuth(f.c.id, f.c.secret)
		w := httptest.NewRecorder()
		f.h.ServeHTTP(w, r)
		return w
	}
	for i := range 5 { // Config.MaxOTPAttempts defaults to 5
		if w := authenticate(otherCode(good)); w.Code != http.StatusUnauthorized || w.Header().Get("Retry-After") != "" {
			t.Fatalf("wrong code %d: %d, Retry-After %q", i+1, w.Code, w.Header().Get("Retry-After"))
		}
	}
	tests := []struct {
		name  string
		after time.Duration
		want  int
	}{
		{"right after the last wrong code, the whole lockout", 0, int(auth.TOTPLockout / time.Second)},
		{"five minutes later, what is left", 5 * time.Minute, int((auth.TOTPLockout - 5*time.Minute) / time.Second)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk.now = clk.now.Add(tc.after)
			w := authenticate(good)
			if s, err := strconv.Atoi(w.Header().Get("Retry-After")); w.Code != http.StatusTooManyRequests || err != nil || s != tc.want {
				t.Fatalf("%d, Retry-After %q; want 429 and %d", w.Code, w.Header().Get("Retry-After"), tc.want)
			}
		})
	}
}

// TestOTPAuthenticateOverTheVerifyLimitCarriesRetryAfter: past
// VERIFY_LIMIT code checks on one method, even the right code is refused
// with 429 too_many_requests and Retry-After.
func TestOTPAuthenticateOverTheVerifyLimitCarriesRetryAfter(t *testing.T) {
	f := newFixture(t, authtest.WithConfig(auth.Config{SendLimit: 100, VerifyLimit: 2}))
	phoneID, code := f.sendSMS(t, f.c, uniquePhone())
	authenticate := func(code string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("POST", "/v1/otps/authenticate", strings.NewReader(`{"method_id":"`+phoneID+`","code":"`+code+`"}`))
		r.Header.Set("Content-Type", "application/json")
		r.SetBasicAuth(f.c.id, f.c.secret)
		w := httptest.NewRecorder()
		f.h.ServeHTTP(w, r)
		return w
	}
	for i := range 2 {
		if w := authenticate(otherCode(code)); w.Code != http.StatusNotFound || w.Header().Get("Retry-After") != "" {
			t.Fatalf("wrong code %d: %d %s", i+1, w.Code, w.Body)
		}
	}
	w := authenticate(code)
	if s, err := strconv.Atoi(w.Header().Get("Retry-After")); w.Code != http.StatusTooManyRequests || err != nil || s < 299 || s > 600 ||
		!strings.Contains(w.Body.String(), `"too_many_requests"`) {
		t.Fatalf("right code past the limit: %d %s, Retry-After %q; want 429 and 300..600", w.Code, w.Body, w.Header().Get("Retry-After"))
	}
}
