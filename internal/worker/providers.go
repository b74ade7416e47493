package worker

import (
	"fmt"
	"io"

	"github.com/sesame-auth/sesame/internal/auth"
	"github.com/sesame-auth/sesame/internal/console"
	"github.com/sesame-auth/sesame/internal/sendgrid"
	"github.com/sesame-auth/sesame/internal/smtp"
	"github.com/sesame-auth/sesame/internal/twilio"
)

// SMSSender builds the SMS and WhatsApp provider named by SMS_PROVIDER:
// "twilio" (TWILIO_* variables) or "console" (the default), and names it.
func SMSSender(getenv func(string) string, stdout io.Writer) (auth.Sender, string, error) {
	switch p := getenv("SMS_PROVIDER"); p {
	case "twilio":
		cfg, err := twilio.FromEnv(getenv)
		if err != nil {
			return nil, "", err
		}
		s, err := twilio.New(cfg)
		return s, "twilio", err
	case "console", "":
		return console.New(stdout), "console", nil
	default:
		return nil, "", fmt.Errorf("SMS_PROVIDER must be twilio or console, not %q", p)
	}
}

// EmailSender builds the email provider named by EMAIL_PROVIDER:
// "sendgrid" (SENDGRID_* and EMAIL_FROM variables), "smtp" (SMTP_*
// variables, see internal/smtp) or "console" (the default), and names it.
func EmailSender(getenv func(string) string, stdout io.Writer) (auth.Sender, string, error) {
	switch p := getenv("EMAIL_PROVIDER"); p {
	case "sendgrid":
		cfg, err := sendgrid.FromEnv(getenv)
		if err != nil {
			return nil, "", err
		}
		s, err := sendgrid.New(cfg)
		return s, "sendgrid", err
	case "smtp":
		cfg, err := smtp.FromEnv(getenv)
		if err != nil {
			return nil, "", err
		}
		s, err := smtp.New(cfg)
		return s, "smtp", err
	case "console", "":
		return console.New(stdout), "console", nil
	default:
		return nil, "", fmt.Errorf("EMAIL_PROVIDER must be sendgrid, smtp or console, not %q", p)
	}
}
