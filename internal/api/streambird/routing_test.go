package streambird_test

import (
	"bytes"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sesame-auth/sesame/internal/api/streambird"
	"github.com/sesame-auth/sesame/internal/auth"
)

func TestAuthenticationRejectsMissingOrWrongBearer(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tests := []struct {
		name string
		auth string // Authorization header; "" sends none
		path string
	}{
		{"missing header", "", "/v1/auth/users/create"},
		{"wrong secret", "Bearer sk_test_wrong_secret_0123456789", "/v1/auth/users/create"},
		{"empty bearer", "Bearer ", "/v1/auth/users/create"},
		{"basic scheme", "Basic cHJvamVjdDpzZWNyZXQ=", "/v1/auth/users/create"},
		{"secret without scheme", f.env.Secret, "/v1/auth/users/create"},
		{"overlong secret", "Bearer " + strings.Repeat("x", 600), "/v1/auth/users/create"},
		{"api_key query only works on jwks", "", "/v1/auth/users/create?api_key=" + f.env.Secret},
		{"wrong api_key on jwks", "", "/v1/auth/jwks/default?api_key=nope-nope-nope-nope"},
		{"missing on jwks", "", "/v1/auth/jwks/default"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			method := "POST"
			if strings.Contains(tc.path, "jwks") {
				method = "GET"
			}
			res := f.c.doWith(method, tc.path, `{"phone_number":"+14155550100"}`, func(r *http.Request) {
				if tc.auth != "" {
					r.Header.Set("Authorization", tc.auth)
				}
			})
			res.fail(t, http.StatusUnauthorized, "unauthorized")
		})
	}
}

func TestBearerSchemeIsCaseInsensitive(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.c.doWith("POST", "/v1/auth/users/create", `{"phone_number":"+14155550101"}`, func(r *http.Request) {
		r.Header.Set("Authorization", "bearer "+f.env.Secret)
	}).ok(t)
}

func TestUnknownRoutesAndWrongMethodsGetJSONErrors(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tests := []struct {
		name, method, path string
		status             int
		typ, allow         string
	}{
		{"unknown route", "POST", "/v1/auth/nope", 404, "route_not_found", ""},
		{"unknown nested route", "GET", "/v1/auth/otps/sms/nope", 404, "route_not_found", ""},
		{"trailing slash", "POST", "/v1/auth/users/create/", 404, "route_not_found", ""},
		{"double slash is not redirected", "POST", "/v1/auth//users/create", 404, "route_not_found", ""},
		{"dot segment is not redirected", "POST", "/v1/auth/otps/../users/create", 404, "route_not_found", ""},
		{"unknown route without auth", "GET", "/v1/auth/x/y/z", 404, "route_not_found", ""},
		{"GET on a POST route", "GET", "/v1/auth/otps/verify", 405, "method_not_allowed", "POST"},
		{"POST on a GET route", "POST", "/v1/auth/sessions/list", 405, "method_not_allowed", "GET, HEAD"},
		{"GET on update", "GET", "/v1/auth/users/u/update", 405, "method_not_allowed", "POST, PUT"},
		{"POST on delete", "POST", "/v1/auth/sessions/delete", 405, "method_not_allowed", "DELETE"},
		{"GET on users/create", "GET", "/v1/auth/users/create", 405, "method_not_allowed", "POST"},
		{"GET on users/search", "GET", "/v1/auth/users/search", 405, "method_not_allowed", "POST"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := f.c.do(tc.method, tc.path, "")
			res.fail(t, tc.status, tc.typ)
			if tc.allow != "" && res.Header.Get("Allow") != tc.allow {
				t.Fatalf("Allow %q, want %q", res.Header.Get("Allow"), tc.allow)
			}
		})
	}
}

func TestMalformedURLsAreRejectedNot500(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for _, path := range []string{
		"/v1/auth/users/user%00x",
		"/v1/auth/users/%ff%fe",
		"/v1/auth/sessions/list?user_id=%00",
		"/v1/auth/sessions/list?user_id=%ff",
	} {
		t.Run(path, func(t *testing.T) {
			f.c.do("GET", path, "").fail(t, 400, "invalid_request")
		})
	}
}

func TestErrorTableMapsEveryDomainCode(t *testing.T) {
	t.Parallel()
	// Every code the domain defines has its own row; only internal
	// failures and outages are 5xx.
	codes := []auth.Code{
		auth.EInternal, auth.EInvalid, auth.EUnauthorized, auth.ERateLimited, auth.EUnavailable, auth.EConflict, auth.ENotFound,
		auth.EUserNotFound, auth.EEmailNotFound, auth.EPhoneNotFound, auth.ESessionNotFound, auth.EDuplicateEmail, auth.EDuplicatePhone,
		auth.EInvalidPhone, auth.EInvalidEmail, auth.EInvalidUserID, auth.EInvalidMethodID, auth.EInvalidDuration, auth.EInvalidExpiration,
		auth.EInvalidClaims, auth.EOTPWrong, auth.EOTPExpired, auth.EOTPNotFound, auth.EMagicLinkNotFound, auth.EMagicLinkUsed,
		auth.EPKCEMismatch, auth.EInviteNotFound, auth.ETooManySessionArgs, auth.ENoSessionArgs, auth.EJWTInvalid, auth.EIPMismatch,
		auth.EUserAgentMismatch, auth.EUserMismatch,
	}
	for _, code := range codes {
		t.Run(string(code), func(t *testing.T) {
			status, typ, msg, listed := streambird.ErrorFor(&auth.Error{Code: code, Message: "service message"})
			if !listed || typ == "" || msg == "" {
				t.Fatalf("code %s: listed=%v type=%q message=%q", code, listed, typ, msg)
			}
			if status >= 500 && code != auth.EInternal && code != auth.EUnavailable {
				t.Fatalf("client error %s maps to %d", code, status)
			}
		})
	}
	t.Run("exact rows", func(t *testing.T) {
		want := map[auth.Code][3]any{
			auth.EOTPWrong:          {400, "invalid_otp", "Invalid OTP Code."},
			auth.EOTPExpired:        {400, "otp_expired", ""},
			auth.EUserNotFound:      {404, "user_not_found", ""},
			auth.EEmailNotFound:     {404, "email_not_found", ""},
			auth.EPhoneNotFound:     {404, "phone_number_not_found", ""},
			auth.ESessionNotFound:   {404, "session_not_found", ""},
			auth.EInvalidMethodID:   {400, "invalid_method_id", ""},
			auth.EDuplicateEmail:    {400, "duplicate_email", ""},
			auth.EDuplicatePhone:    {400, "duplicate_phone_number", ""},
			auth.EInvalidPhone:      {400, "invalid_phone_number", "service message"},
			auth.EInvalidEmail:      {400, "invalid_email", "service message"},
			auth.EInvalid:           {400, "invalid_request", "service message"},
			auth.ERateLimited:       {429, "too_many_requests", ""},
			auth.EUnavailable:       {503, "service_unavailable", ""},
			auth.EInternal:          {500, "internal_server_error", ""},
			auth.EMagicLinkNotFound: {400, "invalid_magic_token", "Invalid magic link format, magic link missing or invalid."},
		}
		for code, w := range want {
			status, typ, msg, _ := streambird.ErrorFor(&auth.Error{Code: code, Message: "service message"})
			if status != w[0] || typ != w[1] || (w[2] != "" && msg != w[2]) {
				t.Errorf("%s → %d %s %q, want %v", code, status, typ, msg, w)
			}
		}
	})
	t.Run("non-domain error is internal", func(t *testing.T) {
		status, typ, msg, _ := streambird.ErrorFor(errors.New("pq: connection refused to 10.0.0.1"))
		if status != 500 || typ != "internal_server_error" || strings.Contains(msg, "10.0.0.1") {
			t.Fatalf("got %d %s %q", status, typ, msg)
		}
	})
}

func TestInternalErrorsAreLoggedWithoutTheRequestBody(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	var logs bytes.Buffer
	h := streambird.NewHandler(f.env.Service, streambird.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	serve := func(body string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("POST", "/v1/auth/users/create", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+f.env.Secret)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	if rec := serve(`{"phone_number":"+14155550198"}`); rec.Code != 200 { // caches the project
		t.Fatalf("warm-up: %d %s", rec.Code, rec.Body)
	}
	f.env.Store.Close() // every store call now fails
	rec := serve(`{"phone_number":"+14155550199","first_name":"SECRET-BODY-MARKER"}`)
	if rec.Code < 500 {
		t.Fatalf("status %d with a closed store, want 5xx; body %s", rec.Code, rec.Body)
	}
	if strings.Contains(rec.Body.String(), "SECRET-BODY-MARKER") {
		t.Fatal("response echoes the request body")
	}
	if logs.Len() == 0 {
		t.Fatal("5xx was not logged")
	}
	if strings.Contains(logs.String(), "SECRET-BODY-MARKER") || strings.Contains(logs.String(), f.env.Secret) {
		t.Fatalf("log holds the request body or secret: %s", logs.String())
	}
}
