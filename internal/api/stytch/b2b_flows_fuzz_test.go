package stytch_test

import (
	"strings"
	"testing"
)

// flowFuzzPaths are the B2B flow routes every fuzzed body is posted to.
var flowFuzzPaths = []string{
	"/v1/b2b/magic_links/email/login_or_signup",
	"/v1/b2b/magic_links/email/invite",
	"/v1/b2b/magic_links/authenticate",
	"/v1/b2b/magic_links/email/discovery/send",
	"/v1/b2b/magic_links/discovery/authenticate",
	"/v1/b2b/otps/sms/send",
	"/v1/b2b/otps/sms/authenticate",
	"/v1/b2b/otps/email/login_or_signup",
	"/v1/b2b/otps/email/authenticate",
	"/v1/b2b/sessions/authenticate",
	"/v1/b2b/sessions/revoke",
	"/v1/b2b/sessions/exchange",
	"/v1/b2b/discovery/organizations",
	"/v1/b2b/discovery/organizations/create",
	"/v1/b2b/discovery/intermediate_sessions/exchange",
}

// FuzzB2BFlows: no request body makes a B2B flow route answer 5xx or a
// body that is not a Stytch JSON answer.
func FuzzB2BFlows(f *testing.F) {
	fx := newFixture(f)
	c := fx.c
	orgID := str(flowOrg(f, c, map[string]any{"mfa_policy": "REQUIRED_FOR_ALL"}), "organization_id")
	email := uniqueEmail("fuzz")
	memberID := str(flowMember(f, c, orgID, email), "member_id")
	ist := str(fx.flowMagicLink(f, c, orgID, email, nil), "intermediate_session_token")
	ids := `"organization_id":"` + orgID + `","member_id":"` + memberID + `"`
	for _, seed := range []string{
		``, `{}`, `null`, `[]`, `{"organization_id":1}`,
		`{` + ids + `,"email_address":"` + email + `"}`,
		`{` + ids + `,"intermediate_session_token":"` + ist + `","code":"123456"}`,
		`{` + ids + `,"intermediate_session_token":"` + ist + `","code":"123456","set_mfa_enrollment":"enroll","set_default_mfa":"yes"}`,
		`{` + ids + `,"mfa_phone_number":"+1` + strings.Repeat("5", 40) + `"}`,
		`{"magic_links_token":"x","session_duration_minutes":1e300}`,
		`{"magic_links_token":"x","session_duration_minutes":-9223372036854775808,"session_custom_claims":{"sub":"x"}}`,
		`{"session_token":"x","authorization_check":{"organization_id":"` + orgID + `","resource_id":"","action":"\u0000"}}`,
		`{"session_jwt":"a.b.c","authorization_check":[]}`,
		`{"member_session_id":"x","member_id":"y"}`,
		`{"intermediate_session_token":"` + ist + `","organization_name":"x","organization_slug":"bad slug!","email_allowed_domains":["gmail.com"]}`,
		`{"intermediate_session_token":"` + ist + `","organization_id":"` + strings.Repeat("o", 200) + `"}`,
		`{"discovery_magic_links_token":"` + strings.Repeat("t", 600) + `"}`,
		`{"email_address":"a@b.c","discovery_expiration_minutes":1e9}`,
		`{` + ids + `,"email_address":"x@example.com","roles":["stytch_admin","nope"],"trusted_metadata":[1]}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, path := range flowFuzzPaths {
			fuzzPost(t, fx, path, body)
		}
	})
}
