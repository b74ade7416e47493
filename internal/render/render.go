// Package render turns a delivery event (auth.Event) into the text a provider
// sends: an SMS/WhatsApp body, or an email subject with plain-text and HTML
// parts.
//
// Rules every message follows (see /work/shared/contract.md, "Messages"):
//   - a one-time code appears as a standalone group of digits (never glued to
//     other digits or letters), first in an SMS and on its own line in an email;
//   - a magic link appears verbatim in the text part and, HTML-escaped by
//     html/template, in the HTML part.
//
// Languages: en, es, fr, pt-br and de; anything else falls back to English
// (see MatchLocale).
package render

import (
	"bytes"
	"html/template"
	"math"
	"strings"
	"time"

	"github.com/sesame-auth/sesame/internal/auth"
)

// DefaultAppName is the product name used when Options.AppName is empty.
const DefaultAppName = "Sesame"

// Options tune rendering.
type Options struct {
	// AppName is the product name shown in messages. Defaults to "Sesame".
	AppName string
}

// Render renders ev into the message a provider sends. The result carries
// ev's MessageID, Channel and To. Email messages get Subject, Text and HTML;
// SMS and WhatsApp messages get Text only.
//
// An event of kind auth.KindMagicLink renders as a link message (the subject
// depends on ev.LinkKind: login, signup or invite; embedded or unknown kinds
// render as login); any other kind renders as a one-time code message.
//
// The expiry sentence is derived from ev.ExpiresAt - ev.CreatedAt, rounded
// to whole minutes (at least 1); exact multiples of an hour from 1 hour and of
// a day from 2 days are shown in hours or days. It is left out when either time
// is zero or the difference is not positive.
//
// Render returns nil for a nil event.
func Render(ev *auth.Event, opts Options) *auth.OutboundMessage {
	if ev == nil {
		return nil
	}
	app := strings.TrimSpace(ev.AppName) // the project's (auth.MessageSettings)
	if app == "" {
		app = strings.TrimSpace(opts.AppName)
	}
	if app == "" {
		app = DefaultAppName
	}
	c := lookup(ev.Locale)
	r := strings.NewReplacer(
		"{app}", app,
		"{code}", ev.Code,
		"{expiry}", expiry(c, ev.CreatedAt, ev.ExpiresAt),
	)
	hasExpiry := !ev.CreatedAt.IsZero() && !ev.ExpiresAt.IsZero() && ev.ExpiresAt.After(ev.CreatedAt)

	m := &auth.OutboundMessage{
		MessageID: ev.MessageID,
		Channel:   ev.Channel,
		To:        ev.To,
	}
	if ev.Channel == auth.ChannelEmail {
		m.FromName, m.FromEmail = ev.FromName, ev.FromEmail
	}

	if ev.Kind == auth.KindMagicLink {
		ls := c.link[linkKindOf(ev.LinkKind)]
		intro := r.Replace(ls.intro)
		exp := ""
		if hasExpiry {
			exp = r.Replace(c.linkExpiry)
		}
		if ev.Channel.IsPhone() {
			// A link by SMS: intro, URL, expiry; no email boilerplate.
			m.Text = joinLines(intro, ev.URL, exp)
			return m
		}
		m.Subject = ls.subject
		m.Text = joinParas(intro, ev.URL, exp, c.ignore)
		m.HTML = renderHTML(htmlData{
			Lang:     c.lang,
			Subject:  ls.subject,
			Intro:    intro,
			URL:      ev.URL,
			Button:   ls.button,
			Fallback: c.fallback,
			Expiry:   exp,
			Ignore:   c.ignore,
		})
		return m
	}

	exp := ""
	if hasExpiry {
		exp = r.Replace(c.codeExpiry)
	}
	if ev.Channel.IsPhone() {
		// The code leads the message so it is the first group of digits a
		// reader (or an SMS autofill heuristic) sees.
		m.Text = r.Replace(c.smsCode)
		if exp != "" {
			m.Text += " " + exp
		}
		return m
	}
	intro := r.Replace(c.codeIntro)
	m.Subject = c.codeSubject
	m.Text = joinParas(intro, ev.Code, exp, c.ignore)
	m.HTML = renderHTML(htmlData{
		Lang:    c.lang,
		Subject: c.codeSubject,
		Intro:   intro,
		Code:    ev.Code,
		Expiry:  exp,
		Ignore:  c.ignore,
	})
	return m
}

func linkKindOf(k auth.MagicLinkKind) linkKind {
	switch k {
	case auth.MagicLinkSignup:
		return linkSignup
	case auth.MagicLinkInvite:
		return linkInvite
	default:
		return linkLogin
	}
}

// expiry renders created→expires as "2 minutes", "1 hour", "7 days"...
func expiry(c *catalog, created, expires time.Time) string {
	if created.IsZero() || expires.IsZero() || !expires.After(created) {
		return ""
	}
	d := expires.Sub(created)
	mins := int(math.Round(d.Minutes()))
	if mins < 1 {
		mins = 1
	}
	switch {
	case mins >= 2*24*60 && mins%(24*60) == 0:
		return unit(mins/(24*60), c.day, c.days)
	case mins >= 60 && mins%60 == 0:
		return unit(mins/60, c.hour, c.hours)
	default:
		return unit(mins, c.minute, c.minutes)
	}
}

// joinParas joins the non-empty parts as paragraphs separated by blank lines.
func joinParas(parts ...string) string { return join("\n\n", parts) }

func joinLines(parts ...string) string { return join("\n", parts) }

func join(sep string, parts []string) string {
	out := make([]string, 0, len(parts))
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, sep)
}

type htmlData struct {
	Lang     string
	Subject  string
	Intro    string
	Code     string
	URL      string
	Button   string
	Fallback string
	Expiry   string
	Ignore   string
}

// emailTmpl is deliberately plain: inline styles only, no images, no
// external resources (nothing that tracks or that a client blocks).
// html/template escapes every value for its context; in href it also
// rejects unsafe schemes such as javascript: (rendered as "#ZgotmplZ").
var emailTmpl = template.Must(template.New("email").Parse(`<!DOCTYPE html>
<html lang="{{.Lang}}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Subject}}</title>
</head>
<body style="margin:0;padding:24px;background:#f6f7f9;font-family:-apple-system,BlinkMacSystemFont,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;color:#1f2328;">
<div style="max-width:480px;margin:0 auto;background:#ffffff;border-radius:8px;padding:32px;">
<p style="margin:0 0 16px;font-size:16px;line-height:24px;">{{.Intro}}</p>
{{- if .Code}}
<p style="margin:0 0 16px;font-size:32px;line-height:40px;font-weight:700;letter-spacing:6px;font-family:'SFMono-Regular',Consolas,'Liberation Mono',Menlo,monospace;">{{.Code}}</p>
{{- end}}
{{- if .URL}}
<p style="margin:0 0 24px;"><a href="{{.URL}}" style="display:inline-block;padding:12px 20px;background:#1f6feb;color:#ffffff;text-decoration:none;border-radius:6px;font-weight:600;">{{.Button}}</a></p>
<p style="margin:0 0 16px;font-size:13px;line-height:20px;color:#59636e;">{{.Fallback}}<br><a href="{{.URL}}" style="color:#1f6feb;word-break:break-all;">{{.URL}}</a></p>
{{- end}}
{{- if .Expiry}}
<p style="margin:0 0 16px;font-size:14px;line-height:20px;color:#59636e;">{{.Expiry}}</p>
{{- end}}
<p style="margin:0;font-size:13px;line-height:20px;color:#59636e;">{{.Ignore}}</p>
</div>
</body>
</html>
`))

func renderHTML(d htmlData) string {
	var b bytes.Buffer
	if err := emailTmpl.Execute(&b, d); err != nil {
		// The template is fixed and every field is a string, so this cannot
		// happen short of a bug; fall back to an escaped minimal body rather
		// than sending nothing.
		return "<p>" + template.HTMLEscapeString(d.Intro) + "</p><p>" +
			template.HTMLEscapeString(d.Code) + template.HTMLEscapeString(d.URL) + "</p>"
	}
	return b.String()
}
