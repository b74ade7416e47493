package stytch_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http/httptest"
	"testing"

	"github.com/sesame-auth/sesame/internal/auth"
)

// flowAs sends a request with the member-session header set, as the SDK
// does with options.authorization, and returns the status and body.
func flowAs(t testing.TB, c *client, header, value, method, path string, body obj) (int, obj) {
	t.Helper()
	raw, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(method, path, bytes.NewReader(raw))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(c.id+":"+c.secret)))
	req.Header.Set(header, value)
	rec := httptest.NewRecorder()
	c.h.ServeHTTP(rec, req)
	var m obj
	if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
		t.Fatalf("%s %s: body is not a JSON object: %s", method, path, rec.Body)
	}
	return rec.Code, m
}

// flowEnroll signs email in to orgID (an MFA-required organization) with a
// magic link and an SMS code to phone, and returns the final body.
func (f *fixture) flowEnroll(t testing.TB, c *client, orgID, memberID, email, phone string) obj {
	t.Helper()
	a := f.flowMagicLink(t, c, orgID, email, nil)
	ist := str(a, "intermediate_session_token")
	if ist == "" {
		t.Fatalf("no IST: %v", a)
	}
	c.ok("POST", "/v1/b2b/otps/sms/send", obj{"organization_id": orgID, "member_id": memberID, "mfa_phone_number": phone})
	return c.ok("POST", "/v1/b2b/otps/sms/authenticate", obj{
		"organization_id": orgID, "member_id": memberID, "intermediate_session_token": ist, "code": f.env.LastCode(phone),
	})
}

// TestB2BOptionalMFAFollowsEnrollment: under OPTIONAL an unenrolled
// member signs in with one factor, set_mfa_enrollment "enroll" makes the
// next sign-in demand (and at once send) an SMS code, and "unenroll" ends
// that.
func TestB2BOptionalMFAFollowsEnrollment(t *testing.T) {
	f := newFixture(t)
	c := f.c
	orgID := str(flowOrg(t, c, nil), "organization_id")
	email, phone := uniqueEmail("opt"), uniquePhone()
	memberID := str(flowMember(t, c, orgID, email), "member_id")

	login := f.flowMagicLink(t, c, orgID, email, nil)
	if login["member_authenticated"] != true {
		t.Fatalf("unenrolled member under OPTIONAL: %v", login)
	}
	token := str(login, "session_token")
	sessionID := str(sub(login, "member_session"), "member_session_id")

	// A session proves the member: the phone is added and enrolled, and
	// the factor joins the same session.
	c.ok("POST", "/v1/b2b/otps/sms/send", obj{"organization_id": orgID, "member_id": memberID, "mfa_phone_number": phone, "session_token": token})
	enrolled := c.ok("POST", "/v1/b2b/otps/sms/authenticate", obj{
		"organization_id": orgID, "member_id": memberID, "session_token": token, "code": f.env.LastCode(phone),
		"set_mfa_enrollment": "enroll", "set_default_mfa": true,
	})
	m := sub(enrolled, "member")
	if m["mfa_enrolled"] != true || m["mfa_phone_number_verified"] != true || m["default_mfa_method"] != "sms_otp" {
		t.Errorf("member after enroll: %v", m)
	}
	s := sub(enrolled, "member_session")
	flowCheckSession(t, s, memberID, orgID)
	if s["member_session_id"] != sessionID || len(factors(s)) != 2 {
		t.Errorf("the factor did not join the session: %v", s)
	}

	again := f.flowMagicLink(t, c, orgID, email, nil)
	if again["member_authenticated"] != false || sub(again, "mfa_required")["secondary_auth_initiated"] != "sms_otp" {
		t.Fatalf("enrolled member under OPTIONAL: %v", again)
	}
	unenrolled := c.ok("POST", "/v1/b2b/otps/sms/authenticate", obj{
		"organization_id": orgID, "member_id": memberID, "intermediate_session_token": again["intermediate_session_token"],
		"code": f.env.LastCode(phone), "set_mfa_enrollment": "unenroll",
	})
	if sub(unenrolled, "member")["mfa_enrolled"] != false {
		t.Errorf("member after unenroll: %v", unenrolled["member"])
	}
	if last := f.flowMagicLink(t, c, orgID, email, nil); last["member_authenticated"] != true {
		t.Errorf("unenrolled member still asked for MFA: %v", last)
	}
}

// TestB2BRequiredForAllIgnoresUnenroll: under REQUIRED_FOR_ALL every
// member stays enrolled.
func TestB2BRequiredForAllIgnoresUnenroll(t *testing.T) {
	f := newFixture(t)
	c := f.c
	orgID := str(flowOrg(t, c, obj{"mfa_policy": "REQUIRED_FOR_ALL"}), "organization_id")
	email := uniqueEmail("req")
	memberID := str(flowMember(t, c, orgID, email), "member_id")
	a := f.flowMagicLink(t, c, orgID, email, nil)
	phone := uniquePhone()
	c.ok("POST", "/v1/b2b/otps/sms/send", obj{"organization_id": orgID, "member_id": memberID, "mfa_phone_number": phone})
	done := c.ok("POST", "/v1/b2b/otps/sms/authenticate", obj{
		"organization_id": orgID, "member_id": memberID, "intermediate_session_token": a["intermediate_session_token"],
		"code": f.env.LastCode(phone), "set_mfa_enrollment": "unenroll",
	})
	if sub(done, "member")["mfa_enrolled"] != true {
		t.Errorf("member = %v, want mfa_enrolled under REQUIRED_FOR_ALL", done["member"])
	}
}

// TestB2BSMSSendCannotBypassAFactor: a member with a verified phone cannot
// have a code sent to another number without proving a factor, nor with.
func TestB2BSMSSendCannotBypassAFactor(t *testing.T) {
	f := newFixture(t)
	c := f.c
	orgID := str(flowOrg(t, c, obj{"mfa_policy": "REQUIRED_FOR_ALL"}), "organization_id")
	email, phone := uniqueEmail("bypass"), uniquePhone()
	memberID := str(flowMember(t, c, orgID, email), "member_id")
	f.flowEnroll(t, c, orgID, memberID, email, phone)

	attacker := uniquePhone()
	c.fail("POST", "/v1/b2b/otps/sms/send", obj{"organization_id": orgID, "member_id": memberID, "mfa_phone_number": attacker}, 400, "no_associated_session_passed_in")
	a := f.flowMagicLink(t, c, orgID, email, nil)
	c.fail("POST", "/v1/b2b/otps/sms/send", obj{
		"organization_id": orgID, "member_id": memberID, "mfa_phone_number": attacker, "intermediate_session_token": a["intermediate_session_token"],
	}, 400, "mfa_phone_number_mismatch")
	if f.env.LastCode(attacker) != "" {
		t.Error("a code was sent to the new number")
	}
}

// TestB2BISTIsBoundToItsMemberAndOrganization: an IST of one member does
// not finish another member's sign-in, in the same or another organization.
func TestB2BISTIsBoundToItsMemberAndOrganization(t *testing.T) {
	f := newFixture(t)
	c := f.c
	orgA := str(flowOrg(t, c, obj{"mfa_policy": "REQUIRED_FOR_ALL"}), "organization_id")
	orgB := str(flowOrg(t, c, obj{"mfa_policy": "REQUIRED_FOR_ALL"}), "organization_id")
	emailA, emailB, emailC := uniqueEmail("ista"), uniqueEmail("istb"), uniqueEmail("istc")
	memberA := str(flowMember(t, c, orgA, emailA), "member_id")
	memberB := str(flowMember(t, c, orgA, emailB), "member_id")
	memberC := str(flowMember(t, c, orgB, emailC), "member_id")
	istA := str(f.flowMagicLink(t, c, orgA, emailA, nil), "intermediate_session_token")
	f.flowMagicLink(t, c, orgA, emailB, nil)
	f.flowMagicLink(t, c, orgB, emailC, nil)
	phoneB, phoneC := uniquePhone(), uniquePhone()
	c.ok("POST", "/v1/b2b/otps/sms/send", obj{"organization_id": orgA, "member_id": memberB, "mfa_phone_number": phoneB})
	c.ok("POST", "/v1/b2b/otps/sms/send", obj{"organization_id": orgB, "member_id": memberC, "mfa_phone_number": phoneC})

	for _, tc := range []struct {
		name, org, member, phone string
	}{
		{"another member", orgA, memberB, phoneB},
		{"another organization", orgB, memberC, phoneC},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c.fail("POST", "/v1/b2b/otps/sms/authenticate", obj{
				"organization_id": tc.org, "member_id": tc.member, "intermediate_session_token": istA, "code": f.env.LastCode(tc.phone),
			}, 400, "invalid_intermediate_session_token_for_organization")
		})
	}
	// The IST still works for its own member.
	phoneA := uniquePhone()
	c.ok("POST", "/v1/b2b/otps/sms/send", obj{"organization_id": orgA, "member_id": memberA, "mfa_phone_number": phoneA})
	c.ok("POST", "/v1/b2b/otps/sms/authenticate", obj{
		"organization_id": orgA, "member_id": memberA, "intermediate_session_token": istA, "code": f.env.LastCode(phoneA),
	})
}

func TestB2BMagicLinkPKCE(t *testing.T) {
	f := newFixture(t)
	c := f.c
	orgID := str(flowOrg(t, c, nil), "organization_id")
	email := uniqueEmail("pkce")
	flowMember(t, c, orgID, email)
	verifier := "verifier-" + auth.NewUUID() + "-" + auth.NewUUID()
	c.ok("POST", "/v1/b2b/magic_links/email/login_or_signup", obj{
		"organization_id": orgID, "email_address": email, "pkce_code_challenge": auth.PKCEChallenge(verifier),
	})
	token := f.env.LastToken(email)
	c.fail("POST", "/v1/b2b/magic_links/authenticate", obj{"magic_links_token": token, "pkce_code_verifier": verifier + "x"}, 400, "pkce_mismatch")
	a := c.ok("POST", "/v1/b2b/magic_links/authenticate", obj{"magic_links_token": token, "pkce_code_verifier": verifier})
	if a["member_authenticated"] != true {
		t.Errorf("authenticate with the verifier: %v", a)
	}
}

// TestB2BMemberSessionHeadersStayInTheirOrganization: a member of one
// organization cannot invite into, or revoke sessions of, another.
func TestB2BMemberSessionHeadersStayInTheirOrganization(t *testing.T) {
	f := newFixture(t)
	c := f.c
	orgA := str(flowOrg(t, c, nil), "organization_id")
	orgB := str(flowOrg(t, c, nil), "organization_id")
	emailA, emailB := uniqueEmail("hdra"), uniqueEmail("hdrb")
	memberA := str(flowMember(t, c, orgA, emailA), "member_id")
	flowMember(t, c, orgB, emailB)
	sessA := f.flowMagicLink(t, c, orgA, emailA, nil)
	sessB := f.flowMagicLink(t, c, orgB, emailB, nil)

	for _, tc := range []struct {
		name, header, value, path string
		body                      obj
	}{
		{"invite with a session token", "X-Stytch-Member-Session", str(sessB, "session_token"), "/v1/b2b/magic_links/email/invite",
			obj{"organization_id": orgA, "email_address": uniqueEmail("victim")}},
		{"invite with a session JWT", "X-Stytch-Member-SessionJWT", str(sessB, "session_jwt"), "/v1/b2b/magic_links/email/invite",
			obj{"organization_id": orgA, "email_address": uniqueEmail("victim")}},
		{"revoke another organization's member", "X-Stytch-Member-Session", str(sessB, "session_token"), "/v1/b2b/sessions/revoke",
			obj{"member_id": memberA}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, m := flowAs(t, c, tc.header, tc.value, "POST", tc.path, tc.body)
			checkError(t, status, m, 403, "unauthorized_action")
		})
	}
	// Member A's session survived.
	c.ok("POST", "/v1/b2b/sessions/authenticate", obj{"session_token": sessA["session_token"]})
	// Without headers the project itself may revoke it.
	c.ok("POST", "/v1/b2b/sessions/revoke", obj{"member_id": memberA})
	c.fail("POST", "/v1/b2b/sessions/authenticate", obj{"session_token": sessA["session_token"]}, 404, "session_not_found")
}
