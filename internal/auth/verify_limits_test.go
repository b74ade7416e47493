package auth_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/internal/auth"
	"github.com/sesame-auth/sesame/internal/authtest"
)

// challengeState reads the attempts and consumption of the newest
// challenge of a method straight from the database.
func challengeState(t *testing.T, env *authtest.Env, methodID string) (attempts int, consumed bool) {
	t.Helper()
	err := env.Store.Pool().QueryRow(t.Context(), `SELECT attempts, consumed_at IS NOT NULL FROM challenges
		WHERE project_id = $1 AND method_id = $2 ORDER BY created_at DESC, id DESC LIMIT 1`, env.Project.ID, methodID).Scan(&attempts, &consumed)
	if err != nil {
		t.Fatal(err)
	}
	return attempts, consumed
}

func intp(n int) *int { return &n }

// TestVerifyLimits: the verify limits (per method, per client IP) refuse
// code checks beyond them with ERateLimited and a Retry-After, whether the
// code is right or wrong, for consumer and B2B codes; a refused check
// counts no attempt and consumes nothing; the project's settings override
// the service-wide Config, which is their default.
func TestVerifyLimits(t *testing.T) {
	const ip = "198.51.100.7"
	withIP := func(ctx context.Context) context.Context { return auth.WithClientIP(ctx, ip) }
	tests := []struct {
		name     string
		cfg      auth.Config
		settings auth.Settings
		// checks is how many wrong codes are checked (over fresh methods
		// when perIP, else on one method: fewer than MaxOTPAttempts)
		// before the right one.
		checks  int
		perIP   bool
		b2b     bool
		wantErr auth.Code // of the check of the right code
	}{
		{"ErrRateLimitedPerMethodFromSettings", auth.Config{}, auth.Settings{VerifyLimit: 3}, 3, false, false, auth.ERateLimited},
		{"ErrRateLimitedPerMethodFromConfig", auth.Config{VerifyLimit: 2}, auth.Settings{}, 2, false, false, auth.ERateLimited},
		{"ErrRateLimitedPerIPAcrossMethods", auth.Config{}, auth.Settings{VerifyLimitPerIP: intp(3)}, 3, true, false, auth.ERateLimited},
		{"ErrRateLimitedPerIPFromConfig", auth.Config{IPVerifyLimit: 2}, auth.Settings{}, 2, true, false, auth.ERateLimited},
		{"ErrRateLimitedB2BEmailCode", auth.Config{}, auth.Settings{VerifyLimit: 2}, 2, false, true, auth.ERateLimited},
		{"OKUnderTheLimit", auth.Config{}, auth.Settings{VerifyLimit: 3}, 2, false, false, ""},
		{"OKSettingsRaiseConfigLimit", auth.Config{VerifyLimit: 1}, auth.Settings{VerifyLimit: 4}, 3, false, false, ""},
		{"OKPerIPOffInSettings", auth.Config{IPVerifyLimit: 1}, auth.Settings{VerifyLimitPerIP: intp(0)}, 3, true, false, ""},
		{"OKOffInConfig", auth.Config{VerifyLimit: -1}, auth.Settings{}, 4, false, false, ""},
		{"OKB2BUnderTheLimit", auth.Config{}, auth.Settings{VerifyLimit: 3}, 2, false, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			cfg.SendLimit = 1000
			f := &flowEnv{Env: authtest.New(t, authtest.WithConfig(cfg)), t: t}
			ctx, p := withIP(t.Context()), f.Project
			if _, err := f.Service.UpdateProject(ctx, p.ID, auth.UpdateProjectInput{Settings: &tt.settings}); err != nil {
				t.Fatal(err)
			}
			var o *auth.Organization
			if tt.b2b {
				o = f.org(func(in *auth.OrganizationInput) {
					in.EmailJITProvisioning, in.EmailAllowedDomains = flowStr(auth.Restricted), []string{"acme.test"}
				})
			}
			// send sends a code to a fresh address and returns its method and code.
			send := func() (methodID, to string) {
				to = flowEmail("acme.test")
				if tt.b2b {
					res, err := f.Service.B2BEmailOTPLoginOrSignup(ctx, p, auth.B2BEmailLoginInput{OrganizationID: o.ID, EmailAddress: to})
					if err != nil {
						t.Fatal(err)
					}
					return res.Member.EmailID, to
				}
				res, err := f.Service.SendOTP(ctx, p, auth.SendOTPInput{Channel: auth.ChannelEmail, To: to, LoginOrCreate: true})
				if err != nil {
					t.Fatal(err)
				}
				return res.MethodID, to
			}
			check := func(to, methodID, code string) error {
				if tt.b2b {
					_, err := f.Service.B2BAuthenticateEmailOTP(ctx, p, auth.B2BAuthenticateEmailOTPInput{OrganizationID: o.ID, EmailAddress: to, Code: code})
					return err
				}
				_, err := f.Service.AuthenticateOTP(ctx, p, auth.AuthenticateOTPInput{MethodID: methodID, Code: code})
				return err
			}
			m, to := send()
			for i := range tt.checks {
				cm, cto := m, to
				if tt.perIP && i > 0 {
					cm, cto = send()
				}
				if err := check(cto, cm, wrong(f.LastCode(cto))); auth.ErrorCode(err) != auth.EOTPWrong {
					t.Fatalf("check %d: %v, want %s", i+1, err, auth.EOTPWrong)
				}
			}
			attempts, _ := challengeState(t, f.Env, m)
			err := check(to, m, f.LastCode(to))
			if auth.ErrorCode(err) != tt.wantErr {
				t.Fatalf("right code after %d checks: %v, want %q", tt.checks, err, tt.wantErr)
			}
			after, consumed := challengeState(t, f.Env, m)
			if tt.wantErr == "" {
				if !consumed {
					t.Fatal("the right code under the limit was not consumed")
				}
				return
			}
			if ra := auth.RetryAfter(err); ra < time.Second || ra > 10*time.Minute {
				t.Fatalf("Retry-After %v, want 1s..10m", ra)
			}
			if after != attempts || consumed {
				t.Fatalf("the refused check counted an attempt (%d -> %d) or consumed the code (%v)", attempts, after, consumed)
			}
		})
	}
}

// TestVerifyLimitSettingsRefused: out-of-range verify settings are refused
// with the field named, and nothing is stored.
func TestVerifyLimitSettingsRefused(t *testing.T) {
	for _, bad := range []struct {
		name  string
		st    auth.Settings
		field string
	}{
		{"ErrNegativeVerifyLimit", auth.Settings{VerifyLimit: -1}, "verify_limit"},
		{"ErrHugeVerifyLimit", auth.Settings{VerifyLimit: 1_000_001}, "verify_limit"},
		{"ErrNegativeVerifyLimitPerIP", auth.Settings{VerifyLimitPerIP: intp(-1)}, "verify_limit_per_ip"},
		{"ErrVerifyWindowOverAWeek", auth.Settings{VerifyWindowSeconds: 7*24*3600 + 1}, "verify_window_seconds"},
	} {
		t.Run(bad.name, func(t *testing.T) {
			wantSettingsRefused(t, newFlowEnv(t).Env, bad.st, bad.field)
		})
	}
}

// TestJWTDefaultsFromConfig: Config.JWTAlgorithm and Config.JWTLifetime
// (JWT_ALGORITHM, JWT_LIFETIME) are the JWT settings of a project that
// sets none, and a project's own settings still win.
func TestJWTDefaultsFromConfig(t *testing.T) {
	for _, tt := range []struct {
		name     string
		cfg      auth.Config
		st       auth.Settings
		wantAlg  string
		wantLife time.Duration
	}{
		{"OKUnsetConfigIsRS256FiveMinutes", auth.Config{}, auth.Settings{}, auth.JWTRS256, auth.JWTLifetime},
		{"OKConfigES256TenMinutes", auth.Config{JWTAlgorithm: auth.JWTES256, JWTLifetime: 10 * time.Minute}, auth.Settings{}, auth.JWTES256, 10 * time.Minute},
		{"OKConfigEdDSA", auth.Config{JWTAlgorithm: auth.JWTEdDSA}, auth.Settings{}, auth.JWTEdDSA, auth.JWTLifetime},
		{"OKProjectSettingsWin", auth.Config{JWTAlgorithm: auth.JWTEdDSA, JWTLifetime: 10 * time.Minute},
			auth.Settings{JWTAlgorithm: auth.JWTRS256, JWTLifetimeSeconds: 120}, auth.JWTRS256, 2 * time.Minute},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			cfg.SendLimit = 1000
			env := authtest.New(t, authtest.WithConfig(cfg))
			ctx, p := t.Context(), env.Project
			if _, err := env.Service.UpdateProject(ctx, p.ID, auth.UpdateProjectInput{Settings: &tt.st}); err != nil {
				t.Fatal(err)
			}
			if got := env.Service.JWTSettings(ctx, p.ID); got.Algorithm != tt.wantAlg || got.Lifetime != tt.wantLife {
				t.Fatalf("JWTSettings = %+v, want %s %v", got, tt.wantAlg, tt.wantLife)
			}
			to := flowEmail("example.com")
			sent, err := env.Service.SendOTP(ctx, p, auth.SendOTPInput{Channel: auth.ChannelEmail, To: to, LoginOrCreate: true})
			if err != nil {
				t.Fatal(err)
			}
			res, err := env.Service.AuthenticateOTP(ctx, p, auth.AuthenticateOTPInput{MethodID: sent.MethodID, Code: env.LastCode(to),
				Session: auth.SessionRequest{Duration: time.Hour}})
			if err != nil {
				t.Fatal(err)
			}
			alg, life := jwtAlgLife(t, res.SessionJWT)
			if alg != tt.wantAlg || life != tt.wantLife {
				t.Fatalf("session JWT alg %s, lifetime %v; want %s, %v", alg, life, tt.wantAlg, tt.wantLife)
			}
		})
	}
}

// jwtAlgLife returns the alg of a JWT's header and its exp - iat.
func jwtAlgLife(t *testing.T, token string) (string, time.Duration) {
	t.Helper()
	parts := strings.Split(token, ".")
	var header struct{ Alg string }
	var claims struct{ Iat, Exp int64 }
	for i, dst := range []any{&header, &claims} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil || json.Unmarshal(b, dst) != nil {
			t.Fatalf("JWT part %d does not decode: %v", i, err)
		}
	}
	return header.Alg, time.Duration(claims.Exp-claims.Iat) * time.Second
}

// TestExpirationDefaultsFromConfig: Config.OTPExpiration and
// Config.MagicLinkExpiration (OTP_EXPIRATION, MAGIC_LINK_EXPIRATION) are
// the default lifetimes of codes and links in projects that set none, and
// a project's own setting still wins.
func TestExpirationDefaultsFromConfig(t *testing.T) {
	otp := func(f *flowEnv, to string) error {
		_, err := f.Service.SendOTP(f.t.Context(), f.Project, auth.SendOTPInput{Channel: auth.ChannelEmail, To: to, LoginOrCreate: true})
		return err
	}
	link := func(f *flowEnv, to string) error {
		_, err := f.Service.SendMagicLink(f.t.Context(), f.Project, auth.SendMagicLinkInput{Email: to, LoginOrCreate: true})
		return err
	}
	tests := []struct {
		name     string
		cfg      auth.Config
		settings auth.Settings
		send     func(f *flowEnv, to string) error
		kind     auth.EventKind
		want     time.Duration
	}{
		{"OKOTPFromConfig", auth.Config{OTPExpiration: 5 * time.Minute}, auth.Settings{}, otp, auth.KindOTP, 5 * time.Minute},
		{"OKOTPSettingWinsOverConfig", auth.Config{OTPExpiration: 5 * time.Minute}, auth.Settings{OTPExpirationMinutes: 3}, otp, auth.KindOTP, 3 * time.Minute},
		{"OKSignupLinkFromConfig", auth.Config{MagicLinkExpiration: 45 * time.Minute}, auth.Settings{}, link, auth.KindMagicLink, 45 * time.Minute},
		{"OKSignupLinkSettingWinsOverConfig", auth.Config{MagicLinkExpiration: 45 * time.Minute}, auth.Settings{MagicLinkExpirationMinutes: 20}, link, auth.KindMagicLink, 20 * time.Minute},
		{"OKSignupLinkDialectDefaultWithoutEither", auth.Config{}, auth.Settings{}, link, auth.KindMagicLink, auth.DefaultSignupExpiration},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			cfg.SendLimit = 1000
			f := &flowEnv{Env: authtest.New(t, authtest.WithConfig(cfg)), t: t}
			if _, err := f.Service.UpdateProject(t.Context(), f.Project.ID, auth.UpdateProjectInput{Settings: &tt.settings}); err != nil {
				t.Fatal(err)
			}
			to := flowEmail("acme.test")
			if err := tt.send(f, to); err != nil {
				t.Fatal(err)
			}
			ev := f.Publisher.Last(to, tt.kind)
			if ev == nil {
				t.Fatal("nothing sent")
			}
			if got := ev.ExpiresAt.Sub(ev.CreatedAt); got != tt.want {
				t.Fatalf("lifetime = %s, want %s", got, tt.want)
			}
		})
	}
}
