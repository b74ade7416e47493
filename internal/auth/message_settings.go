package auth

import (
	"context"
	"net/mail"
	"strings"
	"time"
	"unicode"

	"golang.org/x/text/language"
)

// MessageSettings are how a project's messages present themselves
// (Settings.Messages). Every field is optional: an unset one follows the
// service-wide value (APP_NAME, the provider's EMAIL_FROM/SMTP_FROM, the
// request's locale).
type MessageSettings struct {
	// AppName is the product name in message texts ("Your Acme code is
	// …"). "": the worker's APP_NAME.
	AppName string `json:"app_name,omitempty"`
	// SenderName is the display name of the email sender. "": the
	// provider's configured sender as it is.
	SenderName string `json:"sender_name,omitempty"`
	// SenderEmail is the email sender's address (it must be one the email
	// provider may send from). "": the provider's configured address.
	SenderEmail string `json:"sender_email,omitempty"`
	// Locales are the BCP 47 languages the project offers, the first one
	// its default: a request without a locale gets the first, and a
	// request whose locale matches none of them gets the first too. Empty:
	// the request's locale as it is (English when none).
	Locales []string `json:"locales,omitempty"`
}

// Bounds of the message settings.
const (
	maxAppNameLen    = 64
	maxSenderNameLen = 64
	maxLocales       = 20
)

// normalize validates ms (naming the field) and returns it with canonical
// locale tags; nil stays nil.
func (ms *MessageSettings) normalize() (*MessageSettings, error) {
	if ms == nil {
		return nil, nil
	}
	out := *ms
	for field, v := range map[string]string{"messages.app_name": ms.AppName, "messages.sender_name": ms.SenderName} {
		// Both end up in an SMS text, an email subject or a From header:
		// no control characters (CR/LF header injection), bounded.
		if len(v) > maxAppNameLen || strings.IndexFunc(v, unicode.IsControl) >= 0 {
			return nil, Invalid(field, "%s must be at most %d characters without control characters.", field, maxAppNameLen)
		}
		if err := validText(field, v); err != nil {
			return nil, err
		}
	}
	out.AppName, out.SenderName = strings.TrimSpace(ms.AppName), strings.TrimSpace(ms.SenderName)
	if ms.SenderEmail != "" {
		a, err := mail.ParseAddress(ms.SenderEmail)
		if err != nil || a.Name != "" || a.Address != strings.TrimSpace(ms.SenderEmail) || len(a.Address) > 254 {
			return nil, Invalid("messages.sender_email", "messages.sender_email must be a plain email address such as no-reply@example.com.")
		}
		out.SenderEmail = a.Address
	}
	if len(ms.Locales) > maxLocales {
		return nil, Invalid("messages.locales", "messages.locales may have at most %d entries.", maxLocales)
	}
	out.Locales = nil
	for _, l := range ms.Locales {
		if err := CheckLocale(l); err != nil || l == "" {
			return nil, Invalid("messages.locales", "messages.locales must list well-formed BCP 47 tags such as en or pt-BR.")
		}
		out.Locales = append(out.Locales, language.Make(l).String())
	}
	return &out, nil
}

// offeredLocale returns the locale a message is rendered in: the request's
// when the project offers no list or offers it (or a variant of it, by
// golang.org/x/text/language matching), else the project's first locale.
func offeredLocale(offered []string, requested string) string {
	if len(offered) == 0 {
		return requested
	}
	if requested == "" {
		return offered[0]
	}
	tags := make([]language.Tag, len(offered))
	for i, o := range offered {
		tags[i] = language.Make(o)
	}
	_, i, conf := language.NewMatcher(tags).Match(language.Make(requested))
	if conf == language.No {
		return offered[0]
	}
	return offered[i]
}

// brandEvent applies the project's message settings to an event about to
// be stored and published: its app name, email sender and locale. It reads
// the in-process settings cache (warm: the request authenticated the
// project).
func (s *Service) brandEvent(ev *Event) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	ms := s.projectState(ctx, ev.ProjectID).settings.Messages
	if ms == nil {
		return
	}
	ev.AppName = ms.AppName
	if ev.Channel == ChannelEmail {
		ev.FromName, ev.FromEmail = ms.SenderName, ms.SenderEmail
	}
	ev.Locale = offeredLocale(ms.Locales, ev.Locale)
}
