package auth_test

import (
	"encoding/base64"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/sesame-auth/sesame/internal/auth"
	"github.com/sesame-auth/sesame/internal/authtest"
	"github.com/sesame-auth/sesame/internal/jwt"
)

// TestTOTPMatchesRFC6238Vector checks the library and parameters against
// the RFC 6238 appendix B SHA-1 vector: secret "12345678901234567890" at
// T = 59 s gives 94287082 with 8 digits, whose 6-digit truncation is
// 287082 (what auth.TOTPCode computes).
func TestTOTPMatchesRFC6238Vector(t *testing.T) {
	secret := strings.TrimRight(base32Std("12345678901234567890"), "=")
	at := time.Unix(59, 0)
	tests := []struct {
		name   string
		digits otp.Digits
		want   string
	}{
		{"eight digits give the RFC value", otp.DigitsEight, "94287082"},
		{"six digits give its truncation", otp.DigitsSix, "287082"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := totp.GenerateCodeCustom(secret, at, totp.ValidateOpts{Period: 30, Digits: tt.digits, Algorithm: otp.AlgorithmSHA1})
			if err != nil || got != tt.want {
				t.Fatalf("code = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
	if got, err := auth.TOTPCode(secret, at); err != nil || got != "287082" {
		t.Fatalf("auth.TOTPCode = %q, %v; want 287082", got, err)
	}
}

func base32Std(s string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	var out strings.Builder
	var buf, bits uint
	for i := 0; i < len(s); i++ {
		buf = buf<<8 | uint(s[i])
		bits += 8
		for bits >= 5 {
			out.WriteByte(alphabet[(buf>>(bits-5))&31])
			bits -= 5
		}
	}
	if bits > 0 {
		out.WriteByte(alphabet[(buf<<(5-bits))&31])
	}
	return out.String()
}

// totpEnv is a service with a controllable clock for both the service
// and the store.
type totpEnv struct {
	*authtest.Env
	t   *testing.T
	now time.Time
}

func newTOTPEnv(t *testing.T, opts ...authtest.Option) *totpEnv {
	e := &totpEnv{Env: authtest.New(t, opts...), t: t}
	// The middle of a step: ±31 s stays within one step of the window.
	e.now = time.Unix(1_800_000_015, 0).UTC()
	e.Service.SetClock(func() time.Time { return e.now })
	e.Store.SetClock(func() time.Time { return e.now })
	return e
}

func (e *totpEnv) user(p *auth.Project) *auth.User {
	e.t.Helper()
	u, err := e.Service.CreateUser(e.t.Context(), p, auth.CreateUserInput{Email: "u-" + auth.NewUUID()[:8] + "@example.com"})
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

func (e *totpEnv) create(p *auth.Project, userID string) *auth.TOTPCreateResult {
	e.t.Helper()
	res, err := e.Service.CreateTOTP(e.t.Context(), p, auth.CreateTOTPInput{UserID: userID})
	if err != nil {
		e.t.Fatalf("CreateTOTP: %v", err)
	}
	return res
}

func (e *totpEnv) code(secret string, at time.Time) string {
	e.t.Helper()
	c, err := auth.TOTPCode(secret, at)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

func (e *totpEnv) authenticate(p *auth.Project, userID, code string) (*auth.AuthResult, error) {
	return e.Service.AuthenticateTOTP(e.t.Context(), p, auth.AuthenticateTOTPInput{UserID: userID, Code: code,
		Session: auth.SessionRequest{Duration: time.Hour}})
}

func TestCreateTOTPReturnsSecretQRAndRecoveryCodes(t *testing.T) {
	e := newTOTPEnv(t)
	u := e.user(e.Project)
	res := e.create(e.Project, u.ID)
	if !strings.HasPrefix(res.TOTPID, "totp-test-") || res.Secret == "" {
		t.Fatalf("id %q secret %q", res.TOTPID, res.Secret)
	}
	if !strings.HasPrefix(res.URL, "otpauth://totp/") || !strings.Contains(res.URL, "secret="+res.Secret) {
		t.Fatalf("url %q", res.URL)
	}
	png, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(res.QRCode, "data:image/png;base64,"))
	if !strings.HasPrefix(res.QRCode, "data:image/png;base64,") || err != nil || !strings.HasPrefix(string(png), "\x89PNG") {
		t.Fatalf("qr code is not a PNG data URL: %.40q (%v)", res.QRCode, err)
	}
	if len(res.RecoveryCodes) != auth.RecoveryCodeCount {
		t.Fatalf("%d recovery codes", len(res.RecoveryCodes))
	}
	seen := map[string]bool{}
	for _, c := range res.RecoveryCodes {
		if len(c) != 9 || c[4] != '-' || seen[c] {
			t.Fatalf("recovery code %q malformed or repeated", c)
		}
		seen[c] = true
	}
	if len(res.User.TOTPs) != 1 || res.User.TOTPs[0].Verified {
		t.Fatalf("user totps = %+v, want one unverified", res.User.TOTPs)
	}
	got, err := e.Service.GetUser(t.Context(), e.Project, u.ID)
	if err != nil || len(got.TOTPs) != 1 || got.TOTPs[0].ID != res.TOTPID || got.TOTPs[0].Verified {
		t.Fatalf("stored user totps = %+v (%v)", got.TOTPs, err)
	}
	// The secret is stored encrypted, never in clear.
	reg, err := e.Store.FindUserTOTP(t.Context(), e.Project.ID, u.ID)
	if err != nil || strings.Contains(string(reg.SecretEnc), res.Secret) {
		t.Fatalf("stored secret in clear or missing (%v)", err)
	}
}

func TestAuthenticateTOTPClockSkew(t *testing.T) {
	tests := []struct {
		name   string
		offset time.Duration
		want   auth.Code
	}{
		{"now is accepted", 0, ""},
		{"31 s behind (previous step) is accepted", -31 * time.Second, ""},
		{"31 s ahead (next step) is accepted", 31 * time.Second, ""},
		{"61 s behind (two steps) is refused", -61 * time.Second, auth.ETOTPWrong},
		{"61 s ahead (two steps) is refused", 61 * time.Second, auth.ETOTPWrong},
	}
	e := newTOTPEnv(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := e.user(e.Project)
			res := e.create(e.Project, u.ID)
			ar, err := e.authenticate(e.Project, u.ID, e.code(res.Secret, e.now.Add(tt.offset)))
			wantErr(t, err, tt.want)
			if tt.want == "" {
				if ar.MethodID != res.TOTPID || ar.SessionToken == "" || len(ar.User.TOTPs) != 1 || !ar.User.TOTPs[0].Verified {
					t.Fatalf("result %+v", ar)
				}
				f := ar.Session.Factors
				if len(f) != 1 || f[0].Type != "totp" || f[0].DeliveryMethod != "authenticator_app" || f[0].MethodID != res.TOTPID {
					t.Fatalf("factors %+v", f)
				}
			}
		})
	}
}

func TestAuthenticateTOTPRefusesReplayInTheSameStep(t *testing.T) {
	e := newTOTPEnv(t)
	u := e.user(e.Project)
	res := e.create(e.Project, u.ID)
	code := e.code(res.Secret, e.now)
	if _, err := e.authenticate(e.Project, u.ID, code); err != nil {
		t.Fatal(err)
	}
	_, err := e.authenticate(e.Project, u.ID, code)
	wantErr(t, err, auth.ETOTPUsed)
	// An older step (still in the window) is refused too.
	_, err = e.authenticate(e.Project, u.ID, e.code(res.Secret, e.now.Add(-30*time.Second)))
	wantErr(t, err, auth.ETOTPUsed)
	// The next step's code works once the clock gets there.
	e.now = e.now.Add(30 * time.Second)
	if _, err := e.authenticate(e.Project, u.ID, e.code(res.Secret, e.now)); err != nil {
		t.Fatalf("next step: %v", err)
	}
}

func TestAuthenticateTOTPLocksAfterMaxAttempts(t *testing.T) {
	e := newTOTPEnv(t, authtest.WithConfig(auth.Config{MaxOTPAttempts: 3, SendLimit: 1000}))
	u := e.user(e.Project)
	res := e.create(e.Project, u.ID)
	good := e.code(res.Secret, e.now)
	wrong := "000000"
	if wrong == good {
		wrong = "111111"
	}
	for i := 0; i < 3; i++ {
		_, err := e.authenticate(e.Project, u.ID, wrong)
		wantErr(t, err, auth.ETOTPWrong)
	}
	_, err := e.authenticate(e.Project, u.ID, good)
	wantErr(t, err, auth.ETOTPLocked)
	// The lock lifts TOTPLockout after the last counted attempt.
	e.now = e.now.Add(auth.TOTPLockout + time.Second)
	if _, err := e.authenticate(e.Project, u.ID, e.code(res.Secret, e.now)); err != nil {
		t.Fatalf("after the lockout: %v", err)
	}
}

func TestAuthenticateTOTPSuccessResetsAttempts(t *testing.T) {
	e := newTOTPEnv(t, authtest.WithConfig(auth.Config{MaxOTPAttempts: 2, SendLimit: 1000}))
	u := e.user(e.Project)
	res := e.create(e.Project, u.ID)
	for round := 0; round < 3; round++ {
		_, err := e.authenticate(e.Project, u.ID, "abcdef")
		wantErr(t, err, auth.EInvalid) // not even counted
		good := e.code(res.Secret, e.now)
		wrong := "000000"
		if wrong == good {
			wrong = "111111"
		}
		_, err = e.authenticate(e.Project, u.ID, wrong)
		wantErr(t, err, auth.ETOTPWrong)
		if _, err := e.authenticate(e.Project, u.ID, good); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		e.now = e.now.Add(30 * time.Second)
	}
}

func TestRecoveryCodes(t *testing.T) {
	e := newTOTPEnv(t)
	u := e.user(e.Project)
	res := e.create(e.Project, u.ID)
	recover := func(code string) (*auth.AuthResult, error) {
		return e.Service.RecoverTOTP(t.Context(), e.Project, auth.RecoverTOTPInput{UserID: u.ID, RecoveryCode: code,
			Session: auth.SessionRequest{Duration: time.Hour}})
	}
	ar, err := recover(strings.ToUpper(res.RecoveryCodes[0])) // case does not matter
	if err != nil {
		t.Fatal(err)
	}
	f := ar.Session.Factors
	if ar.MethodID != res.TOTPID || len(f) != 1 || f[0].Type != "recovery_codes" || f[0].DeliveryMethod != "recovery_code" || !strings.HasPrefix(f[0].MethodID, "totp-recovery-code-") {
		t.Fatalf("method %q factors %+v", ar.MethodID, f)
	}
	tests := []struct {
		name string
		code string
		want auth.Code
	}{
		{"a code used twice is refused", res.RecoveryCodes[0], auth.ERecoveryCodeWrong},
		{"an unknown code is refused", "aaaa-aaaa", auth.ERecoveryCodeWrong},
		{"an empty code is invalid", "", auth.EInvalid},
		{"another unused code works", res.RecoveryCodes[1], ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := recover(tt.code)
			wantErr(t, err, tt.want)
		})
	}
	list, err := e.Service.TOTPRecoveryCodes(t.Context(), e.Project, u.ID)
	if err != nil || len(list) != 1 || list[0].TOTPID != res.TOTPID || len(list[0].RecoveryCodes) != auth.RecoveryCodeCount-2 {
		t.Fatalf("recovery codes = %+v (%v), want the 8 unused", list, err)
	}
	for _, c := range list[0].RecoveryCodes {
		if c == res.RecoveryCodes[0] || c == res.RecoveryCodes[1] {
			t.Fatalf("used code %q listed", c)
		}
	}
}

func TestCreateTOTPReplacesUnverifiedButNotVerified(t *testing.T) {
	e := newTOTPEnv(t)
	u := e.user(e.Project)
	first := e.create(e.Project, u.ID)
	second := e.create(e.Project, u.ID)
	// The first registration is gone: its code no longer works.
	_, err := e.authenticate(e.Project, u.ID, e.code(first.Secret, e.now))
	if err == nil && e.code(first.Secret, e.now) != e.code(second.Secret, e.now) {
		t.Fatal("the replaced registration still authenticates")
	}
	if _, err := e.authenticate(e.Project, u.ID, e.code(second.Secret, e.now)); err != nil {
		t.Fatal(err)
	}
	_, err = e.Service.CreateTOTP(t.Context(), e.Project, auth.CreateTOTPInput{UserID: u.ID})
	wantErr(t, err, auth.ETOTPExists)
	got, err := e.Service.DeleteTOTP(t.Context(), e.Project, second.TOTPID)
	if err != nil || len(got.TOTPs) != 0 {
		t.Fatalf("DeleteTOTP: %+v %v", got, err)
	}
	e.create(e.Project, u.ID) // allowed again
}

func TestUnverifiedTOTPExpires(t *testing.T) {
	e := newTOTPEnv(t)
	u := e.user(e.Project)
	res, err := e.Service.CreateTOTP(t.Context(), e.Project, auth.CreateTOTPInput{UserID: u.ID, Expiration: 5 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	e.now = e.now.Add(5*time.Minute + time.Second)
	_, err = e.authenticate(e.Project, u.ID, e.code(res.Secret, e.now))
	wantErr(t, err, auth.ETOTPNotFound)
	_, err = e.Service.CreateTOTP(t.Context(), e.Project, auth.CreateTOTPInput{UserID: u.ID, Expiration: time.Minute})
	wantErr(t, err, auth.EInvalidExpiration)
}

func TestTOTPSecretSurvivesKeyRotation(t *testing.T) {
	e := newTOTPEnv(t)
	u := e.user(e.Project)
	res := e.create(e.Project, u.ID)
	oldKey := []byte("0123456789abcdef0123456789abcdef") // authtest's key
	newKey := []byte("fedcba9876543210fedcba9876543210")
	rotated, err := auth.NewKeyring(newKey, oldKey)
	if err != nil {
		t.Fatal(err)
	}
	svc := auth.NewService(e.Store, e.Publisher, rotated, jwt.New(e.Store, rotated, jwt.Options{}), nil, nil, auth.Config{})
	svc.SetClock(func() time.Time { return e.now })
	if _, err := svc.AuthenticateTOTP(t.Context(), e.Project, auth.AuthenticateTOTPInput{UserID: u.ID, Code: e.code(res.Secret, e.now)}); err != nil {
		t.Fatalf("after rotation: %v", err)
	}
	if _, err := svc.RecoverTOTP(t.Context(), e.Project, auth.RecoverTOTPInput{UserID: u.ID, RecoveryCode: res.RecoveryCodes[0]}); err != nil {
		t.Fatalf("recovery code after rotation: %v", err)
	}
	list, err := svc.TOTPRecoveryCodes(t.Context(), e.Project, u.ID)
	if err != nil || len(list) != 1 || len(list[0].RecoveryCodes) != auth.RecoveryCodeCount-1 {
		t.Fatalf("codes after rotation: %+v %v", list, err)
	}
	// Without the old key nothing opens.
	only, _ := auth.NewKeyring(newKey)
	svc2 := auth.NewService(e.Store, e.Publisher, only, jwt.New(e.Store, only, jwt.Options{}), nil, nil, auth.Config{})
	svc2.SetClock(func() time.Time { return e.now.Add(30 * time.Second) })
	_, err = svc2.AuthenticateTOTP(t.Context(), e.Project, auth.AuthenticateTOTPInput{UserID: u.ID, Code: e.code(res.Secret, e.now.Add(30*time.Second))})
	wantErr(t, err, auth.EInternal)
}

func TestTOTPOfAnotherProjectIsUnusable(t *testing.T) {
	e := newTOTPEnv(t)
	other, _ := e.NewProject(t, false)
	u := e.user(e.Project)
	res := e.create(e.Project, u.ID)
	code := e.code(res.Secret, e.now)
	_, err := e.authenticate(other, u.ID, code)
	wantErr(t, err, auth.EUserNotFound)
	_, err = e.Service.RecoverTOTP(t.Context(), other, auth.RecoverTOTPInput{UserID: u.ID, RecoveryCode: res.RecoveryCodes[0]})
	wantErr(t, err, auth.EUserNotFound)
	_, err = e.Service.DeleteTOTP(t.Context(), other, res.TOTPID)
	wantErr(t, err, auth.ETOTPNotFound)
	// Another user of the same project cannot use it either.
	v := e.user(e.Project)
	_, err = e.authenticate(e.Project, v.ID, code)
	wantErr(t, err, auth.ETOTPNotFound)
	if _, err := e.authenticate(e.Project, u.ID, code); err != nil {
		t.Fatalf("owner: %v", err)
	}
}

func TestSearchUsersByTOTP(t *testing.T) {
	e := newTOTPEnv(t)
	verified, pending := e.user(e.Project), e.user(e.Project)
	e.user(e.Project) // a user without a registration
	rv := e.create(e.Project, verified.ID)
	rp := e.create(e.Project, pending.ID)
	if _, err := e.authenticate(e.Project, verified.ID, e.code(rv.Secret, e.now)); err != nil {
		t.Fatal(err)
	}
	yes, no := true, false
	ids := func(q auth.UserQuery) []string {
		page, err := e.Service.SearchUsers(t.Context(), e.Project, q)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, u := range page.Users {
			out = append(out, u.ID)
		}
		return out
	}
	tests := []struct {
		name string
		q    auth.UserQuery
		want []string
	}{
		{"totp_id finds its user", auth.UserQuery{TOTPIDs: []string{rp.TOTPID}}, []string{pending.ID}},
		{"totp_verified true finds the verified one", auth.UserQuery{TOTPVerified: &yes}, []string{verified.ID}},
		{"totp_verified false finds the unverified one", auth.UserQuery{TOTPVerified: &no}, []string{pending.ID}},
		{"or of both finds both, not the user without", auth.UserQuery{Or: true, TOTPVerified: &no, TOTPIDs: []string{rv.TOTPID}}, []string{verified.ID, pending.ID}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ids(tt.q)
			slices.Sort(got)
			slices.Sort(tt.want)
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}
