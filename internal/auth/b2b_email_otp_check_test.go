package auth_test

import (
	"strings"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/internal/auth"
)

// TestB2BAuthenticateEmailOTPOneRoundTrip covers the one-round-trip email
// OTP authenticate (no session or IST passed; CheckMemberEmailOTP): the
// statement's choice of a session or an IST agrees with the service's on
// the MFA and auth-method branches; the member is activated and its email
// verified with the code's consumption; a code bound to its challenge (sent
// before address binding) still works; every refusal keeps its error, a
// refusal before the code is looked at writes nothing and a wrong code
// writes only its attempt.
func TestB2BAuthenticateEmailOTPOneRoundTrip(t *testing.T) {
	f := newFlowEnv(t)
	ctx, p := t.Context(), f.Project
	send := func(t *testing.T, o *auth.Organization, email string) string {
		t.Helper()
		if _, err := f.Service.B2BEmailOTPLoginOrSignup(ctx, p, auth.B2BEmailLoginInput{OrganizationID: o.ID, EmailAddress: email}); err != nil {
			t.Fatal(err)
		}
		return f.LastCode(email)
	}
	tests := []struct {
		name   string
		org    func(in *auth.OrganizationInput)
		member func(in *auth.MemberInput)
		// then runs after a code was sent to m and may change the world
		// and the request.
		then func(t *testing.T, o *auth.Organization, m *auth.Member, in *auth.B2BAuthenticateEmailOTPInput)
		want string // "session", "mfa", "primary" or an error code
		// attempts is the code's attempt count afterwards (-1: no code).
		attempts int
	}{
		{"OKSessionWithoutMFA", nil, nil, nil, "session", 1},
		{"OKPendingMemberActivated", nil, func(in *auth.MemberInput) { in.CreatePending = true }, nil, "session", 1},
		{"OKOrganizationBySlug", nil, nil, func(t *testing.T, o *auth.Organization, _ *auth.Member, in *auth.B2BAuthenticateEmailOTPInput) {
			in.OrganizationID = o.Slug
		}, "session", 1},
		{"OKAddressInAnotherCase", nil, nil, func(t *testing.T, _ *auth.Organization, _ *auth.Member, in *auth.B2BAuthenticateEmailOTPInput) {
			in.EmailAddress = strings.ToUpper(in.EmailAddress)
		}, "session", 1},
		{"OKISTWhenMFARequiredForAll", requireMFA, nil, nil, "mfa", 1},
		{"OKPrimaryRequiredWhenEmailOTPNotAllowed", nil, nil, func(t *testing.T, o *auth.Organization, _ *auth.Member, _ *auth.B2BAuthenticateEmailOTPInput) {
			if _, err := f.Service.UpdateOrganization(ctx, p, o.ID, auth.OrganizationInput{AuthMethods: flowStr(auth.Restricted), AllowedAuthMethods: []string{auth.AuthMethodMagicLink}}, auth.Caller{}); err != nil {
				t.Fatal(err)
			}
		}, "primary", 1},
		{"OKCodeBoundToItsChallenge", nil, nil, func(t *testing.T, _ *auth.Organization, m *auth.Member, in *auth.B2BAuthenticateEmailOTPInput) {
			// As a code sent before address binding was stored.
			var id string
			if err := f.Store.Pool().QueryRow(ctx, `SELECT id FROM challenges WHERE project_id = $1 AND method_id = $2`, p.ID, m.EmailID).Scan(&id); err != nil {
				t.Fatal(err)
			}
			if _, err := f.Store.Pool().Exec(ctx, `UPDATE challenges SET code_hmac = $3 WHERE project_id = $1 AND id = $2`, p.ID, id, f.Keys.CodeMAC(id, in.Code)); err != nil {
				t.Fatal(err)
			}
		}, "session", 1},
		{"ErrWrongCodeCountsItsAttemptOnly", nil, nil, func(t *testing.T, _ *auth.Organization, _ *auth.Member, in *auth.B2BAuthenticateEmailOTPInput) {
			in.Code = wrong(in.Code)
		}, string(auth.EOTPWrong), 1},
		{"ErrUsedCode", nil, nil, func(t *testing.T, _ *auth.Organization, _ *auth.Member, in *auth.B2BAuthenticateEmailOTPInput) {
			if _, err := f.Service.B2BAuthenticateEmailOTP(ctx, p, *in); err != nil {
				t.Fatal(err)
			}
		}, string(auth.EOTPExpired), 1},
		{"ErrDeletedMemberWritesNothing", nil, nil, func(t *testing.T, o *auth.Organization, m *auth.Member, _ *auth.B2BAuthenticateEmailOTPInput) {
			if _, err := f.Service.DeleteMember(ctx, p, o.ID, m.ID, auth.Caller{}); err != nil {
				t.Fatal(err)
			}
		}, string(auth.EMemberDeleted), 0},
		{"ErrNoCodeSent", nil, nil, func(t *testing.T, o *auth.Organization, _ *auth.Member, in *auth.B2BAuthenticateEmailOTPInput) {
			in.EmailAddress = f.member(o, flowEmail("acme.test"), nil).EmailAddress
		}, string(auth.EOTPNotFound), 0},
		{"ErrNotAMember", nil, nil, func(t *testing.T, _ *auth.Organization, _ *auth.Member, in *auth.B2BAuthenticateEmailOTPInput) {
			in.EmailAddress = flowEmail("acme.test")
		}, string(auth.EMemberNotFound), 0},
		{"ErrUnknownOrganization", nil, nil, func(t *testing.T, _ *auth.Organization, _ *auth.Member, in *auth.B2BAuthenticateEmailOTPInput) {
			in.OrganizationID = "no-such-org"
		}, string(auth.EOrganizationNotFound), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := f.org(tt.org)
			m := f.member(o, flowEmail("acme.test"), tt.member)
			in := auth.B2BAuthenticateEmailOTPInput{OrganizationID: o.ID, EmailAddress: m.EmailAddress, Code: send(t, o, m.EmailAddress),
				Session: auth.B2BSessionRequest{Duration: 2 * time.Hour}}
			if tt.then != nil {
				tt.then(t, o, m, &in)
			}
			before := rowsOf(t, f, m)
			res, err := f.Service.B2BAuthenticateEmailOTP(ctx, p, in)
			after := rowsOf(t, f, m)
			if attempts, _ := challengeState(t, f.Env, m.EmailID); attempts != tt.attempts {
				t.Fatalf("the code has %d attempts, want %d", attempts, tt.attempts)
			}
			switch tt.want {
			case "session", "mfa", "primary":
				if err != nil {
					t.Fatalf("authenticate: %v", err)
				}
			default:
				wantErr(t, err, auth.Code(tt.want))
				if after.sessions != before.sessions || after.ists != before.ists || after.verified != before.verified ||
					after.status != before.status || !after.updatedAt.Equal(before.updatedAt) {
					t.Fatalf("a refused code wrote: before %+v, after %+v", before, after)
				}
				return
			}
			if _, consumed := challengeState(t, f.Env, m.EmailID); !consumed {
				t.Fatal("the code was not consumed")
			}
			if !after.verified || after.status != string(auth.MemberActive) || !res.Member.EmailVerified || res.Member.Status != auth.MemberActive ||
				!res.Member.UpdatedAt.Equal(after.updatedAt) || res.MethodID != m.EmailID {
				t.Fatalf("member after = %+v, returned %+v", after, res.Member)
			}
			want := []auth.Factor{{Type: auth.FactorOTP, DeliveryMethod: auth.DeliveryEmail, MethodID: m.EmailID, Value: m.EmailAddress}}
			if tt.want == "session" {
				if !res.Authenticated || res.SessionJWT == "" || res.IST != "" || after.sessions != before.sessions+1 || after.ists != before.ists {
					t.Fatalf("result %+v, rows %+v -> %+v: want a session only", res, before, after)
				}
				got, err := f.Service.AuthenticateMemberSession(ctx, p, auth.MemberSessionInput{Token: res.SessionToken})
				if err != nil {
					t.Fatalf("the new session does not authenticate: %v", err)
				}
				if !sameFactors(got.Session.Factors, want) || got.Session.ExpiresAt.Sub(got.Session.StartedAt) != 2*time.Hour {
					t.Fatalf("stored session = %+v", got.Session)
				}
				return
			}
			if res.Authenticated || res.IST == "" || after.ists != before.ists+1 || after.sessions != before.sessions ||
				(tt.want == "mfa") != (res.MFARequired != nil) || (tt.want == "primary") != (res.PrimaryRequired != nil) {
				t.Fatalf("result %+v, rows %+v -> %+v: want an IST (%s)", res, before, after, tt.want)
			}
			ist, err := f.Store.FindIntermediateSession(ctx, p.ID, f.Keys.TokenHashes(res.IST))
			if err != nil || ist.MemberID != m.ID || ist.OrganizationID != o.ID || !sameFactors(ist.Factors, want) {
				t.Fatalf("stored IST = %+v, %v", ist, err)
			}
		})
	}
}
