package worker

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/sesame-auth/sesame/internal/auth"
	"github.com/sesame-auth/sesame/internal/console"
	"github.com/sesame-auth/sesame/internal/metrics"
	"github.com/sesame-auth/sesame/internal/sendgrid"
	"github.com/sesame-auth/sesame/internal/smshook"
	"github.com/sesame-auth/sesame/internal/smsroute"
	"github.com/sesame-auth/sesame/internal/smtp"
	"github.com/sesame-auth/sesame/internal/twilio"
)

// SMSSender builds the SMS and WhatsApp sender: an smsroute.Router over the
// providers named by SMS_PROVIDERS (or the single SMS_PROVIDER; default
// "console"), routed by SMS_ROUTES, failing over after SMS_FAILOVER_AFTER
// consecutive transient failures (default 3) for SMS_FAILOVER_COOLDOWN
// (default 1m). It also returns the provider names joined by ",".
//
// SMS_PROVIDERS is an ordered, comma-separated list of name[:kind] entries,
// kind twilio, webhook or console (default: the name). A provider whose
// name is its kind reads the kind's usual variables (TWILIO_*,
// SMS_WEBHOOK_*); another name reads them prefixed with its upper-cased
// name and "_" (india:twilio reads INDIA_TWILIO_ACCOUNT_SID, …).
// SMS_ROUTES is a ";"-separated list of +prefix=name,name,… entries (the
// longest matching prefix wins); other numbers use SMS_PROVIDERS in order.
func SMSSender(getenv func(string) string, stdout io.Writer) (auth.Sender, string, error) {
	list, single := strings.TrimSpace(getenv("SMS_PROVIDERS")), strings.TrimSpace(getenv("SMS_PROVIDER"))
	switch {
	case list != "" && single != "":
		return nil, "", errors.New("set SMS_PROVIDERS (a list) or SMS_PROVIDER (one), not both")
	case list == "" && single == "":
		list = "console"
	case list == "":
		list = single
	}
	var cfg smsroute.Config
	var names []string
	for _, e := range strings.Split(list, ",") {
		name, kind, _ := strings.Cut(strings.TrimSpace(e), ":")
		if kind == "" {
			kind = name
		}
		env := getenv
		if name != kind {
			prefix := strings.ToUpper(name) + "_"
			env = func(k string) string { return getenv(prefix + k) }
		}
		s, err := smsProvider(kind, env, stdout)
		if err != nil {
			return nil, "", fmt.Errorf("SMS provider %q: %w", name, err)
		}
		cfg.Providers = append(cfg.Providers, smsroute.Provider{Name: name, Sender: s})
		names = append(names, name)
	}
	routes, err := smsroute.ParseRoutes(getenv("SMS_ROUTES"))
	if err != nil {
		return nil, "", err
	}
	cfg.Routes = routes
	if v := strings.TrimSpace(getenv("SMS_FAILOVER_AFTER")); v != "" {
		if cfg.FailAfter, err = strconv.Atoi(v); err != nil || cfg.FailAfter < 1 {
			return nil, "", errors.New("SMS_FAILOVER_AFTER must be a positive integer")
		}
	}
	if v := strings.TrimSpace(getenv("SMS_FAILOVER_COOLDOWN")); v != "" {
		if cfg.CoolDown, err = time.ParseDuration(v); err != nil || cfg.CoolDown <= 0 {
			return nil, "", errors.New("SMS_FAILOVER_COOLDOWN must be a positive Go duration such as 1m")
		}
	}
	r, err := smsroute.New(cfg)
	if err != nil {
		return nil, "", err
	}
	return r, strings.Join(names, ","), nil
}

// smsProvider builds one SMS provider of a kind from its variables.
func smsProvider(kind string, getenv func(string) string, stdout io.Writer) (auth.Sender, error) {
	switch kind {
	case "twilio":
		cfg, err := twilio.FromEnv(getenv)
		if err != nil {
			return nil, err
		}
		return twilio.New(cfg)
	case "webhook":
		cfg, err := smshook.FromEnv(getenv)
		if err != nil {
			return nil, err
		}
		return smshook.New(cfg)
	case "console":
		return console.New(stdout), nil
	default:
		return nil, fmt.Errorf("kind must be twilio, webhook or console, not %q", kind)
	}
}

// Instrument returns sender measured by reg. An smsroute.Router reports
// each provider call itself (by provider name and route, and under the
// shared provider series) and records every attempt with rec (nil: not
// recorded); any other sender is wrapped by reg.InstrumentSender.
func Instrument(sender auth.Sender, provider string, reg *metrics.Registry, rec smsroute.Recorder) auth.Sender {
	if r, ok := sender.(*smsroute.Router); ok {
		r.SetMetrics(reg)
		if rec != nil {
			r.SetRecorder(rec)
		}
		return r
	}
	return reg.InstrumentSender(provider, sender)
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
