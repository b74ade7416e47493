package auth_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/sesame-auth/sesame/internal/auth"
	"github.com/sesame-auth/sesame/internal/authtest"
)

func TestMessageSettingsBrandEveryMessageOfTheProject(t *testing.T) {
	env := authtest.New(t, authtest.WithConfig(auth.Config{SendLimit: 1000}))
	branded, _ := env.NewProject(t, false)
	if _, err := env.Service.UpdateProject(t.Context(), branded.ID, auth.UpdateProjectInput{Settings: &auth.Settings{Messages: &auth.MessageSettings{
		AppName: "Acme", SenderName: "Acme Security", SenderEmail: "security@acme.test", Locales: []string{"fr", "de", "pt-br"},
	}}}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name                         string
		project                      *auth.Project
		ch                           auth.Channel
		locale                       string
		app, fromName, from, wantLoc string
	}{
		{"no locale: the project's first", branded, auth.ChannelEmail, "", "Acme", "Acme Security", "security@acme.test", "fr"},
		{"an offered locale's variant: that locale", branded, auth.ChannelEmail, "de-AT", "Acme", "Acme Security", "security@acme.test", "de"},
		{"an offered locale in another case", branded, auth.ChannelEmail, "PT-BR", "Acme", "Acme Security", "security@acme.test", "pt-BR"},
		{"a locale not offered: the project's first", branded, auth.ChannelEmail, "es", "Acme", "Acme Security", "security@acme.test", "fr"},
		{"an SMS: the app name, no email sender", branded, auth.ChannelSMS, "de", "Acme", "", "", "de"},
		{"another project: untouched", env.Project, auth.ChannelEmail, "es", "", "", "", "es"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			to := "brand" + string(rune('a'+i)) + "@example.com"
			if tt.ch == auth.ChannelSMS {
				to = "+1415555019" + string(rune('0'+i))
			}
			if _, err := env.Service.SendOTP(t.Context(), tt.project, auth.SendOTPInput{Channel: tt.ch, To: to, LoginOrCreate: true, Locale: tt.locale}); err != nil {
				t.Fatal(err)
			}
			ev := env.Publisher.Last(to, auth.KindOTP)
			if ev == nil || ev.AppName != tt.app || ev.FromName != tt.fromName || ev.FromEmail != tt.from || ev.Locale != tt.wantLoc {
				t.Fatalf("event = %+v, want app %q from %q <%s> locale %q", ev, tt.app, tt.fromName, tt.from, tt.wantLoc)
			}
		})
	}
	// Magic links are branded too.
	if _, err := env.Service.SendMagicLink(t.Context(), branded, auth.SendMagicLinkInput{Email: "brand-link@example.com", LoginOrCreate: true}); err != nil {
		t.Fatal(err)
	}
	if ev := env.Publisher.Last("brand-link@example.com", auth.KindMagicLink); ev == nil || ev.AppName != "Acme" || ev.FromEmail != "security@acme.test" || ev.Locale != "fr" {
		t.Fatalf("magic link event = %+v", ev)
	}
}

func TestMessageSettingsAreValidated(t *testing.T) {
	env := authtest.New(t)
	tests := []struct {
		name  string
		ms    auth.MessageSettings
		field string
	}{
		{"a line break in the app name", auth.MessageSettings{AppName: "Acme\r\nBcc: x@evil.test"}, "messages.app_name"},
		{"an app name too long", auth.MessageSettings{AppName: strings.Repeat("a", 65)}, "messages.app_name"},
		{"a control character in the sender name", auth.MessageSettings{SenderName: "Acme\x07"}, "messages.sender_name"},
		{"a sender email with a name", auth.MessageSettings{SenderEmail: "Acme <a@acme.test>"}, "messages.sender_email"},
		{"a sender email that is not one", auth.MessageSettings{SenderEmail: "acme"}, "messages.sender_email"},
		{"a malformed locale", auth.MessageSettings{Locales: []string{"en", "not a locale"}}, "messages.locales"},
		{"an empty locale", auth.MessageSettings{Locales: []string{""}}, "messages.locales"},
		{"too many locales", auth.MessageSettings{Locales: strings.Split(strings.Repeat("en,", 21)[:62], ",")}, "messages.locales"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantSettingsRefused(t, env, auth.Settings{Messages: &tt.ms}, tt.field)
		})
	}
}

// wantSettingsRefused checks that the project refuses st with EInvalid
// naming field, and that its settings stay what they were.
func wantSettingsRefused(t *testing.T, env *authtest.Env, st auth.Settings, field string) {
	t.Helper()
	before := env.Service.SettingsOf(t.Context(), env.Project)
	_, err := env.Service.UpdateProject(t.Context(), env.Project.ID, auth.UpdateProjectInput{Settings: &st})
	var e *auth.Error
	if !errors.As(err, &e) || e.Code != auth.EInvalid || e.Field != field {
		t.Fatalf("= %v, want EInvalid naming %s", err, field)
	}
	if after := env.Service.SettingsOf(t.Context(), env.Project); !reflect.DeepEqual(after, before) {
		t.Fatalf("refused settings were stored: %+v -> %+v", before, after)
	}
}
