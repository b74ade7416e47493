package auth_test

import (
	"strings"
	"testing"

	"github.com/sesame-auth/sesame/internal/auth"
	"github.com/sesame-auth/sesame/internal/authtest"
)

func TestSendMagicLinkRefusesUnsafeInput(t *testing.T) {
	env := authtest.New(t)
	s43 := strings.Repeat("a", 43)
	tests := []struct {
		name      string
		in        auth.SendMagicLinkInput
		wantField string // "" means accepted
	}{
		{"HTTPSLinkAccepted", auth.SendMagicLinkInput{LoginURL: "https://app.example.com/auth"}, ""},
		{"AppSchemeAccepted", auth.SendMagicLinkInput{LoginURL: "myapp://auth/callback"}, ""},
		{"S256ChallengeAccepted", auth.SendMagicLinkInput{CodeChallenge: auth.PKCEChallenge("verifier-verifier-verifier-verifier-verifier")}, ""},
		{"JavaScriptRefused", auth.SendMagicLinkInput{LoginURL: "javascript:alert(document.cookie)"}, "login_magic_link_url"},
		{"JavaScriptMixedCaseRefused", auth.SendMagicLinkInput{LoginURL: "JaVaScRiPt:alert(1)"}, "login_magic_link_url"},
		{"JavaScriptWithTabRefused", auth.SendMagicLinkInput{LoginURL: "java\tscript:alert(1)"}, "login_magic_link_url"},
		{"LeadingSpaceJavaScriptRefused", auth.SendMagicLinkInput{LoginURL: " javascript:alert(1)"}, "login_magic_link_url"},
		{"DataURLRefused", auth.SendMagicLinkInput{SignupURL: "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg=="}, "signup_magic_link_url"},
		{"FileURLRefused", auth.SendMagicLinkInput{LoginURL: "file:///etc/passwd"}, "login_magic_link_url"},
		{"VBScriptRefused", auth.SendMagicLinkInput{LoginURL: "VBScript:msgbox(1)"}, "login_magic_link_url"},
		{"CredentialsRefused", auth.SendMagicLinkInput{LoginURL: "https://user:pw@evil.example.com/"}, "login_magic_link_url"},
		{"HostlessHTTPSRefused", auth.SendMagicLinkInput{LoginURL: "https:///path"}, "login_magic_link_url"},
		{"ShortChallengeRefused", auth.SendMagicLinkInput{CodeChallenge: "abc"}, "code_challenge"},
		{"ChallengeWithSlashRefused", auth.SendMagicLinkInput{CodeChallenge: s43[:42] + "/"}, "code_challenge"},
		{"ChallengeWithPaddingRefused", auth.SendMagicLinkInput{CodeChallenge: s43 + "="}, "code_challenge"},
		{"LongChallengeRefused", auth.SendMagicLinkInput{CodeChallenge: strings.Repeat("a", 129)}, "code_challenge"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.in.Email = "hostile" + string(rune('a'+i)) + "@example.com"
			tt.in.LoginOrCreate = true
			_, err := env.Service.SendMagicLink(t.Context(), env.Project, tt.in)
			if tt.wantField == "" {
				if err != nil {
					t.Fatalf("SendMagicLink = %v, want accepted", err)
				}
				return
			}
			var e *auth.Error
			if auth.ErrorCode(err) != auth.EInvalid || !asError(err, &e) || e.Field != tt.wantField {
				t.Fatalf("SendMagicLink = %v, want EInvalid on %s", err, tt.wantField)
			}
		})
	}
	if n := len(env.Events()); n != 3 {
		t.Fatalf("%d links queued, want 3 (only the accepted sends)", n)
	}
}

func TestRevokeSessionRefusesMalformedID(t *testing.T) {
	env := authtest.New(t)
	for _, id := range []string{"session-test-\x00", strings.Repeat("s", 200), "a b"} {
		err := env.Service.RevokeSession(t.Context(), env.Project, auth.RevokeSessionInput{SessionID: id})
		if auth.ErrorCode(err) != auth.EInvalid {
			t.Errorf("RevokeSession(%q) = %v, want EInvalid", id, err)
		}
	}
}

func asError(err error, target **auth.Error) bool {
	e, ok := err.(*auth.Error)
	if ok {
		*target = e
	}
	return ok
}
