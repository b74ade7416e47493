package streambird_test

import (
	"strings"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/internal/auth"
)

// totpSetup creates an email user with a TOTP registration under a fixed
// clock (mid-step) and returns the user id, the create body and the clock.
func (f *fixture) totpSetup() (string, map[string]any, *time.Time) {
	f.t.Helper()
	now := time.Now().UTC().Truncate(30 * time.Second).Add(10 * time.Second)
	f.env.Service.SetClock(func() time.Time { return now })
	userID, _ := f.createEmailUser("totp-" + auth.NewUUID()[:8] + "@example.com")
	b := f.c.do("POST", "/v1/auth/totps/create", `{"user_id":`+q(userID)+`}`).ok(f.t)
	return userID, b, &now
}

func totpAt(t testing.TB, secret string, at time.Time) string {
	t.Helper()
	code, err := auth.TOTPCode(secret, at)
	if err != nil {
		t.Fatal(err)
	}
	return code
}

func TestTOTPCreateThenVerifyWithASession(t *testing.T) {
	f := newFixture(t)
	userID, cr, now := f.totpSetup()
	totpID, secret := str(t, cr, "totp_id"), str(t, cr, "secret")
	if cr["user_id"] != userID || !strings.HasPrefix(str(t, cr, "qr_code"), "data:image/png;base64,") || len(arr(t, cr, "recovery_codes")) != auth.RecoveryCodeCount {
		t.Fatalf("create: %v", cr)
	}
	code := totpAt(t, secret, *now)
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	f.c.do("POST", "/v1/auth/totps/verify", `{"user_id":`+q(userID)+`,"totp":`+q(wrong)+`}`).fail(t, 400, "invalid_totp")

	b := f.c.do("POST", "/v1/auth/totps/verify", `{"user_id":`+q(userID)+`,"totp":`+q(code)+`,"session_expires_in":60}`).ok(t)
	if b["totp_id"] != totpID || b["user_id"] != userID {
		t.Fatalf("verify: %v", b)
	}
	str(t, b, "session_token")
	str(t, b, "session_jwt")
	s := obj(t, b, "session")
	epochSeconds(t, s, "expires_at")
	fs := arr(t, s, "factors")
	if len(fs) != 1 {
		t.Fatalf("factors: %v", fs)
	}
	fc := fs[0].(map[string]any)
	m := obj(t, fc, "method")
	if fc["type"] != "totp" || fc["delivery_channel"] != "totp_authenticator" || m["method_type"] != "totp" || m["totp_id"] != totpID || m["method_id"] != totpID {
		t.Errorf("factor = %v, want Streambird's totp/totp_authenticator with the totp_id", fc)
	}
	u := f.c.do("GET", "/v1/auth/users/"+userID, "").ok(t)
	if ts := arr(t, u, "totps"); len(ts) != 1 || ts[0].(map[string]any)["id"] != totpID || ts[0].(map[string]any)["verified"] != true {
		t.Errorf("user totps = %v, want the verified registration", u["totps"])
	}
	// The same code again is a replay.
	f.c.do("POST", "/v1/auth/totps/verify", `{"user_id":`+q(userID)+`,"totp":`+q(code)+`}`).fail(t, 400, "totp_already_used")
	// A verified registration must be deleted (Stytch route) before another create.
	f.c.do("POST", "/v1/auth/totps/create", `{"user_id":`+q(userID)+`}`).fail(t, 400, "totp_already_exists")
	// Without session_expires_in no session is created.
	b = f.c.do("POST", "/v1/auth/totps/verify", `{"user_id":`+q(userID)+`,"totp":`+q(totpAt(t, secret, now.Add(30*time.Second)))+`}`).ok(t)
	if _, has := b["session"]; has {
		t.Errorf("a session without session_expires_in: %v", b)
	}
}

func TestTOTPRoutesRefuseBadInputAndOtherProjects(t *testing.T) {
	f := newFixture(t)
	userID, cr, now := f.totpSetup()
	code := totpAt(t, str(t, cr, "secret"), *now)
	for _, tc := range []struct {
		name, path, body string
		status           int
		typ              string
	}{
		{"create without user", "/v1/auth/totps/create", `{}`, 400, "invalid_request"},
		{"create for nobody", "/v1/auth/totps/create", `{"user_id":"user-test-00000000-0000-4000-8000-000000000000"}`, 404, "user_not_found"},
		{"verify without totp", "/v1/auth/totps/verify", `{"user_id":` + q(userID) + `}`, 400, "invalid_request"},
		{"verify with letters", "/v1/auth/totps/verify", `{"user_id":` + q(userID) + `,"totp":"12a456"}`, 400, "invalid_request"},
		{"verify with a NUL", "/v1/auth/totps/verify", `{"user_id":` + q(userID) + `,"totp":"12345\u0000"}`, 400, "invalid_request"},
		{"verify with a bad duration", "/v1/auth/totps/verify", `{"user_id":` + q(userID) + `,"totp":"123456","session_expires_in":1}`, 400, "invalid_session_expires_in"},
		{"verify with a user without TOTP", "/v1/auth/totps/verify", `{"user_id":` + q(f.mustEmailUser()) + `,"totp":"123456"}`, 404, "totp_not_found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f.c.do("POST", tc.path, tc.body).fail(t, tc.status, tc.typ)
		})
	}
	other := f.other()
	other.do("POST", "/v1/auth/totps/verify", `{"user_id":`+q(userID)+`,"totp":`+q(code)+`}`).fail(t, 404, "user_not_found")
	other.do("POST", "/v1/auth/totps/create", `{"user_id":`+q(userID)+`}`).fail(t, 404, "user_not_found")
	// Untouched by the other project's attempts.
	f.c.do("POST", "/v1/auth/totps/verify", `{"user_id":`+q(userID)+`,"totp":`+q(code)+`}`).ok(t)
}

func (f *fixture) mustEmailUser() string {
	f.t.Helper()
	id, _ := f.createEmailUser("plain-" + auth.NewUUID()[:8] + "@example.com")
	return id
}
