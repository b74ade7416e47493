package stytch_test

import (
	"bytes"
	"encoding/base64"
	"image/png"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/sesame-auth/sesame/internal/auth"
)

// totpCode is the code of a base32 secret at t, as an authenticator app
// computes it (RFC 6238: SHA-1, 6 digits, 30-second steps).
func totpCode(t testing.TB, secret string, at time.Time) string {
	t.Helper()
	code, err := totp.GenerateCodeCustom(secret, at, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// otherCode returns a 6-digit code that differs from code.
func otherCode(code string) string {
	if code == "000000" {
		return "111111"
	}
	return "000000"
}

// clock is a settable clock for the service, starting mid-step so that
// codes computed at its time never straddle a step boundary.
type clock struct{ now time.Time }

func (c *clock) Now() time.Time          { return c.now }
func (c *clock) advance(d time.Duration) { c.now = c.now.Add(d) }

func (f *fixture) clock() *clock {
	c := &clock{now: time.Now().UTC().Truncate(30 * time.Second).Add(10 * time.Second)}
	f.env.Service.SetClock(c.Now)
	return c
}

var recoveryCodeRE = regexp.MustCompile(`^[a-z0-9]{4}-[a-z0-9]{4}$`)

// checkEnrolment checks the secret, QR code and recovery codes of a create
// answer and returns the secret and the codes.
func checkEnrolment(t testing.TB, m obj) (string, []string) {
	t.Helper()
	secret := str(m, "secret")
	if !regexp.MustCompile(`^[A-Z2-7]{16,}$`).MatchString(secret) {
		t.Errorf("secret = %q, want unpadded base32", secret)
	}
	qr := str(m, "qr_code")
	b64, ok := strings.CutPrefix(qr, "data:image/png;base64,")
	if !ok {
		t.Fatalf("qr_code = %.40q…, want a PNG data URL", qr)
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatalf("qr_code base64: %v", err)
	}
	if _, err := png.Decode(bytes.NewReader(raw)); err != nil {
		t.Fatalf("qr_code is not a PNG: %v", err)
	}
	var codes []string
	seen := map[string]bool{}
	for _, c := range checkArray(t, m, "recovery_codes") {
		s, _ := c.(string)
		if !recoveryCodeRE.MatchString(s) || seen[s] {
			t.Errorf("recovery code %q is malformed or repeated", s)
		}
		seen[s] = true
		codes = append(codes, s)
	}
	if len(codes) != auth.RecoveryCodeCount {
		t.Errorf("%d recovery codes, want %d", len(codes), auth.RecoveryCodeCount)
	}
	return secret, codes
}

// userTOTPs returns the user object's totps as id → verified.
func userTOTPs(t testing.TB, u obj) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for _, x := range checkArray(t, u, "totps") {
		o, _ := x.(obj)
		out[str(o, "totp_id")], _ = o["verified"].(bool)
	}
	return out
}

// enrolUser creates a user with a TOTP registration and returns the user
// id, the TOTP id, the secret and the recovery codes.
func (f *fixture) enrolUser(t testing.TB, c *client) (userID, totpID, secret string, codes []string) {
	t.Helper()
	userID = str(c.ok("POST", "/v1/users", obj{"email": uniqueEmail("totp")}), "user_id")
	m := c.ok("POST", "/v1/totps", obj{"user_id": userID})
	secret, codes = checkEnrolment(t, m)
	return userID, str(m, "totp_id"), secret, codes
}

func TestTOTPCreateThenAuthenticateVerifiesAndStartsASession(t *testing.T) {
	f := newFixture(t)
	clk := f.clock()
	c := f.c
	userID := str(c.ok("POST", "/v1/users", obj{"email": uniqueEmail("totp")}), "user_id")

	m := c.ok("POST", "/v1/totps", obj{"user_id": userID, "expiration_minutes": 5})
	secret, _ := checkEnrolment(t, m)
	totpID := str(m, "totp_id")
	if !strings.HasPrefix(totpID, "totp-test-") || m["user_id"] != userID {
		t.Fatalf("create: totp_id %q user_id %v", totpID, m["user_id"])
	}
	checkUser(t, sub(m, "user"))
	if got := userTOTPs(t, sub(m, "user")); len(got) != 1 || got[totpID] {
		t.Errorf("user.totps after create = %v, want {%s: false}", got, totpID)
	}

	a := c.ok("POST", "/v1/totps/authenticate", obj{
		"user_id": userID, "totp_code": totpCode(t, secret, clk.now),
		"session_duration_minutes": 60, "session_custom_claims": obj{"k": "v"},
	})
	if a["totp_id"] != totpID || a["user_id"] != userID || str(a, "session_token") == "" || str(a, "session_jwt") == "" {
		t.Fatalf("authenticate: %v", a)
	}
	s := sub(a, "session")
	checkSession(t, s)
	fs := factors(s)
	if len(fs) != 1 || fs[0]["type"] != "totp" || fs[0]["delivery_method"] != "authenticator_app" ||
		sub(fs[0], "authenticator_app_factor")["totp_id"] != totpID {
		t.Errorf("factors = %v, want one totp/authenticator_app with the totp_id", fs)
	}
	if sub(s, "custom_claims")["k"] != "v" {
		t.Errorf("custom_claims = %v", s["custom_claims"])
	}
	if got := userTOTPs(t, sub(a, "user")); !got[totpID] {
		t.Errorf("user.totps after authenticate = %v, want verified", got)
	}
	if got := userTOTPs(t, c.ok("GET", "/v1/users/"+userID, nil)); !got[totpID] {
		t.Errorf("users.get totps = %v, want verified", got)
	}

	// Without session_duration_minutes no session starts; session_token
	// extends the session with the factor again.
	clk.advance(30 * time.Second)
	none := c.ok("POST", "/v1/totps/authenticate", obj{"user_id": userID, "totp_code": totpCode(t, secret, clk.now)})
	if str(none, "session_token") != "" || none["session"] != nil {
		t.Errorf("no duration: session_token %q session %v", none["session_token"], none["session"])
	}
	clk.advance(30 * time.Second)
	ext := c.ok("POST", "/v1/totps/authenticate", obj{"user_id": userID, "totp_code": totpCode(t, secret, clk.now), "session_token": a["session_token"]})
	if sub(ext, "session")["session_id"] != s["session_id"] {
		t.Errorf("session_token did not extend the session: %v", ext["session"])
	}
}

func TestTOTPCodesOutsideTheWindowOrReplayedAreRefused(t *testing.T) {
	f := newFixture(t)
	clk := f.clock()
	c := f.c
	userID, _, secret, _ := f.enrolUser(t, c)
	auth := func(at time.Time) (int, obj) {
		return c.do("POST", "/v1/totps/authenticate", obj{"user_id": userID, "totp_code": totpCode(t, secret, at)})
	}

	// Two steps back or ahead is outside ±1 step.
	for _, d := range []time.Duration{-60 * time.Second, 60 * time.Second} {
		st, m := auth(clk.now.Add(d))
		checkError(t, st, m, 401, "unable_to_authenticate_totp")
	}
	// One step back is inside; the same code again is a replay, and so is
	// any code of a step not newer than the last one accepted.
	if st, m := auth(clk.now.Add(-30 * time.Second)); st != 200 {
		t.Fatalf("previous step: %d %v", st, m)
	}
	st, m := auth(clk.now.Add(-30 * time.Second))
	checkError(t, st, m, 401, "totp_code_already_authenticated")
	if st, m := auth(clk.now); st != 200 {
		t.Fatalf("current step after the previous one: %d %v", st, m)
	}
	st, m = auth(clk.now)
	checkError(t, st, m, 401, "totp_code_already_authenticated")
	// One step ahead is inside the window and newer.
	if st, m := auth(clk.now.Add(30 * time.Second)); st != 200 {
		t.Fatalf("next step: %d %v", st, m)
	}
}

func TestTOTPWrongCodesLockTheRegistrationUntilTheLockoutEnds(t *testing.T) {
	f := newFixture(t)
	clk := f.clock()
	c := f.c
	userID, _, secret, codes := f.enrolUser(t, c)
	good := totpCode(t, secret, clk.now)
	for i := 0; i < 5; i++ { // Config.MaxOTPAttempts defaults to 5
		c.fail("POST", "/v1/totps/authenticate", obj{"user_id": userID, "totp_code": otherCode(good)}, 401, "unable_to_authenticate_totp")
	}
	// Locked: even the right code is refused.
	c.fail("POST", "/v1/totps/authenticate", obj{"user_id": userID, "totp_code": good}, 429, "too_many_requests")
	// A recovery code still works (and is the way out).
	c.ok("POST", "/v1/totps/recover", obj{"user_id": userID, "recovery_code": codes[0]})
	clk.advance(30 * time.Second)
	c.ok("POST", "/v1/totps/authenticate", obj{"user_id": userID, "totp_code": totpCode(t, secret, clk.now)})
}

func TestTOTPLockoutEndsAfterTheLockoutPeriod(t *testing.T) {
	f := newFixture(t)
	clk := f.clock()
	c := f.c
	userID, _, secret, _ := f.enrolUser(t, c)
	for i := 0; i < 5; i++ {
		c.fail("POST", "/v1/totps/authenticate", obj{"user_id": userID, "totp_code": otherCode(totpCode(t, secret, clk.now))}, 401, "unable_to_authenticate_totp")
	}
	c.fail("POST", "/v1/totps/authenticate", obj{"user_id": userID, "totp_code": totpCode(t, secret, clk.now)}, 429, "too_many_requests")
	clk.advance(auth.TOTPLockout + time.Minute)
	c.ok("POST", "/v1/totps/authenticate", obj{"user_id": userID, "totp_code": totpCode(t, secret, clk.now)})
}

func TestTOTPRecoveryCodesWorkOnceAndAreListedUntilUsed(t *testing.T) {
	f := newFixture(t)
	clk := f.clock()
	c := f.c
	userID, totpID, secret, codes := f.enrolUser(t, c)
	c.ok("POST", "/v1/totps/authenticate", obj{"user_id": userID, "totp_code": totpCode(t, secret, clk.now)})

	login := f.login(t, c, nil) // another user's session: must not be extendable
	a := c.ok("POST", "/v1/totps/recover", obj{"user_id": userID, "recovery_code": codes[0], "session_duration_minutes": 30})
	if a["totp_id"] != totpID || a["user_id"] != userID || str(a, "session_token") == "" {
		t.Fatalf("recover: %v", a)
	}
	fs := factors(sub(a, "session"))
	if len(fs) != 1 || fs[0]["type"] != "recovery_codes" || fs[0]["delivery_method"] != "recovery_code" ||
		!strings.HasPrefix(str(sub(fs[0], "recovery_code_factor"), "totp_recovery_code_id"), "totp-recovery-code-test-") {
		t.Errorf("factors = %v, want one recovery_codes/recovery_code", fs)
	}
	c.fail("POST", "/v1/totps/recover", obj{"user_id": userID, "recovery_code": codes[0]}, 401, "unable_to_authenticate_recovery_code")
	c.fail("POST", "/v1/totps/recover", obj{"user_id": userID, "recovery_code": "zzzz-zzzz"}, 401, "unable_to_authenticate_recovery_code")
	c.fail("POST", "/v1/totps/recover", obj{"user_id": userID, "recovery_code": codes[1], "session_token": login["session_token"]}, 400, "bad_request")

	list := c.ok("POST", "/v1/totps/recovery_codes", obj{"user_id": userID})
	totps := checkArray(t, list, "totps")
	if list["user_id"] != userID || len(totps) != 1 {
		t.Fatalf("recovery_codes: %v", list)
	}
	one, _ := totps[0].(obj)
	left := checkArray(t, one, "recovery_codes")
	if one["totp_id"] != totpID || one["verified"] != true || len(left) != len(codes)-1 {
		t.Errorf("recovery_codes entry = %v, want %d unused codes", one, len(codes)-1)
	}
	for _, x := range left {
		if x == codes[0] {
			t.Errorf("the used code %s is still listed", codes[0])
		}
	}
}

func TestTOTPDeleteRemovesTheRegistrationAndItsCodes(t *testing.T) {
	f := newFixture(t)
	clk := f.clock()
	c := f.c
	userID, totpID, secret, codes := f.enrolUser(t, c)
	d := c.ok("DELETE", "/v1/users/totps/"+totpID, nil)
	if d["user_id"] != userID || len(userTOTPs(t, sub(d, "user"))) != 0 {
		t.Fatalf("delete: %v", d)
	}
	c.fail("DELETE", "/v1/users/totps/"+totpID, nil, 404, "totp_not_found")
	c.fail("POST", "/v1/totps/authenticate", obj{"user_id": userID, "totp_code": totpCode(t, secret, clk.now)}, 404, "totp_not_found")
	c.fail("POST", "/v1/totps/recover", obj{"user_id": userID, "recovery_code": codes[0]}, 404, "totp_not_found")
	if l := c.ok("POST", "/v1/totps/recovery_codes", obj{"user_id": userID}); len(checkArray(t, l, "totps")) != 0 {
		t.Errorf("recovery_codes after delete: %v", l)
	}
}

func TestTOTPCreateReplacesAnUnverifiedRegistrationButNotAVerifiedOne(t *testing.T) {
	f := newFixture(t)
	clk := f.clock()
	c := f.c
	userID, first, _, _ := f.enrolUser(t, c)
	m := c.ok("POST", "/v1/totps", obj{"user_id": userID})
	second := str(m, "totp_id")
	secret, _ := checkEnrolment(t, m)
	if got := userTOTPs(t, sub(m, "user")); len(got) != 1 || second == first {
		t.Fatalf("second create: totps %v (first %s)", got, first)
	}
	c.ok("POST", "/v1/totps/authenticate", obj{"user_id": userID, "totp_code": totpCode(t, secret, clk.now)})
	c.fail("POST", "/v1/totps", obj{"user_id": userID}, 400, "active_totp_exists")
}

func TestTOTPUnverifiedRegistrationExpires(t *testing.T) {
	f := newFixture(t)
	clk := f.clock()
	c := f.c
	userID := str(c.ok("POST", "/v1/users", obj{"email": uniqueEmail("totp")}), "user_id")
	secret, _ := checkEnrolment(t, c.ok("POST", "/v1/totps", obj{"user_id": userID, "expiration_minutes": 5}))
	clk.advance(6 * time.Minute)
	c.fail("POST", "/v1/totps/authenticate", obj{"user_id": userID, "totp_code": totpCode(t, secret, clk.now)}, 404, "totp_not_found")
}

func TestTOTPSearchFiltersMatchRealRegistrations(t *testing.T) {
	f := newFixture(t)
	clk := f.clock()
	c := f.c
	verifiedUser, verifiedTOTP, secret, _ := f.enrolUser(t, c)
	c.ok("POST", "/v1/totps/authenticate", obj{"user_id": verifiedUser, "totp_code": totpCode(t, secret, clk.now)})
	pendingUser, pendingTOTP, _, _ := f.enrolUser(t, c)
	plainUser := str(c.ok("POST", "/v1/users", obj{"email": uniqueEmail("plain")}), "user_id")

	search := func(operands ...obj) []string {
		m := c.ok("POST", "/v1/users/search", obj{"limit": 100, "query": obj{"operator": "AND", "operands": operands}})
		var ids []string
		for _, r := range checkArray(t, m, "results") {
			ids = append(ids, str(r.(obj), "user_id"))
		}
		return ids
	}
	in := func(ids []string, id string) bool {
		for _, x := range ids {
			if x == id {
				return true
			}
		}
		return false
	}
	for _, tc := range []struct {
		name     string
		operands []obj
		want     map[string]bool // user → expected presence
	}{
		{"totp_id verified", []obj{{"filter_name": "totp_id", "filter_value": []string{verifiedTOTP}}},
			map[string]bool{verifiedUser: true, pendingUser: false, plainUser: false}},
		{"totp_id both", []obj{{"filter_name": "totp_id", "filter_value": []string{verifiedTOTP, pendingTOTP}}},
			map[string]bool{verifiedUser: true, pendingUser: true, plainUser: false}},
		{"totp_verified true", []obj{{"filter_name": "totp_verified", "filter_value": true}},
			map[string]bool{verifiedUser: true, pendingUser: false, plainUser: false}},
		{"totp_verified false", []obj{{"filter_name": "totp_verified", "filter_value": false}},
			map[string]bool{verifiedUser: false, pendingUser: true, plainUser: false}}, // like email_verified
	} {
		t.Run(tc.name, func(t *testing.T) {
			ids := search(tc.operands...)
			for id, want := range tc.want {
				if in(ids, id) != want {
					t.Errorf("user %s in results = %v, want %v (results %v)", id, !want, want, ids)
				}
			}
		})
	}
	c.fail("POST", "/v1/users/search", obj{"query": obj{"operator": "AND", "operands": []obj{{"filter_name": "totp_id", "filter_value": "x"}}}}, 400, "invalid_search_filter")
}

func TestTOTPOfOneProjectIsUnusableFromAnother(t *testing.T) {
	f := newFixture(t)
	clk := f.clock()
	userID, totpID, secret, codes := f.enrolUser(t, f.c)
	other := f.project(t, false)
	other.fail("POST", "/v1/totps/authenticate", obj{"user_id": userID, "totp_code": totpCode(t, secret, clk.now)}, 404, "user_not_found")
	other.fail("POST", "/v1/totps/recover", obj{"user_id": userID, "recovery_code": codes[0]}, 404, "user_not_found")
	other.fail("POST", "/v1/totps/recovery_codes", obj{"user_id": userID}, 404, "user_not_found")
	other.fail("POST", "/v1/totps", obj{"user_id": userID}, 404, "user_not_found")
	other.fail("DELETE", "/v1/users/totps/"+totpID, nil, 404, "totp_not_found")
	// Still intact for its own project.
	f.c.ok("POST", "/v1/totps/authenticate", obj{"user_id": userID, "totp_code": totpCode(t, secret, clk.now)})
}

func TestTOTPBadInputIsAClear400(t *testing.T) {
	f := newFixture(t)
	c := f.c
	userID := str(c.ok("POST", "/v1/users", obj{"email": uniqueEmail("totp")}), "user_id")
	long := strings.Repeat("9", 200)
	for _, tc := range []struct {
		name, path string
		body       any
		status     int
		errorType  string
	}{
		{"create without user", "/v1/totps", obj{}, 400, "bad_request"},
		{"create with a huge user id", "/v1/totps", obj{"user_id": long}, 400, "bad_request"},
		{"create expiring too soon", "/v1/totps", obj{"user_id": userID, "expiration_minutes": 4}, 400, "bad_request"},
		{"create expiring too late", "/v1/totps", obj{"user_id": userID, "expiration_minutes": 1441}, 400, "bad_request"},
		{"create with a string expiration", "/v1/totps", `{"user_id":"` + userID + `","expiration_minutes":"5"}`, 400, "bad_request"},
		{"create for nobody", "/v1/totps", obj{"user_id": "user-test-00000000-0000-4000-8000-000000000000"}, 404, "user_not_found"},
		{"authenticate without code", "/v1/totps/authenticate", obj{"user_id": userID}, 400, "bad_request"},
		{"authenticate with a long code", "/v1/totps/authenticate", obj{"user_id": userID, "totp_code": long}, 400, "bad_request"},
		{"authenticate with letters", "/v1/totps/authenticate", obj{"user_id": userID, "totp_code": "12345a"}, 400, "bad_request"},
		{"authenticate with a NUL", "/v1/totps/authenticate", obj{"user_id": userID, "totp_code": "12345\x00"}, 400, "bad_request"},
		{"authenticate with both session arguments", "/v1/totps/authenticate", obj{"user_id": userID, "totp_code": "123456", "session_token": "a", "session_jwt": "b"}, 400, "too_many_session_arguments"},
		{"recover without code", "/v1/totps/recover", obj{"user_id": userID}, 400, "bad_request"},
		{"recover with a long code", "/v1/totps/recover", obj{"user_id": userID, "recovery_code": long}, 400, "bad_request"},
		{"recovery codes without user", "/v1/totps/recovery_codes", obj{}, 400, "bad_request"},
		{"not JSON", "/v1/totps/authenticate", `{"user_id":`, 400, "bad_request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c.fail("POST", tc.path, tc.body, tc.status, tc.errorType)
		})
	}
	c.fail("DELETE", "/v1/users/totps/"+long, nil, 400, "bad_request")
	c.fail("DELETE", "/v1/users/totps/totp-test-00000000-0000-4000-8000-000000000000", nil, 404, "totp_not_found")
	c.fail(http.MethodGet, "/v1/totps", nil, 405, "method_not_allowed")
}
