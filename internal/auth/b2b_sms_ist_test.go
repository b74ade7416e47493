package auth_test

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/internal/auth"
	"github.com/sesame-auth/sesame/internal/authtest"
)

// istLive reports whether the IST of token is still unconsumed.
func istLive(t *testing.T, f *flowEnv, token string) bool {
	t.Helper()
	var live bool
	err := f.Store.Pool().QueryRow(t.Context(), `SELECT consumed_at IS NULL FROM intermediate_sessions
		WHERE project_id = $1 AND token_hash = ANY($2::bytea[])`, f.Project.ID, f.Keys.TokenHashes(token)).Scan(&live)
	if err != nil {
		t.Fatal(err)
	}
	return live
}

// setMemberStatus writes a member's status straight to the database (the
// API has no call that leaves an active member pending).
func setMemberStatus(t *testing.T, f *flowEnv, m *auth.Member, status auth.MemberStatus) {
	t.Helper()
	if _, err := f.Store.Pool().Exec(t.Context(), `UPDATE members SET status = $3 WHERE project_id = $1 AND id = $2`,
		f.Project.ID, m.ID, string(status)); err != nil {
		t.Fatal(err)
	}
}

// TestB2BAuthenticateSMSWithIST covers the one-round-trip path of an SMS
// code with an IST (CheckMemberSMS): every refusal of the service's checks
// keeps its error (the statement's conditions agree with them: a
// disagreement would be EInternal), a refusal before the code is looked at
// counts no attempt and leaves the IST and the code alone, and a success
// consumes both and starts the session the multi-round-trip path would,
// also through its fallbacks (a member named by external id, a code bound
// to its challenge as before member binding).
func TestB2BAuthenticateSMSWithIST(t *testing.T) {
	f := newFlowEnv(t)
	ctx, p := t.Context(), f.Project
	restrictMFA := func(allowed ...string) func(in *auth.OrganizationInput) {
		return func(in *auth.OrganizationInput) {
			in.MFAMethods, in.AllowedMFAMethods = flowStr(auth.Restricted), allowed
		}
	}
	restrictAuth := func(allowed ...string) func(in *auth.OrganizationInput) {
		return func(in *auth.OrganizationInput) {
			in.AuthMethods, in.AllowedAuthMethods = flowStr(auth.Restricted), allowed
		}
	}
	updateOrg := func(t *testing.T, o *auth.Organization, mods func(in *auth.OrganizationInput)) {
		var in auth.OrganizationInput
		mods(&in)
		if _, err := f.Service.UpdateOrganization(ctx, p, o.ID, in, auth.Caller{}); err != nil {
			t.Fatal(err)
		}
	}
	breakglass := func(in *auth.MemberInput) { yes := true; in.IsBreakglass = &yes }
	tests := []struct {
		name   string
		member func(in *auth.MemberInput)
		// then runs once the member has an IST and a code on its phone
		// and may change the world and the request.
		then func(t *testing.T, o *auth.Organization, m *auth.Member, in *auth.B2BAuthenticateSMSInput)
		want auth.Code
	}{
		{"OK", nil, nil, ""},
		{"OKOrganizationBySlug", nil, func(t *testing.T, o *auth.Organization, m *auth.Member, in *auth.B2BAuthenticateSMSInput) {
			in.OrganizationID = o.Slug
		}, ""},
		{"OKMemberByExternalID", func(in *auth.MemberInput) { in.ExternalID = flowStr("ext-" + auth.NewUUID()[:8]) },
			func(t *testing.T, o *auth.Organization, m *auth.Member, in *auth.B2BAuthenticateSMSInput) {
				in.MemberID = m.ExternalID
			}, ""},
		{"OKCodeBoundToItsChallenge", nil, func(t *testing.T, o *auth.Organization, m *auth.Member, in *auth.B2BAuthenticateSMSInput) {
			now := time.Now().UTC()
			c := &auth.Challenge{ID: auth.NewID(auth.PrefixChallenge, p), ProjectID: p.ID, MemberID: m.ID, MethodID: m.MFAPhoneID,
				Channel: auth.ChannelSMS, ExpiresAt: now.Add(time.Minute), CreatedAt: now.Add(time.Second)}
			in.Code = wrong(in.Code)
			c.CodeHMAC = f.Keys.CodeMAC(c.ID, in.Code)
			if err := f.Store.CreateChallenge(ctx, c, nil, nil); err != nil {
				t.Fatal(err)
			}
		}, ""},
		{"OKSMSAllowedByTheList", nil, func(t *testing.T, o *auth.Organization, m *auth.Member, in *auth.B2BAuthenticateSMSInput) {
			updateOrg(t, o, restrictMFA(auth.MFAMethodSMS))
		}, ""},
		{"OKBreakglassWhereSMSIsRestricted", breakglass, func(t *testing.T, o *auth.Organization, m *auth.Member, in *auth.B2BAuthenticateSMSInput) {
			updateOrg(t, o, restrictMFA(auth.MFAMethodTOTP))
		}, ""},
		{"OKPrimaryAllowedByTheList", nil, func(t *testing.T, o *auth.Organization, m *auth.Member, in *auth.B2BAuthenticateSMSInput) {
			updateOrg(t, o, restrictAuth(auth.AuthMethodMagicLink))
		}, ""},
		{"OKBreakglassPrimaryNotInTheList", breakglass, func(t *testing.T, o *auth.Organization, m *auth.Member, in *auth.B2BAuthenticateSMSInput) {
			updateOrg(t, o, restrictAuth(auth.AuthMethodEmailOTP))
		}, ""},
		{"ErrSMSNotAllowed", nil, func(t *testing.T, o *auth.Organization, m *auth.Member, in *auth.B2BAuthenticateSMSInput) {
			updateOrg(t, o, restrictMFA(auth.MFAMethodTOTP))
		}, auth.EMFAMethodNotAllowed},
		{"ErrPrimaryNotAllowed", nil, func(t *testing.T, o *auth.Organization, m *auth.Member, in *auth.B2BAuthenticateSMSInput) {
			updateOrg(t, o, restrictAuth(auth.AuthMethodEmailOTP))
		}, auth.EPrimaryRequired},
		{"ErrOrganizationNotFound", nil, func(t *testing.T, o *auth.Organization, m *auth.Member, in *auth.B2BAuthenticateSMSInput) {
			in.OrganizationID = "organization-test-" + auth.NewUUID()
		}, auth.EOrganizationNotFound},
		{"ErrMemberNotFound", nil, func(t *testing.T, o *auth.Organization, m *auth.Member, in *auth.B2BAuthenticateSMSInput) {
			in.MemberID = "member-test-" + auth.NewUUID()
		}, auth.EMemberNotFound},
		{"ErrMemberPending", nil, func(t *testing.T, o *auth.Organization, m *auth.Member, in *auth.B2BAuthenticateSMSInput) {
			setMemberStatus(t, f, m, auth.MemberPending)
		}, auth.EInactiveMember},
		{"ErrMemberDeleted", nil, func(t *testing.T, o *auth.Organization, m *auth.Member, in *auth.B2BAuthenticateSMSInput) {
			setMemberStatus(t, f, m, auth.MemberDeleted)
		}, auth.EMemberDeleted},
		{"ErrPhoneRemoved", nil, func(t *testing.T, o *auth.Organization, m *auth.Member, in *auth.B2BAuthenticateSMSInput) {
			if _, _, err := f.Service.DeleteMemberMFAPhone(ctx, p, o.ID, m.ID, auth.Caller{}); err != nil {
				t.Fatal(err)
			}
		}, auth.EMemberPhoneNotFound},
		{"ErrUnknownIST", nil, func(t *testing.T, o *auth.Organization, m *auth.Member, in *auth.B2BAuthenticateSMSInput) {
			in.Session.IST = auth.NewToken()
		}, auth.EISTNotFound},
		{"ErrISTTooLong", nil, func(t *testing.T, o *auth.Organization, m *auth.Member, in *auth.B2BAuthenticateSMSInput) {
			in.Session.IST = strings.Repeat("a", 600)
		}, auth.EISTNotFound},
		{"ErrDiscoveryIST", nil, func(t *testing.T, o *auth.Organization, m *auth.Member, in *auth.B2BAuthenticateSMSInput) {
			tok, now := auth.NewToken(), time.Now().UTC()
			ist := &auth.IntermediateSession{ID: auth.NewID(auth.PrefixIntermediate, p), ProjectID: p.ID, TokenHash: f.Keys.TokenHash(tok),
				EmailAddress: m.EmailAddress, Factors: []auth.Factor{{Type: auth.FactorMagicLink, DeliveryMethod: auth.DeliveryEmail,
					MethodID: m.EmailID, Value: m.EmailAddress}}, ExpiresAt: now.Add(time.Minute), CreatedAt: now}
			if err := f.Store.CreateIntermediateSession(ctx, ist); err != nil {
				t.Fatal(err)
			}
			in.Session.IST = tok
		}, auth.EISTOrgMismatch},
		{"ErrWrongCode", nil, func(t *testing.T, o *auth.Organization, m *auth.Member, in *auth.B2BAuthenticateSMSInput) {
			in.Code = wrong(in.Code)
		}, auth.EOTPWrong},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := f.org(requireMFA)
			m := f.member(o, flowEmail("acme.test"), tt.member)
			ist := f.mfaIST(o, m)
			code := f.sendSMS(o, m, "+14155550161", "")
			m, _, err := f.Service.GetMember(ctx, p, o.ID, m.ID, "")
			if err != nil {
				t.Fatal(err)
			}
			in := auth.B2BAuthenticateSMSInput{OrganizationID: o.ID, MemberID: m.ID, Code: code, Session: auth.B2BSessionRequest{IST: ist, Duration: time.Hour}}
			if tt.then != nil {
				tt.then(t, o, m, &in)
			}
			res, err := f.Service.B2BAuthenticateSMS(ctx, p, in)
			wantErr(t, err, tt.want)
			attempts, consumed := challengeState(t, f.Env, m.MFAPhoneID)
			if tt.want != "" {
				wantAttempts := 0
				if tt.want == auth.EOTPWrong {
					wantAttempts = 1 // counted before the comparison
				}
				if attempts != wantAttempts || consumed || !istLive(t, f, ist) {
					t.Fatalf("after %s: attempts %d (want %d), code consumed %v, IST live %v", tt.want, attempts, wantAttempts, consumed, istLive(t, f, ist))
				}
				if got, _, err := f.Service.GetMember(ctx, p, o.ID, m.ID, ""); (err != nil && tt.want != auth.EMemberDeleted) || (err == nil && got.MFAPhoneVerified) {
					t.Fatalf("member after a refusal: %+v, %v", got, err)
				}
				return
			}
			if !consumed || istLive(t, f, ist) {
				t.Fatalf("after a success: code consumed %v, IST live %v", consumed, istLive(t, f, ist))
			}
			if !res.Authenticated || res.Member.ID != m.ID || !res.Member.MFAPhoneVerified || !res.Member.MFAEnrolled ||
				res.Member.DefaultMFAMethod != auth.MFAMethodSMS || res.MethodID != m.MFAPhoneID || res.Organization.ID != o.ID {
				t.Fatalf("result = %+v, member %+v", res, res.Member)
			}
			stored, _, err := f.Service.GetMember(ctx, p, o.ID, m.ID, "")
			if err != nil || !stored.MFAPhoneVerified || !stored.MFAEnrolled || stored.DefaultMFAMethod != auth.MFAMethodSMS ||
				!stored.UpdatedAt.Equal(res.Member.UpdatedAt) {
				t.Fatalf("stored member %+v (returned %+v), %v", stored, res.Member, err)
			}
			// The stored session is the one returned, with both factors.
			got, err := f.Service.AuthenticateMemberSession(ctx, p, auth.MemberSessionInput{Token: res.SessionToken})
			if err != nil {
				t.Fatal(err)
			}
			want := res.Session.Factors
			if kinds := factorKinds(want); !reflect.DeepEqual(kinds, []string{"magic_link/email", "otp/sms"}) {
				t.Fatalf("factors = %v", kinds)
			}
			if sms := want[1]; sms.MethodID != m.MFAPhoneID || sms.Value != "+14155550161" {
				t.Fatalf("SMS factor = %+v", sms)
			}
			if len(got.Session.Factors) != 2 || got.Session.ID != res.Session.ID || got.Session.Factors[1].MethodID != want[1].MethodID ||
				got.Session.Factors[1].Value != want[1].Value || !got.Session.Factors[1].LastAuthenticatedAt.Equal(want[1].LastAuthenticatedAt) ||
				got.Session.Factors[0].MethodID != want[0].MethodID || !got.Session.ExpiresAt.Equal(res.Session.ExpiresAt.Truncate(time.Microsecond)) {
				t.Fatalf("stored session %+v, returned %+v", got.Session, res.Session)
			}
			if claims := jwtPayload(t, res.SessionJWT); claims["sub"] != m.ID {
				t.Fatalf("JWT claims %v", claims)
			}
			// Single use: the IST is gone.
			_, err = f.Service.B2BAuthenticateSMS(ctx, p, auth.B2BAuthenticateSMSInput{OrganizationID: o.ID, MemberID: m.ID,
				Code: f.sendSMS(o, m, "", ""), Session: auth.B2BSessionRequest{IST: ist}})
			wantErr(t, err, auth.EISTNotFound)
		})
	}
}

// TestB2BAuthenticateSMSWithISTVerifyLimits: the verify limits ride in the
// IST check's statement: beyond the per-method limit (keyed by the
// member's MFA phone id, as for the other member code checks) a right code
// is ERateLimited, counts no attempt and consumes neither the code nor the
// IST.
func TestB2BAuthenticateSMSWithISTVerifyLimits(t *testing.T) {
	f := &flowEnv{Env: authtest.New(t, authtest.WithConfig(auth.Config{SendLimit: 1000, IPVerifyLimit: 100})), t: t}
	ctx, p := auth.WithClientIP(context.Background(), "198.51.100.9"), f.Project
	if _, err := f.Service.UpdateProject(ctx, p.ID, auth.UpdateProjectInput{Settings: &auth.Settings{VerifyLimit: 2}}); err != nil {
		t.Fatal(err)
	}
	o := f.org(requireMFA)
	m := f.member(o, flowEmail("acme.test"), nil)
	ist := f.mfaIST(o, m)
	code := f.sendSMS(o, m, "+14155550162", "")
	m, _, err := f.Service.GetMember(ctx, p, o.ID, m.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	in := auth.B2BAuthenticateSMSInput{OrganizationID: o.ID, MemberID: m.ID, Code: wrong(code), Session: auth.B2BSessionRequest{IST: ist}}
	for i := range 2 {
		if _, err := f.Service.B2BAuthenticateSMS(ctx, p, in); auth.ErrorCode(err) != auth.EOTPWrong {
			t.Fatalf("check %d: %v, want %s", i+1, err, auth.EOTPWrong)
		}
	}
	var keys []string
	rows, err := f.Store.Pool().Query(ctx, `SELECT key FROM rate_limit_tats WHERE key LIKE '%' || $1 ORDER BY key`, p.ID+":%")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(k, "verify") {
			keys = append(keys, k)
		}
	}
	if want := []string{"verify-ip:" + p.ID + ":198.51.100.9", "verify:" + p.ID + ":" + m.MFAPhoneID}; !reflect.DeepEqual(keys, want) {
		t.Fatalf("limit keys %v, want %v", keys, want)
	}
	in.Code = code
	_, err = f.Service.B2BAuthenticateSMS(ctx, p, in)
	wantErr(t, err, auth.ERateLimited)
	if ra := auth.RetryAfter(err); ra < time.Second || ra > 10*time.Minute {
		t.Fatalf("Retry-After %v, want 1s..10m", ra)
	}
	if attempts, consumed := challengeState(t, f.Env, m.MFAPhoneID); attempts != 2 || consumed || !istLive(t, f, ist) {
		t.Fatalf("the refused check counted an attempt (%d) or consumed the code (%v) or the IST (live %v)", attempts, consumed, istLive(t, f, ist))
	}
}

// TestB2BAuthenticateSMSWithISTConcurrentUsesWinOnce: the same IST and
// right code sent eight times at once start exactly one session; the
// others find the IST or the code used, and nothing else is written.
func TestB2BAuthenticateSMSWithISTConcurrentUsesWinOnce(t *testing.T) {
	f := newFlowEnv(t)
	ctx, p := t.Context(), f.Project
	o := f.org(requireMFA)
	m := f.member(o, flowEmail("acme.test"), nil)
	ist := f.mfaIST(o, m)
	in := auth.B2BAuthenticateSMSInput{OrganizationID: o.ID, MemberID: m.ID, Code: f.sendSMS(o, m, "+14155550163", ""),
		Session: auth.B2BSessionRequest{IST: ist}}
	const n = 8
	errs := make(chan error, n)
	for range n {
		go func() {
			_, err := f.Service.B2BAuthenticateSMS(ctx, p, in)
			errs <- err
		}()
	}
	ok := 0
	for range n {
		switch err := <-errs; auth.ErrorCode(err) {
		case "":
			ok++
		case auth.EISTNotFound, auth.EOTPExpired:
		default:
			t.Fatalf("concurrent use: %v", err)
		}
	}
	var sessions int
	if err := f.Store.Pool().QueryRow(ctx, `SELECT count(*) FROM sessions WHERE project_id = $1 AND member_id = $2`, p.ID, m.ID).Scan(&sessions); err != nil {
		t.Fatal(err)
	}
	if ok != 1 || sessions != 1 || istLive(t, f, ist) {
		t.Fatalf("%d successes, %d sessions, IST live %v; want 1, 1, false", ok, sessions, istLive(t, f, ist))
	}
}

// TestB2BAuthenticateSMSWithISTWritesAnUnchangedMemberNot: an enrolled
// member's next login changes nothing on the member, so the statement does
// not write it (updated_at stays), and the result is the member as stored.
func TestB2BAuthenticateSMSWithISTWritesAnUnchangedMemberNot(t *testing.T) {
	f := newFlowEnv(t)
	ctx, p := t.Context(), f.Project
	o := f.org(requireMFA)
	m := f.member(o, flowEmail("acme.test"), nil)
	f.enroll(o, m, "+14155550164")
	ist := f.mfaIST(o, m) // the primary factor texts the verified phone
	before, _, err := f.Service.GetMember(ctx, p, o.ID, m.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	res, err := f.Service.B2BAuthenticateSMS(ctx, p, auth.B2BAuthenticateSMSInput{OrganizationID: o.ID, MemberID: m.ID,
		Code: f.LastCode("+14155550164"), Session: auth.B2BSessionRequest{IST: ist}})
	if err != nil {
		t.Fatal(err)
	}
	stored, _, err := f.Service.GetMember(ctx, p, o.ID, m.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	if !res.Authenticated || !stored.UpdatedAt.Equal(before.UpdatedAt) || !reflect.DeepEqual(res.Member, stored) {
		t.Fatalf("second login: member %+v, stored %+v (updated at %v before)", res.Member, stored, before.UpdatedAt)
	}
}
