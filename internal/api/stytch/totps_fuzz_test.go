package stytch_test

import (
	"strings"
	"testing"
)

// totpFuzzPaths are the TOTP and recovery-code routes every fuzzed body is
// posted to.
var totpFuzzPaths = []string{
	"/v1/totps",
	"/v1/totps/authenticate",
	"/v1/totps/recovery_codes",
	"/v1/totps/recover",
	"/v1/b2b/totp",
	"/v1/b2b/totp/authenticate",
	"/v1/b2b/recovery_codes/recover",
	"/v1/b2b/recovery_codes/rotate",
}

// FuzzTOTPRoutes: no request body makes a TOTP or recovery-code route
// answer 5xx or a body that is not a Stytch JSON answer.
func FuzzTOTPRoutes(f *testing.F) {
	fx := newFixture(f)
	c := fx.c
	userID, _, _, codes := fx.enrolUser(f, c)
	orgID := str(flowOrg(f, c, totpOrgSettings), "organization_id")
	email := uniqueEmail("fuzz-totp")
	memberID := str(flowMember(f, c, orgID, email), "member_id")
	ist := str(fx.flowMagicLink(f, c, orgID, email, nil), "intermediate_session_token")
	ids := `"organization_id":"` + orgID + `","member_id":"` + memberID + `"`
	for _, seed := range []string{
		``, `{}`, `null`, `[]`, `{"user_id":1}`, `{"user_id":"` + userID + `"}`,
		`{"user_id":"` + userID + `","expiration_minutes":1e300}`,
		`{"user_id":"` + userID + `","expiration_minutes":-9223372036854775808}`,
		`{"user_id":"` + userID + `","totp_code":"123456","session_duration_minutes":60,"session_custom_claims":{"sub":"x"}}`,
		`{"user_id":"` + userID + `","totp_code":"１２３４５６"}`,
		`{"user_id":"` + userID + `","recovery_code":"` + codes[0] + `","session_token":"x","session_jwt":"y"}`,
		`{"user_id":"` + userID + `","recovery_code":"` + strings.ToUpper(codes[1]) + `"}`,
		`{"user_id":"` + strings.Repeat("u", 300) + `","recovery_code":"\u0000"}`,
		`{` + ids + `,"intermediate_session_token":"` + ist + `"}`,
		`{` + ids + `,"intermediate_session_token":"` + ist + `","code":"123456","set_mfa_enrollment":"enroll","set_default_mfa":"yes"}`,
		`{` + ids + `,"intermediate_session_token":"` + ist + `","recovery_code":"abcd-efgh","session_duration_minutes":0}`,
		`{` + ids + `,"expiration_minutes":4,"session_jwt":"a.b.c"}`,
		`{"organization_id":"` + strings.Repeat("o", 200) + `","member_id":"m"}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, path := range totpFuzzPaths {
			fuzzPost(t, fx, path, body)
		}
	})
}
