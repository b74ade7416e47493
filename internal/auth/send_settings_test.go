package auth_test

import (
	"errors"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/internal/auth"
	"github.com/sesame-auth/sesame/internal/authtest"
)

// TestSend_ProjectCountryAllowList: a project's sms_allowed_countries
// decides where consumer and B2B SMS codes may go, over the service-wide
// allow-list ([] allows every country); a project without the setting
// follows Config.AllowedCountries.
func TestSend_ProjectCountryAllowList(t *testing.T) {
	const us, gb = "+14155550142", "+442071838750"
	tests := []struct {
		name    string
		global  []string
		project []string // nil: not set
		to      string
		code    auth.Code
	}{
		{"OKProjectAllowsCountryTheServiceRefuses", []string{"US"}, []string{"GB"}, gb, ""},
		{"ErrProjectRefusesCountryTheServiceAllows", nil, []string{"US"}, gb, auth.ECountryNotAllowed},
		{"OKProjectEmptyListAllowsEveryCountry", []string{"US"}, []string{}, gb, ""},
		{"ErrUnsetFollowsService", []string{"US"}, nil, gb, auth.ECountryNotAllowed},
		{"OKUnsetFollowsService", []string{"US"}, nil, us, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &flowEnv{Env: authtest.New(t, authtest.WithConfig(auth.Config{SendLimit: 1000, AllowedCountries: tt.global})), t: t}
			if tt.project != nil {
				if _, err := f.Service.UpdateProject(t.Context(), f.Project.ID, auth.UpdateProjectInput{Settings: &auth.Settings{SMSAllowedCountries: tt.project}}); err != nil {
					t.Fatal(err)
				}
			}
			_, err := f.Service.SendOTP(t.Context(), f.Project, auth.SendOTPInput{Channel: auth.ChannelSMS, To: tt.to, LoginOrCreate: true})
			if auth.ErrorCode(err) != tt.code {
				t.Fatalf("consumer send: err = %v, want %q", err, tt.code)
			}
			o := f.org(nil)
			m := f.member(o, flowEmail("acme.test"), nil)
			_, err = f.Service.B2BSendSMS(t.Context(), f.Project, auth.B2BSendSMSInput{OrganizationID: o.ID, MemberID: m.ID, MFAPhoneNumber: tt.to})
			if auth.ErrorCode(err) != tt.code {
				t.Fatalf("B2B send: err = %v, want %q", err, tt.code)
			}
		})
	}
}

// TestSend_ProjectDefaultExpirations: a project's otp_expiration_minutes
// and magic_link_expiration_minutes apply to sends that name no
// expiration; a request's own expiration still wins; out-of-bounds
// settings are refused.
func TestSend_ProjectDefaultExpirations(t *testing.T) {
	tests := []struct {
		name     string
		settings auth.Settings
		send     func(f *flowEnv, to string) error
		kind     auth.EventKind
		want     time.Duration
	}{
		{"OKOTPDefaultWithoutSetting", auth.Settings{}, func(f *flowEnv, to string) error {
			_, err := f.Service.SendOTP(f.t.Context(), f.Project, auth.SendOTPInput{Channel: auth.ChannelEmail, To: to, LoginOrCreate: true})
			return err
		}, auth.KindOTP, auth.DefaultOTPExpiration},
		{"OKOTPProjectSetting", auth.Settings{OTPExpirationMinutes: 7}, func(f *flowEnv, to string) error {
			_, err := f.Service.SendOTP(f.t.Context(), f.Project, auth.SendOTPInput{Channel: auth.ChannelEmail, To: to, LoginOrCreate: true})
			return err
		}, auth.KindOTP, 7 * time.Minute},
		{"OKOTPRequestWinsOverSetting", auth.Settings{OTPExpirationMinutes: 7}, func(f *flowEnv, to string) error {
			_, err := f.Service.SendOTP(f.t.Context(), f.Project, auth.SendOTPInput{Channel: auth.ChannelEmail, To: to, LoginOrCreate: true, Expiration: 3 * time.Minute})
			return err
		}, auth.KindOTP, 3 * time.Minute},
		{"OKSignupLinkProjectSetting", auth.Settings{MagicLinkExpirationMinutes: 30}, func(f *flowEnv, to string) error {
			_, err := f.Service.SendMagicLink(f.t.Context(), f.Project, auth.SendMagicLinkInput{Email: to, LoginOrCreate: true})
			return err
		}, auth.KindMagicLink, 30 * time.Minute},
		{"OKSignupLinkDefaultWithoutSetting", auth.Settings{}, func(f *flowEnv, to string) error {
			_, err := f.Service.SendMagicLink(f.t.Context(), f.Project, auth.SendMagicLinkInput{Email: to, LoginOrCreate: true})
			return err
		}, auth.KindMagicLink, auth.DefaultSignupExpiration},
		{"OKB2BLinkProjectSetting", auth.Settings{MagicLinkExpirationMinutes: 20}, func(f *flowEnv, to string) error {
			o := f.org(func(in *auth.OrganizationInput) {
				in.EmailJITProvisioning, in.EmailAllowedDomains = flowStr(auth.Restricted), []string{"acme.test"}
			})
			_, err := f.Service.B2BLoginOrSignup(f.t.Context(), f.Project, auth.B2BEmailLoginInput{OrganizationID: o.ID, EmailAddress: to})
			return err
		}, auth.KindMagicLink, 20 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFlowEnv(t)
			if _, err := f.Service.UpdateProject(t.Context(), f.Project.ID, auth.UpdateProjectInput{Settings: &tt.settings}); err != nil {
				t.Fatal(err)
			}
			to := flowEmail("acme.test")
			if err := tt.send(f, to); err != nil {
				t.Fatal(err)
			}
			ev := f.Publisher.Last(to, tt.kind)
			if ev == nil {
				t.Fatal("nothing sent")
			}
			if got := ev.ExpiresAt.Sub(ev.CreatedAt); got != tt.want {
				t.Fatalf("lifetime = %s, want %s", got, tt.want)
			}
		})
	}
	for _, bad := range []struct {
		name  string
		st    auth.Settings
		field string
	}{
		{"ErrOTPExpirationOverTen", auth.Settings{OTPExpirationMinutes: 11}, "otp_expiration_minutes"},
		{"ErrLinkExpirationUnderFive", auth.Settings{MagicLinkExpirationMinutes: 4}, "magic_link_expiration_minutes"},
		{"ErrLinkExpirationOverAWeek", auth.Settings{MagicLinkExpirationMinutes: 10081}, "magic_link_expiration_minutes"},
	} {
		t.Run(bad.name, func(t *testing.T) {
			f := newFlowEnv(t)
			_, err := f.Service.UpdateProject(t.Context(), f.Project.ID, auth.UpdateProjectInput{Settings: &bad.st})
			var e *auth.Error
			if !errors.As(err, &e) || e.Code != auth.EInvalidExpiration || e.Field != bad.field {
				t.Fatalf("err = %v, want %s on %s", err, auth.EInvalidExpiration, bad.field)
			}
		})
	}
}

// TestSend_B2BSMSWithGuardOnOrOff: a member's second code (its MFA phone
// already set, so the member row is not rewritten) is sent whether the
// project's SMS-pumping guard is on or off. With the guard off that
// statement once carried an unused parameter and Postgres refused it.
func TestSend_B2BSMSWithGuardOnOrOff(t *testing.T) {
	off := true
	tests := []struct {
		name    string
		pumping *auth.PumpingSettings
	}{
		{"OKGuardOn", nil},
		{"OKGuardOff", &auth.PumpingSettings{Off: &off}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &flowEnv{Env: authtest.New(t, authtest.WithConfig(auth.Config{SendLimit: 1000})), t: t}
			if tt.pumping != nil {
				if _, err := f.Service.UpdateProject(t.Context(), f.Project.ID, auth.UpdateProjectInput{Settings: &auth.Settings{Pumping: tt.pumping}}); err != nil {
					t.Fatal(err)
				}
			}
			o := f.org(nil)
			m := f.member(o, flowEmail("acme.test"), nil)
			const phone = "+14155550143"
			first, err := f.Service.B2BSendSMS(t.Context(), f.Project, auth.B2BSendSMSInput{OrganizationID: o.ID, MemberID: m.ID, MFAPhoneNumber: phone})
			if err != nil {
				t.Fatalf("first send (sets the MFA phone): %v", err)
			}
			second, err := f.Service.B2BSendSMS(t.Context(), f.Project, auth.B2BSendSMSInput{OrganizationID: o.ID, MemberID: m.ID})
			if err != nil {
				t.Fatalf("second send (phone already set): %v", err)
			}
			if first.MessageID == "" || second.MessageID == "" || first.MessageID == second.MessageID {
				t.Fatalf("message ids %q and %q: want two distinct queued messages", first.MessageID, second.MessageID)
			}
		})
	}
}
