package stytch_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/internal/auth"
)

// flowOrgClaim is the B2B organization claim of a member session JWT.
const flowOrgClaim = "https://stytch.com/organization"

// flowOrg creates an organization with a unique slug and the given
// settings and returns the Organization object.
func flowOrg(t testing.TB, c *client, settings obj) obj {
	t.Helper()
	slug := "org-" + auth.NewUUID()[:8]
	body := obj{"organization_name": "Org " + slug, "organization_slug": slug}
	for k, v := range settings {
		body[k] = v
	}
	o := sub(c.ok("POST", "/v1/b2b/organizations", body), "organization")
	if str(o, "organization_id") == "" {
		t.Fatalf("create organization: %v", o)
	}
	return o
}

// flowMember creates an active member of org with email.
func flowMember(t testing.TB, c *client, orgID, email string) obj {
	t.Helper()
	m := sub(c.ok("POST", "/v1/b2b/organizations/"+orgID+"/members", obj{"email_address": email}), "member")
	if str(m, "member_id") == "" {
		t.Fatalf("create member: %v", m)
	}
	return m
}

// flowMagicLink sends a login link to email in org and authenticates it
// with extra fields, returning the authenticate body.
func (f *fixture) flowMagicLink(t testing.TB, c *client, orgID, email string, extra obj) obj {
	t.Helper()
	c.ok("POST", "/v1/b2b/magic_links/email/login_or_signup", obj{"organization_id": orgID, "email_address": email})
	token := f.env.LastToken(email)
	if token == "" {
		t.Fatalf("no magic link was sent to %s", email)
	}
	body := obj{"magic_links_token": token}
	for k, v := range extra {
		body[k] = v
	}
	return c.ok("POST", "/v1/b2b/magic_links/authenticate", body)
}

// flowCheckSession checks the MemberSession object shape of §C.4.
func flowCheckSession(t testing.TB, s obj, memberID, orgID string) {
	t.Helper()
	if s == nil {
		t.Fatal("member_session is null")
	}
	if str(s, "member_session_id") == "" || s["member_id"] != memberID || s["organization_id"] != orgID || str(s, "organization_slug") == "" {
		t.Errorf("member_session ids: %v", s)
	}
	for _, k := range []string{"started_at", "last_accessed_at", "expires_at"} {
		checkTime(t, k, s[k])
	}
	roles := checkArray(t, s, "roles")
	if len(roles) == 0 || roles[0] != "stytch_member" {
		t.Errorf("roles = %v, want stytch_member first", roles)
	}
	if _, ok := s["custom_claims"].(obj); !ok {
		t.Errorf("custom_claims = %v, want an object", s["custom_claims"])
	}
	for i, fc := range factors(s) {
		want := "SECONDARY"
		if i == 0 {
			want = "PRIMARY"
		}
		if fc["sequence_order"] != want {
			t.Errorf("factor %d sequence_order = %v, want %s", i, fc["sequence_order"], want)
		}
	}
}

// flowHasKey reports whether m has key (even with a null value).
func flowHasKey(m obj, key string) bool { _, ok := m[key]; return ok }

// TestB2BSeedMagicLinkThenSMSCode runs seed 004's six steps over HTTP
// with its request bodies, then signs in again: the code is sent at once
// and the first IST cannot be used again.
func TestB2BSeedMagicLinkThenSMSCode(t *testing.T) {
	f := newFixture(t)
	c := f.c
	org := flowOrg(t, c, nil)
	orgID, slug := str(org, "organization_id"), str(org, "organization_slug")
	email, phone := uniqueEmail("seed"), uniquePhone()
	memberID := str(flowMember(t, c, orgID, email), "member_id")

	// Step 1: the seed updates with POST.
	updated := c.ok("POST", "/v1/b2b/organizations/"+orgID, `{
"mfa_policy": "REQUIRED_FOR_ALL"
}`)
	if sub(updated, "organization")["mfa_policy"] != "REQUIRED_FOR_ALL" {
		t.Fatalf("update: %v", updated)
	}

	// Step 2: login_or_signup, then authenticate the emailed token.
	sent := c.ok("POST", "/v1/b2b/magic_links/email/login_or_signup", `{
"organization_id": "`+orgID+`",
"email_address": "`+email+`"
}`)
	if sent["member_id"] != memberID || sent["member_created"] != false || sub(sent, "member")["member_id"] != memberID ||
		sub(sent, "organization")["organization_id"] != orgID {
		t.Fatalf("login_or_signup: %v", sent)
	}
	token := f.env.LastToken(email)
	if token == "" {
		t.Fatal("no magic link was sent")
	}
	a := c.ok("POST", "/v1/b2b/magic_links/authenticate", `{
"magic_links_token": "`+token+`"
}`)

	// Step 3: MFA is pending.
	ist := str(a, "intermediate_session_token")
	if a["member_authenticated"] != false || ist == "" || a["member_id"] != memberID || a["organization_id"] != orgID ||
		a["reset_sessions"] != false || !strings.HasPrefix(str(a, "method_id"), "member-email-") {
		t.Fatalf("authenticate: %v", a)
	}
	for _, k := range []string{"session_token", "session_jwt"} {
		if v, ok := a[k]; !ok || v != "" {
			t.Errorf("%s = %#v, want present and empty", k, v)
		}
	}
	for _, k := range []string{"member_session", "primary_required", "member_device"} {
		if v, ok := a[k]; !ok || v != nil {
			t.Errorf("%s = %#v, want present and null", k, v)
		}
	}
	mfa := sub(a, "mfa_required")
	if mfa == nil || !flowHasKey(mfa, "member_options") || mfa["member_options"] != nil || mfa["secondary_auth_initiated"] != nil {
		t.Errorf("mfa_required = %#v, want {member_options: null, secondary_auth_initiated: null}", a["mfa_required"])
	}
	if d := time.Until(checkTime(t, "intermediate_session_token_expires_at", a["intermediate_session_token_expires_at"])); d < 9*time.Minute || d > 10*time.Minute+time.Second {
		t.Errorf("IST expires in %v, want 10m", d)
	}
	if sub(a, "member")["status"] != "active" || sub(a, "organization")["organization_id"] != orgID {
		t.Errorf("member/organization: %v %v", a["member"], a["organization"])
	}

	// Step 4: send the code to the new MFA phone.
	sms := c.ok("POST", "/v1/b2b/otps/sms/send", `{
"organization_id": "`+orgID+`",
"member_id": "`+memberID+`",
"mfa_phone_number": "`+phone+`"
}`)
	if sms["member_id"] != memberID || sub(sms, "organization")["organization_id"] != orgID {
		t.Fatalf("sms send: %v", sms)
	}
	code := f.env.LastCode(phone)
	if code == "" {
		t.Fatal("no code was sent")
	}

	// Step 5 and 6: the second factor makes the session.
	done := c.ok("POST", "/v1/b2b/otps/sms/authenticate", `{
"organization_id": "`+orgID+`",
"member_id": "`+memberID+`",
"intermediate_session_token": "`+ist+`",
"code": "`+code+`"
}`)
	m := sub(done, "member")
	if m["mfa_enrolled"] != true || m["mfa_phone_number_verified"] != true || m["mfa_phone_number"] != phone || m["email_address"] != email {
		t.Errorf("member after MFA: %v", m)
	}
	if done["member_id"] != memberID || str(done, "session_token") == "" || !flowHasKey(done, "member_device") {
		t.Errorf("sms authenticate: %v", done)
	}
	s := sub(done, "member_session")
	flowCheckSession(t, s, memberID, orgID)
	if s["organization_slug"] != slug {
		t.Errorf("organization_slug = %v, want %s", s["organization_slug"], slug)
	}
	fs := factors(s)
	if len(fs) != 2 {
		t.Fatalf("factors = %v, want 2", fs)
	}
	if fs[0]["type"] != "magic_link" || fs[0]["delivery_method"] != "email" || sub(fs[0], "email_factor")["email_address"] != email {
		t.Errorf("primary factor = %v", fs[0])
	}
	if fs[1]["type"] != "otp" || fs[1]["delivery_method"] != "sms" || sub(fs[1], "phone_number_factor")["phone_number"] != phone {
		t.Errorf("secondary factor = %v", fs[1])
	}
	if d := time.Until(checkTime(t, "expires_at", s["expires_at"])); d < 58*time.Minute || d > 61*time.Minute {
		t.Errorf("session expires in %v, want ~60m", d)
	}
	claims := jwtPayload(t, str(done, "session_jwt"))
	if oc := sub(claims, flowOrgClaim); oc["organization_id"] != orgID || oc["slug"] != slug {
		t.Errorf("organization claim = %v", claims[flowOrgClaim])
	}
	if claims["sub"] != memberID {
		t.Errorf("sub = %v, want %s", claims["sub"], memberID)
	}

	// Signing in again: the member has a verified phone, so the code goes
	// out at once with the new IST.
	again := f.flowMagicLink(t, c, orgID, email, nil)
	ist2 := str(again, "intermediate_session_token")
	mfa2 := sub(again, "mfa_required")
	if again["member_authenticated"] != false || ist2 == "" || ist2 == ist || mfa2["secondary_auth_initiated"] != "sms_otp" ||
		sub(mfa2, "member_options")["mfa_phone_number"] != phone {
		t.Fatalf("second authenticate: %v", again)
	}
	code2 := f.env.LastCode(phone)
	if code2 == "" || f.env.Publisher.Last(phone, auth.KindOTP) == nil {
		t.Fatal("no code was sent at once")
	}
	// The first IST was consumed: it does not work even with a right code.
	c.fail("POST", "/v1/b2b/otps/sms/authenticate", obj{
		"organization_id": orgID, "member_id": memberID, "intermediate_session_token": ist, "code": code2,
	}, 404, "intermediate_session_not_found")
	final := c.ok("POST", "/v1/b2b/otps/sms/authenticate", obj{
		"organization_id": slug, "member_id": memberID, "intermediate_session_token": ist2, "code": code2,
	})
	flowCheckSession(t, sub(final, "member_session"), memberID, orgID)
}

func TestB2BSMSAuthenticateRefusals(t *testing.T) {
	f := newFixture(t)
	c := f.c
	orgID := str(flowOrg(t, c, obj{"mfa_policy": "REQUIRED_FOR_ALL"}), "organization_id")
	email, phone := uniqueEmail("refuse"), uniquePhone()
	memberID := str(flowMember(t, c, orgID, email), "member_id")
	a := f.flowMagicLink(t, c, orgID, email, nil)
	ist := str(a, "intermediate_session_token")
	c.ok("POST", "/v1/b2b/otps/sms/send", obj{"organization_id": orgID, "member_id": memberID, "mfa_phone_number": phone, "intermediate_session_token": ist})
	code := f.env.LastCode(phone)
	wrong := "000001"
	if code == wrong {
		wrong = "000002"
	}
	base := func(extra obj) obj {
		b := obj{"organization_id": orgID, "member_id": memberID, "code": code}
		for k, v := range extra {
			b[k] = v
		}
		return b
	}
	for _, tc := range []struct {
		name      string
		body      obj
		status    int
		errorType string
	}{
		{"both an IST and a session token", base(obj{"intermediate_session_token": ist, "session_token": "tok"}), 400, "too_many_session_arguments"},
		{"both an IST and a session JWT", base(obj{"intermediate_session_token": ist, "session_jwt": "a.b.c"}), 400, "too_many_session_arguments"},
		{"no IST nor session", base(nil), 400, "no_session_arguments"},
		{"unknown set_mfa_enrollment", base(obj{"intermediate_session_token": ist, "set_mfa_enrollment": "maybe"}), 400, "bad_request"},
		{"organization_id too long", base(obj{"intermediate_session_token": ist, "organization_id": strings.Repeat("o", 129)}), 400, "bad_request"},
		{"member_id with a NUL", base(obj{"intermediate_session_token": ist, "member_id": "member\x00"}), 400, "bad_request"},
		{"IST too long", base(obj{"intermediate_session_token": strings.Repeat("i", 513)}), 400, "bad_request"},
		{"unknown IST", base(obj{"intermediate_session_token": "no-such-ist"}), 404, "intermediate_session_not_found"},
		{"wrong code", base(obj{"intermediate_session_token": ist, "code": wrong}), 404, "otp_code_not_found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := c.fail("POST", "/v1/b2b/otps/sms/authenticate", tc.body, tc.status, tc.errorType)
			if tc.errorType == "bad_request" {
				msg := str(m, "error_message")
				if !strings.Contains(msg, "set_mfa_enrollment") && !strings.Contains(msg, "organization_id") && !strings.Contains(msg, "member_id") &&
					!strings.Contains(msg, "intermediate_session_token") {
					t.Errorf("error_message %q names no field", msg)
				}
			}
		})
	}
	// After the refusals the right code with the IST still works.
	ok := c.ok("POST", "/v1/b2b/otps/sms/authenticate", base(obj{"intermediate_session_token": ist}))
	flowCheckSession(t, sub(ok, "member_session"), memberID, orgID)
}

func TestB2BMagicLinkWithoutMFAStartsAMemberSession(t *testing.T) {
	f := newFixture(t)
	c := f.c
	orgID := str(flowOrg(t, c, nil), "organization_id")
	email := uniqueEmail("nomfa")
	memberID := str(flowMember(t, c, orgID, email), "member_id")

	a := f.flowMagicLink(t, c, orgID, email, obj{"session_duration_minutes": 30, "session_custom_claims": obj{"tier": "gold"}, "telemetry_id": "t-1", "locale": "en"})
	if a["member_authenticated"] != true || a["intermediate_session_token"] != "" || a["mfa_required"] != nil ||
		str(a, "session_token") == "" || strings.Count(str(a, "session_jwt"), ".") != 2 {
		t.Fatalf("authenticate: %v", a)
	}
	if _, has := a["intermediate_session_token_expires_at"]; has {
		t.Errorf("intermediate_session_token_expires_at is set without an IST: %v", a)
	}
	s := sub(a, "member_session")
	flowCheckSession(t, s, memberID, orgID)
	if fs := factors(s); len(fs) != 1 || fs[0]["type"] != "magic_link" {
		t.Errorf("factors = %v", fs)
	}
	if sub(s, "custom_claims")["tier"] != "gold" {
		t.Errorf("custom_claims = %v", s["custom_claims"])
	}
	if d := time.Until(checkTime(t, "expires_at", s["expires_at"])); d < 28*time.Minute || d > 31*time.Minute {
		t.Errorf("session expires in %v, want ~30m", d)
	}
	claims := jwtPayload(t, str(a, "session_jwt"))
	if sub(claims, flowOrgClaim)["organization_id"] != orgID || claims["tier"] != "gold" {
		t.Errorf("JWT claims = %v", claims)
	}
}

func TestB2BMagicLinkSessionDurationIsChecked(t *testing.T) {
	f := newFixture(t)
	c := f.c
	orgID := str(flowOrg(t, c, nil), "organization_id")
	email := uniqueEmail("dur")
	flowMember(t, c, orgID, email)
	for _, minutes := range []int{4, 527041} {
		c.ok("POST", "/v1/b2b/magic_links/email/login_or_signup", obj{"organization_id": orgID, "email_address": email})
		c.fail("POST", "/v1/b2b/magic_links/authenticate", obj{"magic_links_token": f.env.LastToken(email), "session_duration_minutes": minutes},
			400, "invalid_session_duration_minutes")
	}
}

func TestB2BMemberSessions(t *testing.T) {
	f := newFixture(t)
	c := f.c
	orgA := str(flowOrg(t, c, nil), "organization_id")
	orgB := str(flowOrg(t, c, nil), "organization_id")
	email := uniqueEmail("sess")
	memberID := str(flowMember(t, c, orgA, email), "member_id")
	login := f.flowMagicLink(t, c, orgA, email, nil)
	token, jwtStr := str(login, "session_token"), str(login, "session_jwt")
	sessionID := str(sub(login, "member_session"), "member_session_id")

	list := c.ok("GET", "/v1/b2b/sessions?organization_id="+orgA+"&member_id="+memberID, nil)
	if ss := checkArray(t, list, "member_sessions"); len(ss) != 1 || ss[0].(obj)["member_session_id"] != sessionID {
		t.Errorf("member_sessions = %v", list["member_sessions"])
	}

	for _, tc := range []struct {
		name string
		body obj
	}{
		{"token", obj{"session_token": token}},
		{"jwt", obj{"session_jwt": jwtStr}},
	} {
		t.Run("authenticate by "+tc.name, func(t *testing.T) {
			m := c.ok("POST", "/v1/b2b/sessions/authenticate", tc.body)
			flowCheckSession(t, sub(m, "member_session"), memberID, orgA)
			if sub(m, "member_session")["member_session_id"] != sessionID || m["session_token"] != token ||
				sub(m, "member")["member_id"] != memberID || sub(m, "organization")["organization_id"] != orgA ||
				strings.Count(str(m, "session_jwt"), ".") != 2 {
				t.Errorf("authenticate: %v", m)
			}
			if v, ok := m["verdict"]; ok && v != nil {
				t.Errorf("verdict = %v without authorization_check", v)
			}
		})
	}

	t.Run("authorization check granted by stytch_member on itself", func(t *testing.T) {
		m := c.ok("POST", "/v1/b2b/sessions/authenticate", obj{
			"session_token":       token,
			"authorization_check": obj{"organization_id": orgA, "resource_id": "stytch.self", "action": "update.info.name"},
		})
		v := sub(m, "verdict")
		if roles := checkArray(t, v, "granting_roles"); v["authorized"] != true || len(roles) != 1 || roles[0] != "stytch_member" {
			t.Errorf("verdict = %v", m["verdict"])
		}
	})
	for _, tc := range []struct {
		name  string
		check obj
	}{
		{"another organization", obj{"organization_id": orgB, "resource_id": "stytch.self", "action": "update.info.name"}},
		{"a resource the member role does not grant", obj{"organization_id": orgA, "resource_id": "stytch.organization", "action": "update.settings.mfa-policy"}},
	} {
		t.Run("authorization check on "+tc.name+" is 403", func(t *testing.T) {
			c.fail("POST", "/v1/b2b/sessions/authenticate", obj{"session_token": token, "authorization_check": tc.check}, http.StatusForbidden, "unauthorized_action")
		})
	}

	t.Run("a member session is refused on the consumer route", func(t *testing.T) {
		c.fail("POST", "/v1/sessions/authenticate", obj{"session_token": token}, 404, "session_not_found")
	})
	t.Run("a consumer session is refused on the B2B route", func(t *testing.T) {
		consumer := f.login(t, c, nil)
		c.fail("POST", "/v1/b2b/sessions/authenticate", obj{"session_token": consumer["session_token"]}, 404, "session_not_found")
		c.fail("POST", "/v1/b2b/sessions/authenticate", obj{"session_jwt": consumer["session_jwt"]}, 404, "session_not_found")
	})

	t.Run("revoke arguments", func(t *testing.T) {
		c.fail("POST", "/v1/b2b/sessions/revoke", obj{}, 400, "no_session_revoke_arguments")
		c.fail("POST", "/v1/b2b/sessions/revoke", obj{"member_session_id": sessionID, "member_id": memberID}, 400, "too_many_session_revoke_arguments")
		c.fail("POST", "/v1/b2b/sessions/revoke", obj{"member_session_id": strings.Repeat("s", 129)}, 400, "bad_request")
	})

	t.Run("revoke by id ends the session", func(t *testing.T) {
		m := c.ok("POST", "/v1/b2b/sessions/revoke", obj{"member_session_id": sessionID})
		if len(m) != 2 {
			t.Errorf("revoke body = %v, want only request_id and status_code", m)
		}
		c.fail("POST", "/v1/b2b/sessions/authenticate", obj{"session_token": token}, 404, "session_not_found")
		list := c.ok("GET", "/v1/b2b/sessions?organization_id="+orgA+"&member_id="+memberID, nil)
		if ss := checkArray(t, list, "member_sessions"); len(ss) != 0 {
			t.Errorf("member_sessions after revoke = %v", ss)
		}
	})

	t.Run("revoke by member_id ends every session", func(t *testing.T) {
		one := f.flowMagicLink(t, c, orgA, email, nil)
		two := f.flowMagicLink(t, c, orgA, email, nil)
		c.ok("POST", "/v1/b2b/sessions/revoke", obj{"member_id": memberID})
		for _, l := range []obj{one, two} {
			c.fail("POST", "/v1/b2b/sessions/authenticate", obj{"session_token": l["session_token"]}, 404, "session_not_found")
		}
	})
}

func TestB2BSessionExchangeToAnotherOrganization(t *testing.T) {
	f := newFixture(t)
	c := f.c
	orgA := str(flowOrg(t, c, nil), "organization_id")
	orgB := str(flowOrg(t, c, nil), "organization_id")
	orgMFA := str(flowOrg(t, c, obj{"mfa_policy": "REQUIRED_FOR_ALL"}), "organization_id")
	email := uniqueEmail("xchg")
	flowMember(t, c, orgA, email)
	memberB := str(flowMember(t, c, orgB, email), "member_id")
	memberMFA := str(flowMember(t, c, orgMFA, email), "member_id")
	login := f.flowMagicLink(t, c, orgA, email, nil)

	m := c.ok("POST", "/v1/b2b/sessions/exchange", obj{"organization_id": orgB, "session_token": login["session_token"], "telemetry_id": "x"})
	if m["member_authenticated"] != true || m["member_id"] != memberB || m["organization_id"] != orgB || str(m, "session_token") == "" {
		t.Fatalf("exchange: %v", m)
	}
	flowCheckSession(t, sub(m, "member_session"), memberB, orgB)
	if _, has := m["method_id"]; has {
		t.Errorf("exchange has method_id: %v", m)
	}

	mfa := c.ok("POST", "/v1/b2b/sessions/exchange", obj{"organization_id": orgMFA, "session_jwt": login["session_jwt"]})
	if mfa["member_authenticated"] != false || mfa["member_id"] != memberMFA || str(mfa, "intermediate_session_token") == "" ||
		mfa["session_token"] != "" || mfa["member_session"] != nil || sub(mfa, "mfa_required") == nil {
		t.Errorf("exchange into an MFA organization: %v", mfa)
	}
	c.fail("POST", "/v1/b2b/sessions/exchange", obj{"organization_id": orgB, "session_token": login["session_token"], "locale": strings.Repeat("l", 36)}, 400, "bad_request")
}

func TestB2BEmailOTPAsPrimaryFactor(t *testing.T) {
	f := newFixture(t)
	c := f.c
	orgID := str(flowOrg(t, c, nil), "organization_id")
	email := uniqueEmail("eotp")
	member := flowMember(t, c, orgID, email)
	memberID := str(member, "member_id")

	sent := c.ok("POST", "/v1/b2b/otps/email/login_or_signup", obj{"organization_id": orgID, "email_address": email, "login_template_id": "tpl"})
	if sent["member_id"] != memberID || sent["member_created"] != false {
		t.Fatalf("login_or_signup: %v", sent)
	}
	code := f.env.LastCode(email)
	if code == "" {
		t.Fatal("no code was sent")
	}
	wrong := "000001"
	if code == wrong {
		wrong = "000002"
	}
	c.fail("POST", "/v1/b2b/otps/email/authenticate", obj{"organization_id": orgID, "email_address": email, "code": wrong}, 404, "otp_code_not_found")
	a := c.ok("POST", "/v1/b2b/otps/email/authenticate", obj{"organization_id": orgID, "email_address": email, "code": code})
	if a["member_authenticated"] != true || a["member_id"] != memberID || str(a, "method_id") == "" || str(a, "session_token") == "" {
		t.Fatalf("authenticate: %v", a)
	}
	flowCheckSession(t, sub(a, "member_session"), memberID, orgID)
}

func TestB2BInviteMakesAnInvitedMember(t *testing.T) {
	f := newFixture(t)
	c := f.c
	orgID := str(flowOrg(t, c, obj{"email_invites": "ALL_ALLOWED"}), "organization_id")
	email := uniqueEmail("invite")
	m := c.ok("POST", "/v1/b2b/magic_links/email/invite", obj{
		"organization_id": orgID, "email_address": email, "name": "Ada", "invite_redirect_url": "https://app.example/invite",
		"trusted_metadata": obj{"plan": "pro"}, "invite_template_id": "tpl",
	})
	if str(m, "member_id") == "" || sub(m, "member")["status"] != "invited" || sub(m, "organization")["organization_id"] != orgID {
		t.Fatalf("invite: %v", m)
	}
	if _, has := m["member_created"]; has {
		t.Errorf("invite has member_created: %v", m)
	}
	token := f.env.LastToken(email)
	if token == "" {
		t.Fatal("no invite link was sent")
	}
	a := c.ok("POST", "/v1/b2b/magic_links/authenticate", obj{"magic_links_token": token})
	if a["member_id"] != m["member_id"] || sub(a, "member")["status"] != "active" || a["member_authenticated"] != true {
		t.Errorf("authenticate invite: %v", a)
	}
	c.fail("POST", "/v1/b2b/magic_links/email/invite", obj{"organization_id": orgID, "email_address": uniqueEmail("x"), "name": strings.Repeat("n", 257)}, 400, "bad_request")
}

func TestB2BDiscoveryFlow(t *testing.T) {
	f := newFixture(t)
	c := f.c
	org := flowOrg(t, c, nil)
	orgID := str(org, "organization_id")
	email := uniqueEmail("disc")
	memberID := str(flowMember(t, c, orgID, email), "member_id")

	// discover: send and authenticate the discovery link.
	discover := func() obj {
		t.Helper()
		sent := c.ok("POST", "/v1/b2b/magic_links/email/discovery/send", obj{"email_address": email, "discovery_redirect_url": "https://app.example/discover"})
		if len(sent) != 2 {
			t.Errorf("discovery send body = %v", sent)
		}
		token := f.env.LastToken(email)
		if token == "" {
			t.Fatal("no discovery link was sent")
		}
		return c.ok("POST", "/v1/b2b/magic_links/discovery/authenticate", obj{"discovery_magic_links_token": token})
	}
	d := discover()
	ist := str(d, "intermediate_session_token")
	if ist == "" || d["email_address"] != email {
		t.Fatalf("discovery authenticate: %v", d)
	}
	checkTime(t, "intermediate_session_token_expires_at", d["intermediate_session_token_expires_at"])
	found := false
	for _, x := range checkArray(t, d, "discovered_organizations") {
		do := x.(obj)
		if sub(do, "organization")["organization_id"] != orgID {
			continue
		}
		found = true
		ms := sub(do, "membership")
		if ms["type"] != "active_member" || sub(ms, "member")["member_id"] != memberID || !flowHasKey(ms, "details") {
			t.Errorf("membership = %v", ms)
		}
		if _, ok := do["member_authenticated"].(bool); !ok {
			t.Errorf("member_authenticated = %v", do["member_authenticated"])
		}
	}
	if !found {
		t.Fatalf("organization %s not discovered: %v", orgID, d["discovered_organizations"])
	}

	list := c.ok("POST", "/v1/b2b/discovery/organizations", obj{"intermediate_session_token": ist})
	if list["email_address"] != email || len(checkArray(t, list, "discovered_organizations")) == 0 || !flowHasKey(list, "organization_id_hint") {
		t.Errorf("organizations list: %v", list)
	}
	c.fail("POST", "/v1/b2b/discovery/organizations", obj{"intermediate_session_token": ist, "session_token": "x"}, 400, "too_many_session_arguments")

	x := c.ok("POST", "/v1/b2b/discovery/intermediate_sessions/exchange", obj{"intermediate_session_token": ist, "organization_id": orgID})
	if x["member_authenticated"] != true || x["member_id"] != memberID || str(x, "session_token") == "" {
		t.Fatalf("exchange: %v", x)
	}
	flowCheckSession(t, sub(x, "member_session"), memberID, orgID)
	c.fail("POST", "/v1/b2b/discovery/intermediate_sessions/exchange", obj{"intermediate_session_token": ist, "organization_id": orgID}, 404, "intermediate_session_not_found")

	// A new organization from discovery: its creator is an admin.
	ist2 := str(discover(), "intermediate_session_token")
	slug := "disc-" + auth.NewUUID()[:8]
	created := c.ok("POST", "/v1/b2b/discovery/organizations/create", obj{
		"intermediate_session_token": ist2, "organization_name": "Discovered", "organization_slug": slug,
		"session_duration_minutes": 15, "telemetry_id": "t",
	})
	o := sub(created, "organization")
	if o["organization_slug"] != slug || created["member_authenticated"] != true || str(created, "session_token") == "" {
		t.Fatalf("create: %v", created)
	}
	if sub(created, "member")["is_admin"] != true {
		t.Errorf("creator is not an admin: %v", created["member"])
	}
	s := sub(created, "member_session")
	flowCheckSession(t, s, str(created, "member_id"), str(o, "organization_id"))
	roles := checkArray(t, s, "roles")
	hasAdmin := false
	for _, r := range roles {
		hasAdmin = hasAdmin || r == "stytch_admin"
	}
	if !hasAdmin {
		t.Errorf("session roles = %v, want stytch_admin", roles)
	}
	if d := time.Until(checkTime(t, "expires_at", s["expires_at"])); d < 13*time.Minute || d > 16*time.Minute {
		t.Errorf("session expires in %v, want ~15m", d)
	}
}

func TestB2BRequestsWithBadStringsAreRefused(t *testing.T) {
	f := newFixture(t)
	c := f.c
	long := func(n int) string { return strings.Repeat("a", n) }
	for _, tc := range []struct {
		name, path, field string
		body              obj
	}{
		{"login_or_signup organization_id", "/v1/b2b/magic_links/email/login_or_signup", "organization_id", obj{"organization_id": long(129), "email_address": "a@example.com"}},
		{"login_or_signup redirect url", "/v1/b2b/magic_links/email/login_or_signup", "login_redirect_url", obj{"organization_id": "o", "email_address": "a@example.com", "login_redirect_url": long(2049)}},
		{"login_or_signup template id", "/v1/b2b/magic_links/email/login_or_signup", "login_template_id", obj{"organization_id": "o", "email_address": "a@example.com", "login_template_id": long(257)}},
		{"magic link token", "/v1/b2b/magic_links/authenticate", "magic_links_token", obj{"magic_links_token": long(513)}},
		{"magic link telemetry id", "/v1/b2b/magic_links/authenticate", "telemetry_id", obj{"magic_links_token": "t", "telemetry_id": long(257)}},
		{"magic link NUL", "/v1/b2b/magic_links/authenticate", "pkce_code_verifier", obj{"magic_links_token": "t", "pkce_code_verifier": "v\x00"}},
		{"sms send phone", "/v1/b2b/otps/sms/send", "mfa_phone_number", obj{"organization_id": "o", "member_id": "m", "mfa_phone_number": long(33)}},
		{"email otp code", "/v1/b2b/otps/email/authenticate", "code", obj{"organization_id": "o", "email_address": "a@example.com", "code": long(513)}},
		{"sessions authenticate check", "/v1/b2b/sessions/authenticate", "authorization_check.action", obj{"session_token": "t", "authorization_check": obj{"organization_id": "o", "resource_id": "r", "action": long(257)}}},
		{"discovery send email", "/v1/b2b/magic_links/email/discovery/send", "email_address", obj{"email_address": long(321)}},
		{"discovery token", "/v1/b2b/magic_links/discovery/authenticate", "discovery_magic_links_token", obj{"discovery_magic_links_token": long(513)}},
		{"discovery exchange organization", "/v1/b2b/discovery/intermediate_sessions/exchange", "organization_id", obj{"intermediate_session_token": "i", "organization_id": long(129)}},
		{"discovery create IST", "/v1/b2b/discovery/organizations/create", "intermediate_session_token", obj{"intermediate_session_token": long(513), "organization_name": "x"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := c.fail("POST", tc.path, tc.body, 400, "bad_request")
			if !strings.Contains(str(m, "error_message"), tc.field) {
				t.Errorf("error_message %q does not name %s", m["error_message"], tc.field)
			}
		})
	}
	t.Run("sessions get with a long member_id", func(t *testing.T) {
		c.fail("GET", "/v1/b2b/sessions?organization_id=o&member_id="+long(129), nil, 400, "bad_request")
	})
}
