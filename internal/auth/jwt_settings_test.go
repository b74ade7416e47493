package auth_test

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/internal/auth"
)

// TestJWTSettings: a project's jwt_algorithm and jwt_lifetime_seconds
// decide how its session JWTs are signed, through the real signer, and
// out-of-range values are refused with the field named.
func TestJWTSettings(t *testing.T) {
	for _, tt := range []struct {
		name     string
		st       auth.Settings
		wantAlg  string
		wantLife time.Duration
	}{
		{"OKDefaultsRS256FiveMinutes", auth.Settings{}, auth.JWTRS256, auth.JWTLifetime},
		{"OKES256", auth.Settings{JWTAlgorithm: auth.JWTES256}, auth.JWTES256, auth.JWTLifetime},
		{"OKEdDSATenMinutes", auth.Settings{JWTAlgorithm: auth.JWTEdDSA, JWTLifetimeSeconds: 600}, auth.JWTEdDSA, 10 * time.Minute},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFlowEnv(t)
			ctx, p := t.Context(), f.Project
			if _, err := f.Service.UpdateProject(ctx, p.ID, auth.UpdateProjectInput{Settings: &tt.st}); err != nil {
				t.Fatal(err)
			}
			to := flowEmail("example.com")
			sent, err := f.Service.SendOTP(ctx, p, auth.SendOTPInput{Channel: auth.ChannelEmail, To: to, LoginOrCreate: true})
			if err != nil {
				t.Fatal(err)
			}
			res, err := f.Service.AuthenticateOTP(ctx, p, auth.AuthenticateOTPInput{MethodID: sent.MethodID, Code: f.LastCode(to),
				Session: auth.SessionRequest{Duration: time.Hour}})
			if err != nil {
				t.Fatal(err)
			}
			parts := strings.Split(res.SessionJWT, ".")
			var header struct{ Alg string }
			var claims struct{ Iat, Exp int64 }
			for i, dst := range []any{&header, &claims} {
				b, err := base64.RawURLEncoding.DecodeString(parts[i])
				if err != nil || json.Unmarshal(b, dst) != nil {
					t.Fatalf("JWT part %d does not decode: %v", i, err)
				}
			}
			if header.Alg != tt.wantAlg || time.Duration(claims.Exp-claims.Iat)*time.Second != tt.wantLife {
				t.Fatalf("alg %s, lifetime %ds; want %s, %v", header.Alg, claims.Exp-claims.Iat, tt.wantAlg, tt.wantLife)
			}
			again, err := f.Service.AuthenticateSession(ctx, p, auth.AuthenticateSessionInput{JWT: res.SessionJWT})
			if err != nil || again.Session.ID != res.Session.ID {
				t.Fatalf("AuthenticateSession with the %s JWT: %v", tt.wantAlg, err)
			}
		})
	}
	for _, bad := range []struct {
		name  string
		st    auth.Settings
		field string
	}{
		{"ErrAlgorithmHS256", auth.Settings{JWTAlgorithm: "HS256"}, "jwt_algorithm"},
		{"ErrAlgorithmLowerCase", auth.Settings{JWTAlgorithm: "es256"}, "jwt_algorithm"},
		{"ErrLifetimeUnderAMinute", auth.Settings{JWTLifetimeSeconds: 59}, "jwt_lifetime_seconds"},
		{"ErrLifetimeOverAnHour", auth.Settings{JWTLifetimeSeconds: 3601}, "jwt_lifetime_seconds"},
	} {
		t.Run(bad.name, func(t *testing.T) {
			f := newFlowEnv(t)
			wantSettingsRefused(t, f.Env, bad.st, bad.field)
			if got := f.Service.JWTSettings(t.Context(), f.Project.ID); got.Algorithm != auth.JWTRS256 || got.Lifetime != auth.JWTLifetime {
				t.Fatalf("JWT settings after a refused update: %+v", got)
			}
		})
	}
}
