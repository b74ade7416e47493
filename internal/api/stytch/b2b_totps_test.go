package stytch_test

import (
	"strings"
	"testing"
	"time"
)

// totpOrgSettings is an organization that demands MFA and allows only TOTP.
var totpOrgSettings = obj{"mfa_policy": "REQUIRED_FOR_ALL", "mfa_methods": "RESTRICTED", "allowed_mfa_methods": []string{"totp"}}

// memberTOTP is a member enrolled with an authenticator app.
type memberTOTP struct {
	orgID, memberID, email string
	regID, secret          string
	codes                  []string
	session                obj // the session the enrolment completed
}

// enrolMember signs a new member of orgID in by magic link, registers an
// authenticator app with the IST and completes the IST with a TOTP code.
func (f *fixture) enrolMember(t testing.TB, c *client, clk *clock, orgID string) *memberTOTP {
	t.Helper()
	email := uniqueEmail("b2b-totp")
	memberID := str(flowMember(t, c, orgID, email), "member_id")
	a := f.flowMagicLink(t, c, orgID, email, nil)
	ist := str(a, "intermediate_session_token")
	if ist == "" || a["member_authenticated"] != false {
		t.Fatalf("primary factor: %v", a)
	}
	if mr := sub(a, "mfa_required"); mr == nil || mr["secondary_auth_initiated"] != nil {
		t.Fatalf("mfa_required = %v, want nothing sent", a["mfa_required"])
	}
	cr := c.ok("POST", "/v1/b2b/totp", obj{"organization_id": orgID, "member_id": memberID, "intermediate_session_token": ist})
	secret, codes := checkEnrolment(t, cr)
	regID := str(cr, "totp_registration_id")
	if !strings.HasPrefix(regID, "totp-test-") || cr["member_id"] != memberID || sub(cr, "member")["totp_registration_id"] != "" {
		t.Fatalf("create: totp_registration_id %q member %v", regID, cr["member"])
	}
	done := c.ok("POST", "/v1/b2b/totp/authenticate", obj{
		"organization_id": orgID, "member_id": memberID, "code": totpCode(t, secret, clk.now), "intermediate_session_token": ist,
	})
	s := sub(done, "member_session")
	flowCheckSession(t, s, memberID, orgID)
	fs := factors(s)
	if len(fs) != 2 || fs[0]["type"] != "magic_link" || fs[1]["type"] != "totp" || fs[1]["delivery_method"] != "authenticator_app" ||
		sub(fs[1], "authenticator_app_factor")["totp_id"] != regID {
		t.Fatalf("factors = %v, want magic_link then totp/authenticator_app", fs)
	}
	m := sub(done, "member")
	if m["totp_registration_id"] != regID || m["mfa_enrolled"] != true || m["default_mfa_method"] != "totp" {
		t.Errorf("member after TOTP: %v", m)
	}
	if str(done, "session_token") == "" || str(done, "session_jwt") == "" || !flowHasKey(done, "member_device") {
		t.Errorf("authenticate body: %v", done)
	}
	return &memberTOTP{orgID: orgID, memberID: memberID, email: email, regID: regID, secret: secret, codes: codes, session: done}
}

func TestB2BTOTPCompletesTheISTAndIsOfferedNextTime(t *testing.T) {
	f := newFixture(t)
	clk := f.clock()
	c := f.c
	orgID := str(flowOrg(t, c, totpOrgSettings), "organization_id")
	e := f.enrolMember(t, c, clk, orgID)

	// The IST is spent.
	clk.advance(30 * time.Second)
	a := f.flowMagicLink(t, c, orgID, e.email, nil)
	mr := sub(a, "mfa_required")
	if opts := sub(mr, "member_options"); opts["totp_registration_id"] != e.regID || opts["mfa_phone_number"] != "" || mr["secondary_auth_initiated"] != nil {
		t.Fatalf("mfa_required = %v, want the TOTP registration and nothing sent", mr)
	}
	// SMS is not allowed in this organization.
	c.fail("POST", "/v1/b2b/otps/sms/send", obj{"organization_id": orgID, "member_id": e.memberID, "mfa_phone_number": uniquePhone(),
		"intermediate_session_token": a["intermediate_session_token"]}, 403, "operation_restricted_by_organization_mfa_methods")

	ist := a["intermediate_session_token"]
	code := totpCode(t, e.secret, clk.now)
	// A wrong code leaves the IST usable; the right one consumes it.
	c.fail("POST", "/v1/b2b/totp/authenticate", obj{"organization_id": orgID, "member_id": e.memberID, "code": otherCode(code), "intermediate_session_token": ist},
		401, "unable_to_authenticate_totp")
	done := c.ok("POST", "/v1/b2b/totp/authenticate", obj{"organization_id": orgID, "member_id": e.memberID, "code": code, "intermediate_session_token": ist,
		"session_duration_minutes": 30, "session_custom_claims": obj{"team": "blue"}})
	if sub(sub(done, "member_session"), "custom_claims")["team"] != "blue" {
		t.Errorf("custom claims: %v", done["member_session"])
	}
	clk.advance(30 * time.Second)
	c.fail("POST", "/v1/b2b/totp/authenticate", obj{"organization_id": orgID, "member_id": e.memberID, "code": totpCode(t, e.secret, clk.now), "intermediate_session_token": ist},
		404, "intermediate_session_not_found")
	// A replay with a live session is refused too.
	c.fail("POST", "/v1/b2b/totp/authenticate", obj{"organization_id": orgID, "member_id": e.memberID, "code": code, "session_token": done["session_token"]},
		401, "totp_code_already_authenticated")
}

func TestB2BTOTPWithASessionAddsTheFactorAndFollowsEnrollment(t *testing.T) {
	f := newFixture(t)
	clk := f.clock()
	c := f.c
	orgID := str(flowOrg(t, c, nil), "organization_id") // OPTIONAL, every method allowed
	email := uniqueEmail("b2b-totp-opt")
	memberID := str(flowMember(t, c, orgID, email), "member_id")
	login := f.flowMagicLink(t, c, orgID, email, nil)
	token := str(login, "session_token")
	if token == "" {
		t.Fatalf("OPTIONAL: %v", login)
	}
	cr := c.ok("POST", "/v1/b2b/totp", obj{"organization_id": orgID, "member_id": memberID, "session_token": token, "expiration_minutes": 10})
	secret, _ := checkEnrolment(t, cr)
	done := c.ok("POST", "/v1/b2b/totp/authenticate", obj{"organization_id": orgID, "member_id": memberID, "code": totpCode(t, secret, clk.now),
		"session_token": token, "set_mfa_enrollment": "enroll", "set_default_mfa": true})
	s := sub(done, "member_session")
	if s["member_session_id"] != sub(login, "member_session")["member_session_id"] || len(factors(s)) != 2 {
		t.Errorf("the session was not extended with the factor: %v", s)
	}
	if m := sub(done, "member"); m["mfa_enrolled"] != true || m["default_mfa_method"] != "totp" {
		t.Errorf("member after enroll: %v", m)
	}
	// Enrolled: the next sign-in demands the TOTP.
	if a := f.flowMagicLink(t, c, orgID, email, nil); a["member_authenticated"] != false ||
		sub(sub(a, "mfa_required"), "member_options")["totp_registration_id"] != str(cr, "totp_registration_id") {
		t.Errorf("after enroll: %v", a)
	}
	c.fail("POST", "/v1/b2b/totp/authenticate", obj{"organization_id": orgID, "member_id": memberID, "code": "123456", "session_token": token,
		"set_mfa_enrollment": "maybe"}, 400, "bad_request")
}

func TestB2BRecoveryCodesCompleteAnISTOnceAndRotationReplacesThem(t *testing.T) {
	f := newFixture(t)
	clk := f.clock()
	c := f.c
	orgID := str(flowOrg(t, c, totpOrgSettings), "organization_id")
	e := f.enrolMember(t, c, clk, orgID)
	recover := func(code string) (int, obj) {
		a := f.flowMagicLink(t, c, orgID, e.email, nil)
		return c.do("POST", "/v1/b2b/recovery_codes/recover", obj{"organization_id": orgID, "member_id": e.memberID, "recovery_code": code,
			"intermediate_session_token": a["intermediate_session_token"]})
	}

	st, r := recover(e.codes[0])
	if st != 200 {
		t.Fatalf("recover: %d %v", st, r)
	}
	checkMeta(t, r, 200)
	if r["recovery_codes_remaining"] != float64(len(e.codes)-1) {
		t.Errorf("recovery_codes_remaining = %v, want %d", r["recovery_codes_remaining"], len(e.codes)-1)
	}
	s := sub(r, "member_session")
	flowCheckSession(t, s, e.memberID, orgID)
	if fs := factors(s); len(fs) != 2 || fs[1]["type"] != "recovery_codes" || fs[1]["delivery_method"] != "recovery_code" ||
		!strings.HasPrefix(str(sub(fs[1], "recovery_code_factor"), "totp_recovery_code_id"), "totp-recovery-code-test-") {
		t.Errorf("factors = %v", fs)
	}
	st, r = recover(e.codes[0])
	checkError(t, st, r, 401, "unable_to_authenticate_recovery_code")

	got := c.ok("GET", "/v1/b2b/recovery_codes/"+orgID+"/"+e.memberID, nil)
	left := checkArray(t, got, "recovery_codes")
	if got["member_id"] != e.memberID || len(left) != len(e.codes)-1 || sub(got, "member")["totp_registration_id"] != e.regID {
		t.Fatalf("get: %v", got)
	}

	rot := c.ok("POST", "/v1/b2b/recovery_codes/rotate", obj{"organization_id": orgID, "member_id": e.memberID})
	fresh := checkArray(t, rot, "recovery_codes")
	if len(fresh) != len(e.codes) {
		t.Fatalf("rotate: %v", rot)
	}
	for _, x := range fresh {
		for _, old := range e.codes {
			if x == old {
				t.Errorf("rotate kept %s", old)
			}
		}
	}
	st, r = recover(e.codes[1])
	checkError(t, st, r, 401, "unable_to_authenticate_recovery_code")
	if st, r = recover(fresh[0].(string)); st != 200 || r["recovery_codes_remaining"] != float64(len(fresh)-1) {
		t.Errorf("recover with a rotated code: %d %v", st, r)
	}
}

func TestB2BTOTPCreateGuardsAnExistingFactor(t *testing.T) {
	f := newFixture(t)
	clk := f.clock()
	c := f.c
	orgID := str(flowOrg(t, c, totpOrgSettings), "organization_id")
	e := f.enrolMember(t, c, clk, orgID)
	// Without proof of the member's factor: the MFA-bypass guard.
	c.fail("POST", "/v1/b2b/totp", obj{"organization_id": orgID, "member_id": e.memberID}, 400, "no_associated_session_passed_in")
	// With the member's session: a verified registration must go first.
	c.fail("POST", "/v1/b2b/totp", obj{"organization_id": orgID, "member_id": e.memberID, "session_token": e.session["session_token"]}, 400, "active_totp_exists")
	// Another member's session proves nothing about this one.
	other := f.enrolMember(t, c, clk, orgID)
	c.fail("POST", "/v1/b2b/totp", obj{"organization_id": orgID, "member_id": e.memberID, "session_token": other.session["session_token"]}, 403, "unauthorized_action")
	c.fail("POST", "/v1/b2b/totp", obj{"organization_id": orgID, "member_id": e.memberID, "session_token": "a", "session_jwt": "b"}, 400, "too_many_session_arguments")
}

func TestB2BTOTPIsConfinedToItsOrganizationAndProject(t *testing.T) {
	f := newFixture(t)
	clk := f.clock()
	c := f.c
	orgA := str(flowOrg(t, c, totpOrgSettings), "organization_id")
	orgB := str(flowOrg(t, c, totpOrgSettings), "organization_id")
	e := f.enrolMember(t, c, clk, orgA)
	code := totpCode(t, e.secret, clk.now.Add(30*time.Second))
	// The member id named in another organization is no member there.
	c.fail("POST", "/v1/b2b/totp/authenticate", obj{"organization_id": orgB, "member_id": e.memberID, "code": code, "session_token": e.session["session_token"]}, 404, "member_not_found")
	c.fail("POST", "/v1/b2b/recovery_codes/recover", obj{"organization_id": orgB, "member_id": e.memberID, "recovery_code": e.codes[0], "session_token": e.session["session_token"]}, 404, "member_not_found")
	c.fail("GET", "/v1/b2b/recovery_codes/"+orgB+"/"+e.memberID, nil, 404, "member_not_found")
	c.fail("POST", "/v1/b2b/recovery_codes/rotate", obj{"organization_id": orgB, "member_id": e.memberID}, 404, "member_not_found")
	c.fail("DELETE", "/v1/b2b/organizations/"+orgB+"/members/"+e.memberID+"/totp", nil, 404, "member_not_found")
	// Nor from another project.
	p := f.project(t, false)
	p.fail("POST", "/v1/b2b/totp/authenticate", obj{"organization_id": orgA, "member_id": e.memberID, "code": code, "session_token": e.session["session_token"]}, 404, "organization_not_found")
	p.fail("GET", "/v1/b2b/recovery_codes/"+orgA+"/"+e.memberID, nil, 404, "organization_not_found")
	// A member session of organization B cannot complete organization A's IST.
	b := f.enrolMember(t, c, clk, orgB)
	c.fail("POST", "/v1/b2b/totp/authenticate", obj{"organization_id": orgA, "member_id": e.memberID, "code": code, "session_token": b.session["session_token"]}, 403, "unauthorized_action")
	// Still usable where it belongs.
	c.ok("POST", "/v1/b2b/totp/authenticate", obj{"organization_id": orgA, "member_id": e.memberID, "code": code, "session_token": e.session["session_token"]})
}

func TestB2BDeleteTOTPAndMFAPhoneShareARoute(t *testing.T) {
	f := newFixture(t)
	clk := f.clock()
	c := f.c
	orgID := str(flowOrg(t, c, obj{"mfa_policy": "REQUIRED_FOR_ALL"}), "organization_id")
	e := f.enrolMember(t, c, clk, orgID)

	// Both delete calls of the SDK reach their handler.
	phoneMember := str(c.ok("POST", "/v1/b2b/organizations/"+orgID+"/members", obj{"email_address": uniqueEmail("ph"), "mfa_phone_number": uniquePhone()}), "member_id")
	ph := c.ok("DELETE", "/v1/b2b/organizations/"+orgID+"/members/mfa_phone_numbers/"+phoneMember, nil)
	if ph["member_id"] != phoneMember || sub(ph, "member")["mfa_phone_number"] != "" {
		t.Errorf("deleteMFAPhoneNumber: %v", ph)
	}
	d := c.ok("DELETE", "/v1/b2b/organizations/"+orgID+"/members/"+e.memberID+"/totp", nil)
	if d["member_id"] != e.memberID || sub(d, "member")["totp_registration_id"] != "" || sub(d, "organization")["organization_id"] != orgID {
		t.Errorf("deleteTOTP: %v", d)
	}
	c.fail("GET", "/v1/b2b/recovery_codes/"+orgID+"/"+e.memberID, nil, 404, "totp_not_found")
	// Other shapes under the shared pattern are no route.
	c.fail("DELETE", "/v1/b2b/organizations/"+orgID+"/members/"+e.memberID+"/sms", nil, 404, "not_found")
	c.fail("DELETE", "/v1/b2b/organizations/"+orgID+"/members/"+e.memberID+"/reactivate", nil, 404, "not_found")
	// With member-session headers, a plain member may not delete another's TOTP.
	other := f.enrolMember(t, c, clk, orgID)
	st, m := flowAs(t, c, "X-Stytch-Member-Session", str(e.session, "session_token"), "DELETE", "/v1/b2b/organizations/"+orgID+"/members/"+other.memberID+"/totp", obj{})
	checkError(t, st, m, 403, "unauthorized_action")
}

func TestB2BTOTPBadInputIsAClear400(t *testing.T) {
	f := newFixture(t)
	c := f.c
	long := strings.Repeat("x", 200)
	ids := obj{"organization_id": "organization-test-x", "member_id": "member-test-x"}
	with := func(extra obj) obj {
		out := obj{}
		for k, v := range ids {
			out[k] = v
		}
		for k, v := range extra {
			out[k] = v
		}
		return out
	}
	for _, tc := range []struct {
		name, path string
		body       obj
		errorType  string
	}{
		{"create without organization", "/v1/b2b/totp", obj{"member_id": "m"}, "bad_request"},
		{"create without member", "/v1/b2b/totp", obj{"organization_id": "o"}, "bad_request"},
		{"create with a long member id", "/v1/b2b/totp", obj{"organization_id": "o", "member_id": long}, "bad_request"},
		{"create with a long IST", "/v1/b2b/totp", with(obj{"intermediate_session_token": strings.Repeat("t", 600)}), "bad_request"},
		{"create with two session arguments", "/v1/b2b/totp", with(obj{"intermediate_session_token": "a", "session_token": "b"}), "too_many_session_arguments"},
		{"authenticate without code", "/v1/b2b/totp/authenticate", with(obj{"session_token": "s"}), "bad_request"},
		{"authenticate with a long code", "/v1/b2b/totp/authenticate", with(obj{"code": long, "session_token": "s"}), "bad_request"},
		{"authenticate without any session argument", "/v1/b2b/totp/authenticate", with(obj{"code": "123456"}), "no_session_arguments"},
		{"authenticate with two session arguments", "/v1/b2b/totp/authenticate", with(obj{"code": "123456", "session_token": "a", "session_jwt": "b"}), "too_many_session_arguments"},
		{"recover without code", "/v1/b2b/recovery_codes/recover", with(obj{"session_token": "s"}), "bad_request"},
		{"recover without any session argument", "/v1/b2b/recovery_codes/recover", with(obj{"recovery_code": "abcd-efgh"}), "no_session_arguments"},
		{"rotate without member", "/v1/b2b/recovery_codes/rotate", obj{"organization_id": "o"}, "bad_request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c.fail("POST", tc.path, tc.body, 400, tc.errorType)
		})
	}
	c.fail("GET", "/v1/b2b/recovery_codes/o/"+long, nil, 400, "bad_request")
	c.fail("POST", "/v1/b2b/recovery_codes/o/m", obj{}, 405, "method_not_allowed")
}

func TestB2BTOTPMigrateImportsAVerifiedRegistrationThatCompletesTheIST(t *testing.T) {
	f := newFixture(t)
	clk := f.clock()
	c := f.c
	orgID := str(flowOrg(t, c, totpOrgSettings), "organization_id")
	email := uniqueEmail("b2b-totp-migrate")
	memberID := str(flowMember(t, c, orgID, email), "member_id")
	const secret = "JBSWY3DPEHPK3PXP"
	m := c.ok("POST", "/v1/b2b/totp/migrate", obj{"organization_id": orgID, "member_id": memberID, "secret": secret,
		"recovery_codes": []string{"imported-1", "imported-2"}})
	regID := str(m, "totp_registration_id")
	if !strings.HasPrefix(regID, "totp-test-") || m["member_id"] != memberID || sub(m, "member")["totp_registration_id"] != regID ||
		sub(m, "organization")["organization_id"] != orgID || m["secret"] != nil {
		t.Fatalf("migrate: %v", m)
	}
	if codes, _ := m["recovery_codes"].([]any); len(codes) != 2 || codes[0] != "imported-1" {
		t.Fatalf("recovery_codes = %v, want the imported ones", m["recovery_codes"])
	}
	// The next sign-in offers the migrated registration, and the member's
	// existing app completes the IST.
	a := f.flowMagicLink(t, c, orgID, email, nil)
	if opts := sub(sub(a, "mfa_required"), "member_options"); opts["totp_registration_id"] != regID {
		t.Fatalf("mfa_required = %v, want the migrated registration", a["mfa_required"])
	}
	done := c.ok("POST", "/v1/b2b/totp/authenticate", obj{"organization_id": orgID, "member_id": memberID,
		"code": totpCode(t, secret, clk.now), "intermediate_session_token": a["intermediate_session_token"]})
	flowCheckSession(t, sub(done, "member_session"), memberID, orgID)
	// An imported recovery code completes the next IST.
	a = f.flowMagicLink(t, c, orgID, email, nil)
	c.ok("POST", "/v1/b2b/recovery_codes/recover", obj{"organization_id": orgID, "member_id": memberID,
		"recovery_code": "imported-2", "intermediate_session_token": a["intermediate_session_token"]})

	for _, tc := range []struct {
		name      string
		body      obj
		status    int
		errorType string
	}{
		{"again while verified", obj{"organization_id": orgID, "member_id": memberID, "secret": secret}, 400, "active_totp_exists"},
		{"without secret", obj{"organization_id": orgID, "member_id": memberID}, 400, "bad_request"},
		{"a secret that is not base32", obj{"organization_id": orgID, "member_id": memberID, "secret": "01189998819991197253"}, 400, "bad_request"},
		{"recovery codes of the wrong type", obj{"organization_id": orgID, "member_id": memberID, "secret": secret, "recovery_codes": "abc"}, 400, "bad_request"},
		{"without member", obj{"organization_id": orgID, "secret": secret}, 400, "bad_request"},
		{"an unknown member", obj{"organization_id": orgID, "member_id": "member-test-00000000-0000-4000-8000-000000000000", "secret": secret}, 404, "member_not_found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c.fail("POST", "/v1/b2b/totp/migrate", tc.body, tc.status, tc.errorType)
		})
	}
}
