package auth_test

import (
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/internal/auth"
)

// memberRows is what a magic-link authenticate may write for a member:
// its sessions, its ISTs, its consumed links, and the member row's
// email_verified, status and updated_at.
type memberRows struct {
	sessions, ists, consumedLinks int
	verified                      bool
	status                        string
	updatedAt                     time.Time
}

func rowsOf(t *testing.T, f *flowEnv, m *auth.Member) memberRows {
	t.Helper()
	var r memberRows
	err := f.Store.Pool().QueryRow(t.Context(), `SELECT
			(SELECT count(*) FROM sessions WHERE project_id = $1 AND member_id = $2),
			(SELECT count(*) FROM intermediate_sessions WHERE project_id = $1 AND member_id = $2),
			(SELECT count(*) FROM magic_links WHERE project_id = $1 AND member_id = $2 AND consumed_at IS NOT NULL),
			email_verified, status, updated_at
		FROM members WHERE project_id = $1 AND id = $2`, f.Project.ID, m.ID).Scan(
		&r.sessions, &r.ists, &r.consumedLinks, &r.verified, &r.status, &r.updatedAt)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestB2BAuthenticateMagicLinkOneRoundTrip covers the one-round-trip
// magic-link authenticate (no session or IST passed; AuthenticateMemberLink):
// the statement's choice of a session or an IST agrees with the service's
// (a disagreement would be EInternal) on every branch of the MFA policy,
// the enrollment and the restricted auth methods; the member is activated
// and its email verified with the link's consumption; every refusal keeps
// its error and writes nothing, a deleted member's link included.
func TestB2BAuthenticateMagicLinkOneRoundTrip(t *testing.T) {
	f := newFlowEnv(t)
	ctx, p := t.Context(), f.Project
	restrictAuth := func(in *auth.OrganizationInput) {
		in.AuthMethods, in.AllowedAuthMethods = flowStr(auth.Restricted), []string{auth.AuthMethodEmailOTP}
	}
	yes := true
	tests := []struct {
		name   string
		org    func(in *auth.OrganizationInput)
		member func(in *auth.MemberInput)
		// token returns the token to authenticate (default: a fresh login
		// link of m) and may change the world and the request.
		token func(t *testing.T, o *auth.Organization, m *auth.Member, in *auth.B2BAuthenticateMagicLinkInput) string
		want  string // "session", "mfa", "primary" or an error code
		// wrote is whether the call consumed a link and wrote a session or IST.
		wrote bool
	}{
		{"OKSessionWithoutMFA", nil, nil, nil, "session", true},
		{"OKPendingMemberActivatedWithSession", nil, func(in *auth.MemberInput) { in.CreatePending = true }, nil, "session", true},
		{"OKISTWhenMFARequiredForAll", requireMFA, nil, nil, "mfa", true},
		{"OKISTWhenMemberEnrolled", nil, func(in *auth.MemberInput) { in.MFAEnrolled = &yes }, nil, "mfa", true},
		{"OKPrimaryRequiredWhenMagicLinkNotAllowed", nil, nil, func(t *testing.T, o *auth.Organization, m *auth.Member, _ *auth.B2BAuthenticateMagicLinkInput) string {
			tok := f.link(o, m.EmailAddress) // sent before the organization restricted its auth methods
			if _, err := f.Service.UpdateOrganization(ctx, p, o.ID, auth.OrganizationInput{AuthMethods: flowStr(auth.Restricted), AllowedAuthMethods: []string{auth.AuthMethodEmailOTP}}, auth.Caller{}); err != nil {
				t.Fatal(err)
			}
			return tok
		}, "primary", true},
		{"OKBreakglassExemptFromAuthMethods", restrictAuth, func(in *auth.MemberInput) { in.IsBreakglass = &yes }, nil, "session", true},
		{"OKPKCEMatch", nil, nil, func(t *testing.T, o *auth.Organization, m *auth.Member, in *auth.B2BAuthenticateMagicLinkInput) string {
			if _, err := f.Service.B2BLoginOrSignup(ctx, p, auth.B2BEmailLoginInput{OrganizationID: o.ID, EmailAddress: m.EmailAddress, CodeChallenge: auth.PKCEChallenge("verifier-1")}); err != nil {
				t.Fatal(err)
			}
			in.CodeVerifier = "verifier-1"
			return f.LastToken(m.EmailAddress)
		}, "session", true},
		{"ErrPKCEMismatchWritesNothing", nil, nil, func(t *testing.T, o *auth.Organization, m *auth.Member, in *auth.B2BAuthenticateMagicLinkInput) string {
			if _, err := f.Service.B2BLoginOrSignup(ctx, p, auth.B2BEmailLoginInput{OrganizationID: o.ID, EmailAddress: m.EmailAddress, CodeChallenge: auth.PKCEChallenge("verifier-1")}); err != nil {
				t.Fatal(err)
			}
			in.CodeVerifier = "verifier-2"
			return f.LastToken(m.EmailAddress)
		}, string(auth.EPKCEMismatch), false},
		{"ErrExpiredWritesNothing", nil, nil, func(t *testing.T, o *auth.Organization, m *auth.Member, _ *auth.B2BAuthenticateMagicLinkInput) string {
			tok := f.link(o, m.EmailAddress)
			if _, err := f.Store.Pool().Exec(ctx, `UPDATE magic_links SET expires_at = now() - interval '1 second'
				WHERE project_id = $1 AND member_id = $2`, p.ID, m.ID); err != nil {
				t.Fatal(err)
			}
			return tok
		}, string(auth.EMagicLinkUsed), false},
		{"ErrDeletedMemberWritesNothing", nil, nil, func(t *testing.T, o *auth.Organization, m *auth.Member, _ *auth.B2BAuthenticateMagicLinkInput) string {
			tok := f.link(o, m.EmailAddress)
			if _, err := f.Service.DeleteMember(ctx, p, o.ID, m.ID, auth.Caller{}); err != nil {
				t.Fatal(err)
			}
			return tok
		}, string(auth.EMemberDeleted), false},
		{"ErrEmailChangedSinceTheLink", nil, nil, func(t *testing.T, o *auth.Organization, m *auth.Member, _ *auth.B2BAuthenticateMagicLinkInput) string {
			tok := f.link(o, m.EmailAddress)
			email := flowEmail("acme.test")
			if _, _, err := f.Service.UpdateMember(ctx, p, o.ID, m.ID, auth.MemberInput{EmailAddress: &email}, auth.Caller{}); err != nil {
				t.Fatal(err)
			}
			return tok
		}, string(auth.EMagicLinkNotFound), false},
		{"ErrUnknownToken", nil, nil, func(*testing.T, *auth.Organization, *auth.Member, *auth.B2BAuthenticateMagicLinkInput) string {
			return "no-such-token-" + auth.NewUUID()
		}, string(auth.EMagicLinkNotFound), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := f.org(tt.org)
			m := f.member(o, flowEmail("acme.test"), tt.member)
			in := auth.B2BAuthenticateMagicLinkInput{Session: auth.B2BSessionRequest{Duration: 2 * time.Hour}}
			if tt.token != nil {
				in.Token = tt.token(t, o, m, &in)
			} else {
				in.Token = f.link(o, m.EmailAddress)
			}
			before := rowsOf(t, f, m)
			res, err := f.Service.B2BAuthenticateMagicLink(ctx, p, in)
			after := rowsOf(t, f, m)
			switch tt.want {
			case "session", "mfa", "primary":
				if err != nil {
					t.Fatalf("authenticate: %v", err)
				}
			default:
				wantErr(t, err, auth.Code(tt.want))
				if after != before {
					t.Fatalf("a refused link wrote: before %+v, after %+v", before, after)
				}
				return
			}
			if !tt.wrote || after.consumedLinks != before.consumedLinks+1 {
				t.Fatalf("consumed links %d -> %d", before.consumedLinks, after.consumedLinks)
			}
			if !after.verified || after.status != string(auth.MemberActive) || !res.Member.EmailVerified || res.Member.Status != auth.MemberActive {
				t.Fatalf("member after = %+v, returned status %q verified %v", after, res.Member.Status, res.Member.EmailVerified)
			}
			if !res.Member.UpdatedAt.Equal(after.updatedAt) {
				t.Fatalf("returned updated_at %v, stored %v", res.Member.UpdatedAt, after.updatedAt)
			}
			if res.MethodID != m.EmailID {
				t.Fatalf("method id = %q, want %q", res.MethodID, m.EmailID)
			}
			want := []auth.Factor{{Type: auth.FactorMagicLink, DeliveryMethod: auth.DeliveryEmail, MethodID: m.EmailID, Value: m.EmailAddress}}
			if tt.want == "session" {
				if !res.Authenticated || res.SessionJWT == "" || res.IST != "" || after.sessions != before.sessions+1 || after.ists != before.ists {
					t.Fatalf("result %+v, rows %+v -> %+v: want a session only", res, before, after)
				}
				got, err := f.Service.AuthenticateMemberSession(ctx, p, auth.MemberSessionInput{Token: res.SessionToken})
				if err != nil {
					t.Fatalf("the new session does not authenticate: %v", err)
				}
				if !sameFactors(got.Session.Factors, want) || got.Session.OrganizationID != o.ID || got.Member.ID != m.ID {
					t.Fatalf("stored session = %+v", got.Session)
				}
				if d := got.Session.ExpiresAt.Sub(got.Session.StartedAt); d != 2*time.Hour {
					t.Fatalf("session lasts %v, want 2h", d)
				}
				return
			}
			if res.Authenticated || res.IST == "" || after.ists != before.ists+1 || after.sessions != before.sessions {
				t.Fatalf("result %+v, rows %+v -> %+v: want an IST only", res, before, after)
			}
			if (tt.want == "mfa") != (res.MFARequired != nil) || (tt.want == "primary") != (res.PrimaryRequired != nil) {
				t.Fatalf("mfa_required %+v, primary_required %+v, want %s", res.MFARequired, res.PrimaryRequired, tt.want)
			}
			ist, err := f.Store.FindIntermediateSession(ctx, p.ID, f.Keys.TokenHashes(res.IST))
			if err != nil {
				t.Fatalf("the IST is not stored: %v", err)
			}
			if ist.MemberID != m.ID || ist.OrganizationID != o.ID || ist.EmailAddress != m.EmailAddress || !sameFactors(ist.Factors, want) ||
				ist.ExpiresAt.Sub(res.ISTExpiresAt).Abs() >= time.Microsecond {
				t.Fatalf("stored IST = %+v", ist)
			}
		})
	}
}

// sameFactors compares factors by kind, method id and value.
func sameFactors(got, want []auth.Factor) bool {
	key := func(fs []auth.Factor) [][4]string {
		var k [][4]string
		for _, f := range fs {
			k = append(k, [4]string{f.Type, f.DeliveryMethod, f.MethodID, f.Value})
		}
		return k
	}
	return reflect.DeepEqual(key(got), key(want))
}

// TestB2BMagicLinkReturningMemberWritesNoMemberRow checks that a second
// login of an active, verified member leaves the member row alone (no
// new row version), while the first one activated and verified it.
func TestB2BMagicLinkReturningMemberWritesNoMemberRow(t *testing.T) {
	f := newFlowEnv(t)
	o := f.org(nil)
	m := f.member(o, flowEmail("acme.test"), func(in *auth.MemberInput) { in.CreatePending = true })
	f.primary(o, m)
	first := rowsOf(t, f, m)
	if first.status != string(auth.MemberActive) || !first.verified {
		t.Fatalf("after the first login: %+v", first)
	}
	res := f.primary(o, m)
	second := rowsOf(t, f, m)
	if !second.updatedAt.Equal(first.updatedAt) || !res.Member.UpdatedAt.Equal(first.updatedAt) {
		t.Fatalf("updated_at moved on a login that changed nothing: %v -> %v (returned %v)", first.updatedAt, second.updatedAt, res.Member.UpdatedAt)
	}
}

// TestB2BMagicLinkConcurrentUsesWinOnce races two authenticates of one
// link: exactly one gets a session, the other EMagicLinkUsed, and one
// session exists.
func TestB2BMagicLinkConcurrentUsesWinOnce(t *testing.T) {
	f := newFlowEnv(t)
	o := f.org(nil)
	m := f.member(o, flowEmail("acme.test"), nil)
	for round := range 5 {
		tok := f.link(o, m.EmailAddress)
		before := rowsOf(t, f, m)
		errs := make([]error, 2)
		var wg sync.WaitGroup
		for i := range errs {
			wg.Go(func() {
				_, errs[i] = f.Service.B2BAuthenticateMagicLink(t.Context(), f.Project, auth.B2BAuthenticateMagicLinkInput{Token: tok})
			})
		}
		wg.Wait()
		ok, used := 0, 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case auth.ErrorCode(err) == auth.EMagicLinkUsed:
				used++
			default:
				t.Fatalf("round %d: %v", round, err)
			}
		}
		if after := rowsOf(t, f, m); ok != 1 || used != 1 || after.sessions != before.sessions+1 {
			t.Fatalf("round %d: %d won, %d used, sessions %d -> %d", round, ok, used, before.sessions, after.sessions)
		}
	}
}
