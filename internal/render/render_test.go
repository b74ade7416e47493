package render_test

import (
	"html"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/sesame-auth/sesame/internal/auth"
	"github.com/sesame-auth/sesame/internal/render"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// standalone reports whether code appears in s as a group of digits not
// glued to other letters or digits (what the contract calls "a standalone
// group of digits").
func standalone(s, code string) bool {
	return regexp.MustCompile(`(^|[^\p{L}\p{N}])` + regexp.QuoteMeta(code) + `([^\p{L}\p{N}]|$)`).MatchString(s)
}

// gsm7 is the GSM 03.38 basic character set.
const gsm7 = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
	"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"

func otpEvent(ch auth.Channel, locale string) *auth.Event {
	return &auth.Event{
		MessageID: "msg-1",
		Kind:      auth.KindOTP,
		Channel:   ch,
		To:        "+15551234567",
		Code:      "123456",
		Locale:    locale,
		CreatedAt: t0,
		ExpiresAt: t0.Add(2 * time.Minute),
	}
}

func linkEvent(kind auth.MagicLinkKind, locale, u string) *auth.Event {
	return &auth.Event{
		MessageID: "msg-2",
		Kind:      auth.KindMagicLink,
		Channel:   auth.ChannelEmail,
		To:        "ada@example.com",
		URL:       u,
		LinkKind:  kind,
		Locale:    locale,
		CreatedAt: t0,
		ExpiresAt: t0.Add(15 * time.Minute),
	}
}

func TestRender_OTPPhone(t *testing.T) {
	for _, tc := range []struct {
		name   string
		ch     auth.Channel
		locale string
		want   string
	}{
		{"SMSEnglishExact", auth.ChannelSMS, "en", "123456 is your Sesame verification code. It expires in 2 minutes."},
		{"WhatsAppSameTextAsSMS", auth.ChannelWhatsApp, "", "123456 is your Sesame verification code. It expires in 2 minutes."},
		{"SMSSpanishForMexico", auth.ChannelSMS, "es-MX", "123456 es tu código de verificación de Sesame. Caduca en 2 minutos."},
		{"SMSFrench", auth.ChannelSMS, "FR", "123456 est votre code de vérification Sesame. Il expire dans 2 minutes."},
		{"SMSBrazilianPortuguese", auth.ChannelSMS, "pt_BR", "123456 é o seu código de verificação do Sesame. Expira em 2 minutos."},
		{"SMSGerman", auth.ChannelSMS, "de-AT", "123456 ist Ihr Bestätigungscode für Sesame. Er ist 2 Minuten gültig."},
		{"SMSUnknownLocaleFallsBackToEnglish", auth.ChannelSMS, "xx-YY", "123456 is your Sesame verification code. It expires in 2 minutes."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev := otpEvent(tc.ch, tc.locale)
			m := render.Render(ev, render.Options{})
			if m.Text != tc.want {
				t.Errorf("Text = %q, want %q", m.Text, tc.want)
			}
			if m.Subject != "" || m.HTML != "" {
				t.Errorf("phone message has Subject/HTML: %q / %q", m.Subject, m.HTML)
			}
			if m.Channel != tc.ch || m.To != ev.To || m.MessageID != ev.MessageID {
				t.Errorf("envelope = %q %q %q", m.Channel, m.To, m.MessageID)
			}
			if !standalone(m.Text, "123456") {
				t.Errorf("code not standalone in %q", m.Text)
			}
		})
	}
}

func TestRender_OTPEmail(t *testing.T) {
	ev := otpEvent(auth.ChannelEmail, "en")
	ev.To = "ada@example.com"
	m := render.Render(ev, render.Options{AppName: "Acme"})
	if m.Subject != "Your verification code" {
		t.Errorf("Subject = %q", m.Subject)
	}
	for name, part := range map[string]string{"text": m.Text, "html": m.HTML} {
		if !standalone(part, "123456") {
			t.Errorf("%s part: code not standalone:\n%s", name, part)
		}
		if !strings.Contains(part, "Acme") {
			t.Errorf("%s part: app name missing", name)
		}
		if !strings.Contains(part, "2 minutes") {
			t.Errorf("%s part: expiry missing", name)
		}
	}
	if !strings.Contains(m.Text, "\n123456\n") {
		t.Errorf("code not on its own line:\n%s", m.Text)
	}
	if !strings.HasPrefix(m.HTML, "<!DOCTYPE html>") || !strings.Contains(m.HTML, `<html lang="en">`) {
		t.Errorf("HTML not a full document:\n%s", m.HTML)
	}
}

func TestRender_MagicLink(t *testing.T) {
	const u = "https://app.example.com/authenticate?token=abc_DEF-123&stytch_token_type=magic_links"
	for _, tc := range []struct {
		name        string
		kind        auth.MagicLinkKind
		locale      string
		wantSubject string
	}{
		{"LoginSubject", auth.MagicLinkLogin, "en", "Your login link"},
		{"SignupSubject", auth.MagicLinkSignup, "en-GB", "Finish signing up"},
		{"InviteSubject", auth.MagicLinkInvite, "", "You have been invited"},
		{"EmbeddedRendersAsLogin", auth.MagicLinkEmbedded, "en", "Your login link"},
		{"UnknownKindRendersAsLogin", "weird", "en", "Your login link"},
		{"SpanishLogin", auth.MagicLinkLogin, "es", "Tu enlace de inicio de sesión"},
		{"FrenchSignup", auth.MagicLinkSignup, "fr-CA,fr;q=0.9", "Finalisez votre inscription"},
		{"PortugueseInvite", auth.MagicLinkInvite, "pt", "Você recebeu um convite"},
		{"GermanLogin", auth.MagicLinkLogin, "DE", "Ihr Anmeldelink"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := render.Render(linkEvent(tc.kind, tc.locale, u), render.Options{})
			if m.Subject != tc.wantSubject {
				t.Errorf("Subject = %q, want %q", m.Subject, tc.wantSubject)
			}
			if !strings.Contains(m.Text, u) {
				t.Errorf("text part lacks the URL verbatim:\n%s", m.Text)
			}
			if !strings.Contains(m.Text, "token=abc_DEF-123") {
				t.Errorf("text part lacks token=:\n%s", m.Text)
			}
			// In HTML the & of the query must be escaped as &amp;, and the
			// unescaped document must give the URL back.
			wantHref := `href="https://app.example.com/authenticate?token=abc_DEF-123&amp;stytch_token_type=magic_links"`
			if !strings.Contains(m.HTML, wantHref) {
				t.Errorf("HTML lacks %s:\n%s", wantHref, m.HTML)
			}
			if strings.Contains(m.HTML, "&stytch") {
				t.Errorf("HTML has an unescaped &:\n%s", m.HTML)
			}
			if !strings.Contains(html.UnescapeString(m.HTML), u) {
				t.Errorf("unescaped HTML lacks the URL")
			}
		})
	}
}

func TestRender_HTMLEscaping(t *testing.T) {
	t.Run("QuoteInURLCannotBreakAttribute", func(t *testing.T) {
		m := render.Render(linkEvent(auth.MagicLinkLogin, "en", `https://x.example/?token=a"><script>alert(1)</script>`), render.Options{})
		if strings.Contains(m.HTML, "<script>") || strings.Contains(m.HTML, `a"><`) {
			t.Errorf("URL escaped its attribute:\n%s", m.HTML)
		}
	})
	t.Run("JavaScriptSchemeIsNeutralized", func(t *testing.T) {
		m := render.Render(linkEvent(auth.MagicLinkLogin, "en", "javascript:alert(1)//?token=x"), render.Options{})
		if strings.Contains(m.HTML, `href="javascript:`) {
			t.Errorf("javascript: URL kept in href:\n%s", m.HTML)
		}
	})
	t.Run("AppNameIsEscaped", func(t *testing.T) {
		ev := otpEvent(auth.ChannelEmail, "en")
		m := render.Render(ev, render.Options{AppName: `<b>Evil & Co</b>`})
		if strings.Contains(m.HTML, "<b>Evil") {
			t.Errorf("app name not escaped:\n%s", m.HTML)
		}
		if !strings.Contains(m.HTML, "&lt;b&gt;Evil &amp; Co&lt;/b&gt;") {
			t.Errorf("escaped app name missing:\n%s", m.HTML)
		}
	})
	t.Run("PlaceholderInAppNameIsNotExpanded", func(t *testing.T) {
		ev := otpEvent(auth.ChannelSMS, "en")
		m := render.Render(ev, render.Options{AppName: "{code}"})
		if strings.Count(m.Text, "123456") != 1 {
			t.Errorf("placeholder expanded twice: %q", m.Text)
		}
	})
}

func TestRender_Expiry(t *testing.T) {
	for _, tc := range []struct {
		name string
		d    time.Duration
		want string // "" = no expiry sentence
	}{
		{"RoundsToNearestMinute", 2*time.Minute + 29*time.Second, "It expires in 2 minutes."},
		{"RoundsUpFromHalf", 9*time.Minute + 31*time.Second, "It expires in 10 minutes."},
		{"SubMinuteShowsOneMinute", 20 * time.Second, "It expires in 1 minute."},
		{"NinetyMinutesStayMinutes", 90 * time.Minute, "It expires in 90 minutes."},
		{"WholeHour", time.Hour, "It expires in 1 hour."},
		{"OneDayShowsHours", 24 * time.Hour, "It expires in 24 hours."},
		{"WeekShowsDays", 7 * 24 * time.Hour, "It expires in 7 days."},
		{"NonPositiveOmitsExpiry", -time.Minute, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev := otpEvent(auth.ChannelSMS, "en")
			ev.ExpiresAt = ev.CreatedAt.Add(tc.d)
			m := render.Render(ev, render.Options{})
			want := "123456 is your Sesame verification code."
			if tc.want != "" {
				want += " " + tc.want
			}
			if m.Text != want {
				t.Errorf("Text = %q, want %q", m.Text, want)
			}
		})
	}
	t.Run("ZeroTimesOmitExpiry", func(t *testing.T) {
		ev := otpEvent(auth.ChannelEmail, "en")
		ev.CreatedAt, ev.ExpiresAt = time.Time{}, time.Time{}
		m := render.Render(ev, render.Options{})
		if strings.Contains(m.Text, "expires") || strings.Contains(m.HTML, "expires") {
			t.Errorf("expiry shown without times:\n%s", m.Text)
		}
	})
}

func TestRender_NilEventReturnsNil(t *testing.T) {
	if m := render.Render(nil, render.Options{}); m != nil {
		t.Errorf("Render(nil) = %+v", m)
	}
}

func TestMatchLocale(t *testing.T) {
	for in, want := range map[string]string{
		"":          "en",
		"en-US":     "en",
		"es-MX":     "es",
		"ES":        "es",
		"fr_CA":     "fr",
		"pt-BR":     "pt-br",
		"pt-PT":     "pt-br",
		"pt":        "pt-br",
		"de-CH":     "de",
		"zh-Hant":   "en",
		" de ":      "de",
		"it,de;q=1": "en",
	} {
		if got := render.MatchLocale(in); got != want {
			t.Errorf("MatchLocale(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRender_EveryLocaleHasEveryString(t *testing.T) {
	for _, loc := range render.Locales() {
		for _, kind := range []auth.MagicLinkKind{auth.MagicLinkLogin, auth.MagicLinkSignup, auth.MagicLinkInvite} {
			m := render.Render(linkEvent(kind, loc, "https://x.example/?token=t"), render.Options{})
			if m.Subject == "" || !strings.Contains(m.Text, "token=t") || strings.Contains(m.Text+m.HTML, "{") {
				t.Errorf("%s/%s: incomplete: %q\n%s", loc, kind, m.Subject, m.Text)
			}
		}
		for _, ch := range []auth.Channel{auth.ChannelSMS, auth.ChannelEmail} {
			m := render.Render(otpEvent(ch, loc), render.Options{})
			if !standalone(m.Text, "123456") || strings.Contains(m.Text+m.HTML, "{") {
				t.Errorf("%s/%s: bad text %q", loc, ch, m.Text)
			}
			// One SMS segment: 160 GSM-7 characters, or 70 when any
			// character forces UCS-2.
			if ch == auth.ChannelSMS {
				limit := 160
				for _, r := range m.Text {
					if !strings.ContainsRune(gsm7, r) {
						limit = 70
					}
				}
				if n := utf8.RuneCountInString(m.Text); n > limit {
					t.Errorf("%s: SMS is %d characters (limit %d): %q", loc, n, limit, m.Text)
				}
			}
		}
	}
}

func FuzzRender(f *testing.F) {
	f.Add("https://x.example/?token=abc", "en", "Sesame")
	f.Add(`javascript:"><script>`, "es-MX", "<b>")
	f.Add("", "pt_BR,fr;q=0.5", "{code}{app}")
	f.Add("\xff\xfe", "\x00", "\u202e")
	f.Fuzz(func(t *testing.T, u, locale, app string) {
		for _, ch := range []auth.Channel{auth.ChannelSMS, auth.ChannelWhatsApp, auth.ChannelEmail} {
			ev := otpEvent(ch, locale)
			ev.URL = u
			m := render.Render(ev, render.Options{AppName: app})
			if m == nil || !strings.Contains(m.Text, "123456") {
				t.Fatalf("%s: code missing from text %q", ch, m.Text)
			}
			if ch == auth.ChannelEmail && !strings.Contains(m.HTML, "123456") {
				t.Fatalf("code missing from HTML")
			}
			if ch.IsPhone() && !strings.HasPrefix(m.Text, "123456 ") {
				t.Fatalf("SMS does not lead with the code: %q", m.Text)
			}

			lev := linkEvent(auth.MagicLinkLogin, locale, u)
			lev.Channel = ch
			lm := render.Render(lev, render.Options{AppName: app})
			if !strings.Contains(lm.Text, u) {
				t.Fatalf("URL missing from text")
			}
			if strings.Contains(lm.HTML, "<script") && !strings.Contains(app, "<script") {
				// app is escaped too, so no raw tag may come from anywhere.
				t.Fatalf("raw <script in HTML:\n%s", lm.HTML)
			}
		}
	})
}

func TestRender_TheProjectsAppNameAndSenderWin(t *testing.T) {
	tests := []struct {
		name                  string
		ch                    auth.Channel
		evApp, optApp         string
		fromName, fromEmail   string
		wantApp               string
		wantName, wantAddress string
	}{
		{"the event's app name over the worker's", auth.ChannelEmail, "Acme", "Sesame Cloud", "Acme Security", "security@acme.test", "Acme", "Acme Security", "security@acme.test"},
		{"no project app name: the worker's", auth.ChannelEmail, "", "Sesame Cloud", "", "", "Sesame Cloud", "", ""},
		{"an SMS carries no email sender", auth.ChannelSMS, "Acme", "", "Acme Security", "security@acme.test", "Acme", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := otpEvent(tt.ch, "en")
			ev.AppName, ev.FromName, ev.FromEmail = tt.evApp, tt.fromName, tt.fromEmail
			m := render.Render(ev, render.Options{AppName: tt.optApp})
			if !strings.Contains(m.Text, tt.wantApp) || m.FromName != tt.wantName || m.FromEmail != tt.wantAddress {
				t.Fatalf("text %q from %q <%s>; want app %q from %q <%s>", m.Text, m.FromName, m.FromEmail, tt.wantApp, tt.wantName, tt.wantAddress)
			}
		})
	}
}
