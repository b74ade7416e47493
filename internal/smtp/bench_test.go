package smtp_test

import (
	"testing"

	"github.com/sesame-auth/sesame/internal/fakeprovider"
	"github.com/sesame-auth/sesame/internal/smtp"
)

// BenchmarkSend measures one message, one SMTP session, against the local
// fake server: plain text, and STARTTLS with AUTH PLAIN.
func BenchmarkSend(b *testing.B) {
	srvTLS, cliTLS := testCert(b)
	for _, bc := range []struct {
		name string
		fake fakeprovider.SMTPOptions
		cfg  smtp.Config
	}{
		{"None", fakeprovider.SMTPOptions{}, smtp.Config{TLS: smtp.TLSNone}},
		{"StartTLSAuthPlain", fakeprovider.SMTPOptions{TLS: srvTLS, Username: "u", Password: "p"},
			smtp.Config{TLS: smtp.TLSStartTLS, Username: "u", Password: "p", TLSConfig: cliTLS}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			fake, err := fakeprovider.NewSMTP(bc.fake)
			if err != nil {
				b.Fatal(err)
			}
			defer fake.Close()
			cfg := bc.cfg
			cfg.Host, cfg.Port = hostPort(b, fake.Addr())
			cfg.From = "no-reply@sesame.test"
			s, err := smtp.New(cfg)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.Send(b.Context(), email("user@example.com")); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
