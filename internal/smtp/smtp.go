// Package smtp delivers email through any SMTP server (a relay, SES,
// Postmark, Mailgun, a local mail catcher) with github.com/wneessen/go-mail.
//
// Each Send opens one session (connect, EHLO, STARTTLS or implicit TLS,
// AUTH PLAIN or LOGIN, MAIL, RCPT, DATA, QUIT) and sends a multipart/
// alternative message with a plain-text and an HTML part. Replies are
// classified as SMTP defines them: 5xx is permanent, 4xx transient; a
// timeout or a broken connection is transient.
package smtp

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	netmail "net/mail"
	"net/textproto"
	"os"
	"strconv"
	"strings"
	"time"

	mail "github.com/wneessen/go-mail"

	"github.com/sesame-auth/sesame/internal/auth"
)

// TLS modes.
const (
	TLSStartTLS = "starttls" // plain connect, then STARTTLS (mandatory)
	TLSImplicit = "implicit" // TLS from the first byte ("SMTPS", port 465)
	TLSNone     = "none"     // no encryption: loopback or trusted networks only
)

// Defaults.
const (
	DefaultTLS     = TLSStartTLS
	DefaultTimeout = 10 * time.Second
)

// DefaultPort returns the port used when Config.Port is 0: 587 for
// starttls, 465 for implicit, 25 for none.
func DefaultPort(mode string) int {
	switch mode {
	case TLSImplicit:
		return 465
	case TLSNone:
		return 25
	}
	return 587
}

// Config configures a Sender.
type Config struct {
	// Host is the SMTP server's name (also the TLS server name). Required.
	Host string
	// Port defaults to DefaultPort(TLS).
	Port int
	// TLS is TLSStartTLS (default), TLSImplicit or TLSNone.
	TLS string
	// TLSConfig adds roots or client certificates. Optional; ServerName
	// defaults to Host and the minimum version is TLS 1.2.
	TLSConfig *tls.Config
	// Username and Password turn on SMTP AUTH. Optional: both or neither.
	// The password is never logged. With TLSNone they are only accepted
	// for a loopback Host (they would cross the network in clear text).
	Username, Password string
	// Auth is "plain" (default) or "login".
	Auth string
	// From is the sender, "addr@example.com" or "Name <addr@example.com>".
	// Required.
	From string
	// Timeout bounds connecting and each SMTP command. Default 10s.
	Timeout time.Duration
}

// Sender sends email over SMTP. It is safe for concurrent use: each Send
// has its own session.
type Sender struct {
	cfg Config
}

var _ auth.Sender = (*Sender)(nil)

func (cfg *Config) validate() error {
	cfg.Host = strings.TrimSpace(cfg.Host)
	cfg.From = strings.TrimSpace(cfg.From)
	cfg.TLS = strings.ToLower(strings.TrimSpace(cfg.TLS))
	cfg.Auth = strings.ToLower(strings.TrimSpace(cfg.Auth))
	var errs []error
	if cfg.Host == "" {
		errs = append(errs, errors.New("host is required (SMTP_HOST)"))
	}
	if cfg.TLS == "" {
		cfg.TLS = DefaultTLS
	}
	switch cfg.TLS {
	case TLSStartTLS, TLSImplicit, TLSNone:
	default:
		errs = append(errs, fmt.Errorf("SMTP_TLS must be starttls, implicit or none, not %q", cfg.TLS))
	}
	if cfg.Port == 0 {
		cfg.Port = DefaultPort(cfg.TLS)
	}
	if cfg.Port < 1 || cfg.Port > 65535 {
		errs = append(errs, errors.New("port (SMTP_PORT) must be between 1 and 65535"))
	}
	if (cfg.Username == "") != (cfg.Password == "") {
		errs = append(errs, errors.New("set both SMTP_USERNAME and SMTP_PASSWORD, or neither"))
	}
	if cfg.Username != "" && cfg.TLS == TLSNone && !isLoopback(cfg.Host) {
		errs = append(errs, errors.New("SMTP_TLS=none with credentials would send the password in clear text: use starttls or implicit, or a loopback host"))
	}
	if cfg.Auth == "" {
		cfg.Auth = "plain"
	}
	if cfg.Auth != "plain" && cfg.Auth != "login" {
		errs = append(errs, fmt.Errorf("SMTP_AUTH must be plain or login, not %q", cfg.Auth))
	}
	if cfg.From == "" {
		errs = append(errs, errors.New("sender is required (SMTP_FROM or EMAIL_FROM)"))
	} else if err := mail.NewMsg().From(cfg.From); err != nil {
		errs = append(errs, fmt.Errorf("sender (SMTP_FROM) is not an address: %q", cfg.From))
	}
	switch {
	case cfg.Timeout < 0:
		errs = append(errs, errors.New("timeout (SMTP_TIMEOUT) must not be negative"))
	case cfg.Timeout == 0:
		cfg.Timeout = DefaultTimeout
	}
	if len(errs) > 0 {
		return fmt.Errorf("smtp: invalid config: %w", errors.Join(errs...))
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// New returns a Sender for cfg, or an error naming every missing or invalid
// setting.
func New(cfg Config) (*Sender, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.TLSConfig != nil {
		tc = cfg.TLSConfig.Clone()
		tc.MinVersion = max(tc.MinVersion, tls.VersionTLS12)
	}
	if tc.ServerName == "" {
		tc.ServerName = cfg.Host
	}
	cfg.TLSConfig = tc
	return &Sender{cfg: cfg}, nil
}

// FromEnv reads SMTP_HOST, SMTP_PORT, SMTP_TLS, SMTP_USERNAME,
// SMTP_PASSWORD, SMTP_AUTH, SMTP_FROM (default EMAIL_FROM), SMTP_TIMEOUT
// (a Go duration) and SMTP_CA_FILE (optional PEM roots trusted besides the
// system's) through getenv (os.Getenv when nil). The error names every
// missing or invalid variable; secrets are never part of it.
func FromEnv(getenv func(string) string) (Config, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	cfg := Config{
		Host: getenv("SMTP_HOST"), TLS: getenv("SMTP_TLS"), Auth: getenv("SMTP_AUTH"),
		Username: getenv("SMTP_USERNAME"), Password: getenv("SMTP_PASSWORD"),
		From: getenv("SMTP_FROM"),
	}
	if cfg.From == "" {
		cfg.From = getenv("EMAIL_FROM")
	}
	var errs []error
	if v := strings.TrimSpace(getenv("SMTP_PORT")); v != "" {
		p, err := strconv.Atoi(v)
		if err != nil || p < 1 || p > 65535 {
			errs = append(errs, errors.New("smtp: SMTP_PORT must be a port number"))
		}
		cfg.Port = p
	}
	if v := strings.TrimSpace(getenv("SMTP_TIMEOUT")); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			errs = append(errs, errors.New("smtp: SMTP_TIMEOUT must be a positive Go duration such as 10s"))
		}
		cfg.Timeout = d
	}
	if f := strings.TrimSpace(getenv("SMTP_CA_FILE")); f != "" {
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		pem, err := os.ReadFile(f)
		if err != nil || !pool.AppendCertsFromPEM(pem) {
			errs = append(errs, fmt.Errorf("smtp: SMTP_CA_FILE %q: no PEM certificate could be read", f))
		}
		cfg.TLSConfig = &tls.Config{RootCAs: pool}
	}
	if err := cfg.validate(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return Config{}, errors.Join(errs...)
	}
	return cfg, nil
}

// Send delivers an email and returns its Message-ID header as the provider
// id. Errors are *auth.DeliveryError with reasons "smtp <code>" (the reply
// code: 5xx permanent, 4xx retryable), "smtp timeout", "smtp canceled",
// "smtp network", "smtp tls" (retryable) and "smtp bad address",
// "smtp auth unsupported", "smtp unsupported channel" (permanent).
func (s *Sender) Send(ctx context.Context, m *auth.OutboundMessage) (string, error) {
	if m == nil || m.Channel != auth.ChannelEmail {
		return "", auth.Permanent("smtp unsupported channel", errors.New("smtp: only email messages"))
	}
	msg := mail.NewMsg()
	if err := s.setFrom(msg, m); err != nil {
		return "", auth.Permanent("smtp bad address", err)
	}
	if err := msg.To(strings.TrimSpace(m.To)); err != nil {
		return "", auth.Permanent("smtp bad address", err)
	}
	msg.Subject(m.Subject)
	msg.SetMessageID()
	if m.MessageID != "" {
		msg.SetGenHeader(mail.Header("X-Sesame-Message-Id"), m.MessageID)
	}
	msg.SetBodyString(mail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(mail.TypeTextHTML, m.HTML)
	}

	timeout := s.cfg.Timeout
	if dl, ok := ctx.Deadline(); ok {
		timeout = max(min(timeout, time.Until(dl)), time.Millisecond)
	}
	// Our own dialer ties the session to ctx: cancelling ctx closes the
	// connection, whatever command is waiting (go-mail itself only uses ctx
	// while dialing). It also does implicit TLS, so go-mail's TLS policy is
	// NoTLS then (the connection is a *tls.Conn from the first byte).
	stop := func() bool { return false }
	defer func() { stop() }()
	implicit := s.cfg.TLS == TLSImplicit
	dial := func(dctx context.Context, network, addr string) (net.Conn, error) {
		var conn net.Conn
		var err error
		if implicit {
			conn, err = (&tls.Dialer{Config: s.cfg.TLSConfig}).DialContext(dctx, network, addr)
		} else {
			conn, err = (&net.Dialer{}).DialContext(dctx, network, addr)
		}
		if err != nil {
			return nil, err
		}
		stop = context.AfterFunc(ctx, func() { conn.Close() })
		return conn, nil
	}
	opts := []mail.Option{mail.WithPort(s.cfg.Port), mail.WithTimeout(timeout), mail.WithTLSConfig(s.cfg.TLSConfig),
		mail.WithDialContextFunc(dial)}
	if s.cfg.TLS == TLSStartTLS {
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	} else {
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	}
	if s.cfg.Username != "" {
		mech := mail.SMTPAuthPlain
		if s.cfg.Auth == "login" {
			mech = mail.SMTPAuthLogin
		}
		opts = append(opts, mail.WithSMTPAuth(mech), mail.WithUsername(s.cfg.Username), mail.WithPassword(s.cfg.Password))
	}
	c, err := mail.NewClient(s.cfg.Host, opts...)
	if err != nil {
		return "", auth.Permanent("smtp config", err)
	}
	if err := c.DialAndSendWithContext(ctx, msg); err != nil {
		return "", classify(ctx, err)
	}
	return strings.Trim(msg.GetMessageID(), "<>"), nil
}

// classify maps a go-mail error to a delivery error.
func classify(ctx context.Context, err error) error {
	code := 0
	var se *mail.SendError
	var te *textproto.Error
	switch {
	case errors.As(err, &se) && se.ErrorCode() != 0:
		code = se.ErrorCode()
	case errors.As(err, &te):
		code = te.Code
	}
	switch {
	case code >= 500:
		return auth.Permanent("smtp "+strconv.Itoa(code), err)
	case code >= 400:
		return auth.Retryable("smtp "+strconv.Itoa(code), 0, err)
	}
	var ne net.Error
	var ce *tls.CertificateVerificationError
	switch {
	case errors.Is(ctx.Err(), context.Canceled):
		return auth.Retryable("smtp canceled", 0, err)
	case ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()):
		return auth.Retryable("smtp timeout", 0, err)
	case errors.Is(err, mail.ErrPlainAuthNotSupported) || errors.Is(err, mail.ErrLoginAuthNotSupported):
		// The server does not offer the configured mechanism: an operator fix.
		return auth.Permanent("smtp auth unsupported", err)
	case errors.As(err, &ce):
		return auth.Retryable("smtp tls", 0, err)
	case se != nil && !se.IsTemp() && se.Reason == mail.ErrNoUnencoded:
		return auth.Permanent("smtp bad message", err)
	}
	return auth.Retryable("smtp network", 0, err)
}

// setFrom sets the configured sender, with the project's name and address
// (m.FromName, m.FromEmail: auth.MessageSettings) over it when given.
func (s *Sender) setFrom(msg *mail.Msg, m *auth.OutboundMessage) error {
	if m.FromName == "" && m.FromEmail == "" {
		return msg.From(s.cfg.From)
	}
	def, err := netmail.ParseAddress(s.cfg.From)
	if err != nil {
		return err
	}
	name, addr := def.Name, def.Address
	if m.FromName != "" {
		name = m.FromName
	}
	if m.FromEmail != "" {
		addr = m.FromEmail
	}
	return msg.FromFormat(name, addr)
}
