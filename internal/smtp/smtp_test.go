package smtp_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/internal/auth"
	"github.com/sesame-auth/sesame/internal/fakeprovider"
	"github.com/sesame-auth/sesame/internal/smtp"
)

// testCert returns a server TLS config with a fresh self-signed certificate
// for 127.0.0.1 and a client config trusting it.
func testCert(t testing.TB) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "fake.smtp"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}},
		&tls.Config{RootCAs: pool}
}

func hostPort(t testing.TB, addr string) (string, int) {
	t.Helper()
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(p)
	return h, n
}

func email(to string) *auth.OutboundMessage {
	return &auth.OutboundMessage{MessageID: "msg-1", Channel: auth.ChannelEmail, To: to, Subject: "Your code",
		Text: "Your code is 123456", HTML: "<p>Your code is <b>123456</b></p>"}
}

func TestSend(t *testing.T) {
	srvTLS, cliTLS := testCert(t)
	const user, pass = "mailer", "s3cret-pass"
	tests := []struct {
		name       string
		fake       fakeprovider.SMTPOptions
		cfg        smtp.Config
		prepare    func(*fakeprovider.SMTP)
		wantReason string // "" means delivered
		permanent  bool
		wantMech   string
		wantTLS    bool
	}{
		{name: "OKStartTLSAuthPlain", fake: fakeprovider.SMTPOptions{TLS: srvTLS, Username: user, Password: pass},
			cfg: smtp.Config{TLS: smtp.TLSStartTLS, Username: user, Password: pass}, wantMech: "PLAIN", wantTLS: true},
		{name: "OKStartTLSAuthLogin", fake: fakeprovider.SMTPOptions{TLS: srvTLS, Username: user, Password: pass},
			cfg: smtp.Config{TLS: smtp.TLSStartTLS, Username: user, Password: pass, Auth: "login"}, wantMech: "LOGIN", wantTLS: true},
		{name: "OKImplicitTLSAuthLogin", fake: fakeprovider.SMTPOptions{TLS: srvTLS, ImplicitTLS: true, Username: user, Password: pass},
			cfg: smtp.Config{TLS: smtp.TLSImplicit, Username: user, Password: pass, Auth: "login"}, wantMech: "LOGIN", wantTLS: true},
		{name: "OKNoTLSNoAuth", cfg: smtp.Config{TLS: smtp.TLSNone}},
		{name: "ErrWrongPasswordPermanent", fake: fakeprovider.SMTPOptions{TLS: srvTLS, Username: user, Password: pass},
			cfg: smtp.Config{TLS: smtp.TLSStartTLS, Username: user, Password: "wrong"}, wantReason: "smtp 535", permanent: true},
		{name: "ErrRecipientRefused550Permanent", cfg: smtp.Config{TLS: smtp.TLSNone},
			prepare: func(f *fakeprovider.SMTP) {
				f.FailNext(1, fakeprovider.SMTPFailure{Stage: "RCPT", Reply: "550 5.1.1 no such user"})
			}, wantReason: "smtp 550", permanent: true},
		{name: "ErrGreylisted451Retryable", cfg: smtp.Config{TLS: smtp.TLSNone},
			prepare: func(f *fakeprovider.SMTP) {
				f.FailNext(1, fakeprovider.SMTPFailure{Stage: "DATA", Reply: "451 4.7.1 greylisted, try later"})
			}, wantReason: "smtp 451"},
		{name: "ErrMailboxBusy452AtMailRetryable", cfg: smtp.Config{TLS: smtp.TLSNone},
			prepare: func(f *fakeprovider.SMTP) {
				f.FailNext(1, fakeprovider.SMTPFailure{Stage: "MAIL", Reply: "452 4.3.1 insufficient storage"})
			}, wantReason: "smtp 452"},
		{name: "ErrContentRejected554Permanent", cfg: smtp.Config{TLS: smtp.TLSNone},
			prepare: func(f *fakeprovider.SMTP) {
				f.FailNext(1, fakeprovider.SMTPFailure{Stage: "DATA", Reply: "554 5.7.1 message refused"})
			}, wantReason: "smtp 554", permanent: true},
		{name: "ErrHangingServerTimeoutRetryable", cfg: smtp.Config{TLS: smtp.TLSNone, Timeout: 300 * time.Millisecond},
			prepare: func(f *fakeprovider.SMTP) { f.SetHang(true) }, wantReason: "smtp timeout"},
		{name: "ErrUntrustedCertificateRetryable", fake: fakeprovider.SMTPOptions{TLS: srvTLS},
			cfg: smtp.Config{TLS: smtp.TLSStartTLS, TLSConfig: &tls.Config{}}, wantReason: "smtp tls"},
		{name: "ErrNoStartTLSOfferedRetryable", cfg: smtp.Config{TLS: smtp.TLSStartTLS}, wantReason: "smtp network"},
		{name: "ErrEmailChannelOnlyPermanent", cfg: smtp.Config{TLS: smtp.TLSNone}, wantReason: "smtp unsupported channel", permanent: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake, err := fakeprovider.NewSMTP(tt.fake)
			if err != nil {
				t.Fatal(err)
			}
			defer fake.Close()
			if tt.prepare != nil {
				tt.prepare(fake)
			}
			cfg := tt.cfg
			cfg.Host, cfg.Port = hostPort(t, fake.Addr())
			cfg.From = "Sesame <no-reply@sesame.test>"
			if cfg.TLSConfig == nil {
				cfg.TLSConfig = cliTLS
			}
			s, err := smtp.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			m := email("user@example.com")
			if tt.name == "ErrEmailChannelOnlyPermanent" {
				m.Channel = auth.ChannelSMS
			}
			id, err := s.Send(t.Context(), m)
			if tt.wantReason != "" {
				de := auth.AsDeliveryError(err)
				if err == nil || de.Reason != tt.wantReason || de.Permanent != tt.permanent {
					t.Fatalf("err = %v, want reason %q permanent %v", err, tt.wantReason, tt.permanent)
				}
				if n := len(fake.Messages()); n != 0 {
					t.Fatalf("server recorded %d messages after a failure", n)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := fake.Messages()
			if len(got) != 1 {
				t.Fatalf("server recorded %d messages, want 1", len(got))
			}
			g := got[0]
			if id == "" || g.MessageID != id {
				t.Fatalf("provider id %q, Message-ID %q", id, g.MessageID)
			}
			if g.From != "no-reply@sesame.test" || len(g.To) != 1 || g.To[0] != "user@example.com" || g.Subject != "Your code" {
				t.Fatalf("envelope/subject = %q %q %q", g.From, g.To, g.Subject)
			}
			if !strings.Contains(g.Text, "Your code is 123456") || !strings.Contains(g.HTML, "<b>123456</b>") {
				t.Fatalf("parts: text %q html %q", g.Text, g.HTML)
			}
			if g.AuthMech != tt.wantMech || g.TLS != tt.wantTLS {
				t.Fatalf("auth %q tls %v, want %q %v", g.AuthMech, g.TLS, tt.wantMech, tt.wantTLS)
			}
		})
	}
}

func TestSendCanceledContextRetryable(t *testing.T) {
	fake, err := fakeprovider.NewSMTP(fakeprovider.SMTPOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer fake.Close()
	fake.SetHang(true)
	host, port := hostPort(t, fake.Addr())
	s, err := smtp.New(smtp.Config{Host: host, Port: port, TLS: smtp.TLSNone, From: "no-reply@sesame.test"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := contextWithCancelSoon(t)
	defer cancel()
	_, err = s.Send(ctx, email("user@example.com"))
	if de := auth.AsDeliveryError(err); err == nil || de.Permanent || (de.Reason != "smtp canceled" && de.Reason != "smtp timeout") {
		t.Fatalf("err = %v", err)
	}
}

func TestFromEnv(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		wantErr string // substring; "" means valid
		want    func(smtp.Config) bool
	}{
		{"OKDefaultsStartTLS587", map[string]string{"SMTP_HOST": "smtp.example.com", "EMAIL_FROM": "a@example.com"}, "",
			func(c smtp.Config) bool {
				return c.Port == 587 && c.TLS == "starttls" && c.Timeout == smtp.DefaultTimeout && c.From == "a@example.com" && c.Auth == "plain"
			}},
		{"OKImplicitDefaults465", map[string]string{"SMTP_HOST": "smtp.example.com", "SMTP_FROM": "a@example.com", "SMTP_TLS": "implicit"}, "",
			func(c smtp.Config) bool { return c.Port == 465 }},
		{"OKNoTLSCredentialsOnLoopback", map[string]string{"SMTP_HOST": "127.0.0.1", "SMTP_FROM": "a@example.com", "SMTP_TLS": "none",
			"SMTP_USERNAME": "u", "SMTP_PASSWORD": "p", "SMTP_PORT": "1025", "SMTP_TIMEOUT": "3s"}, "",
			func(c smtp.Config) bool { return c.Port == 1025 && c.Timeout == 3*time.Second }},
		{"ErrMissingHostAndFrom", map[string]string{}, "SMTP_HOST", nil},
		{"ErrNoTLSCredentialsOverNetwork", map[string]string{"SMTP_HOST": "smtp.example.com", "SMTP_FROM": "a@example.com", "SMTP_TLS": "none",
			"SMTP_USERNAME": "u", "SMTP_PASSWORD": "p"}, "clear text", nil},
		{"ErrUnknownTLSMode", map[string]string{"SMTP_HOST": "h", "SMTP_FROM": "a@example.com", "SMTP_TLS": "ssl"}, "SMTP_TLS", nil},
		{"ErrUsernameWithoutPassword", map[string]string{"SMTP_HOST": "h", "SMTP_FROM": "a@example.com", "SMTP_USERNAME": "u"}, "SMTP_PASSWORD", nil},
		{"ErrBadPort", map[string]string{"SMTP_HOST": "h", "SMTP_FROM": "a@example.com", "SMTP_PORT": "99999"}, "SMTP_PORT", nil},
		{"ErrBadTimeout", map[string]string{"SMTP_HOST": "h", "SMTP_FROM": "a@example.com", "SMTP_TIMEOUT": "soon"}, "SMTP_TIMEOUT", nil},
		{"ErrBadFrom", map[string]string{"SMTP_HOST": "h", "SMTP_FROM": "not an address"}, "SMTP_FROM", nil},
		{"ErrUnknownAuth", map[string]string{"SMTP_HOST": "h", "SMTP_FROM": "a@example.com", "SMTP_AUTH": "cram-md5"}, "SMTP_AUTH", nil},
		{"ErrUnreadableCAFile", map[string]string{"SMTP_HOST": "h", "SMTP_FROM": "a@example.com", "SMTP_CA_FILE": "/nonexistent.pem"}, "SMTP_CA_FILE", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := smtp.FromEnv(func(k string) string { return tt.env[k] })
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to mention %q", err, tt.wantErr)
				}
				if tt.env["SMTP_PASSWORD"] != "" && strings.Contains(err.Error(), tt.env["SMTP_PASSWORD"]+"\"") {
					t.Fatalf("error leaks the password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tt.want(cfg) {
				t.Fatalf("config = %+v", cfg)
			}
		})
	}
}

func contextWithCancelSoon(t *testing.T) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(50*time.Millisecond, cancel)
	return ctx, cancel
}

func TestSendFromTheProjectsSender(t *testing.T) {
	fake, err := fakeprovider.NewSMTP(fakeprovider.SMTPOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer fake.Close()
	cfg := smtp.Config{TLS: smtp.TLSNone, From: "Sesame <no-reply@sesame.test>"}
	cfg.Host, cfg.Port = hostPort(t, fake.Addr())
	s, err := smtp.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, fromName, fromEmail, want string }{
		{"no project sender: SMTP_FROM", "", "", "no-reply@sesame.test"},
		{"a name only keeps the address", "Acme", "", "no-reply@sesame.test"},
		{"the project's address", "Acme", "security@acme.test", "security@acme.test"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := email("user@example.com")
			m.FromName, m.FromEmail = tt.fromName, tt.fromEmail
			if _, err := s.Send(t.Context(), m); err != nil {
				t.Fatal(err)
			}
			got := fake.Messages()
			if len(got) != i+1 || got[i].From != tt.want {
				t.Fatalf("messages %d, from %q; want %q", len(got), got[len(got)-1].From, tt.want)
			}
		})
	}
}
