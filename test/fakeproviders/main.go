// Command fakeproviders runs the fake Twilio and SendGrid APIs of
// internal/fakeprovider as standalone servers, for end-to-end suites that
// run bin/api and the workers as processes:
//
//	go run ./test/fakeproviders -twilio-addr 127.0.0.1:4010 -sendgrid-addr 127.0.0.1:4011
//	TWILIO_BASE_URL=http://127.0.0.1:4010 SENDGRID_BASE_URL=http://127.0.0.1:4011 bin/smsworker …
//
// Both ports also serve (see fakeprovider.AdminHandler):
//
//	GET    /messages[?to=R][&provider=twilio|sendgrid][&wait=5s]   recorded messages of both fakes,
//	       each with "code" (first standalone 6-digit group) and "token" (token= query value)
//	DELETE /messages                                              forget everything
//	POST   /fail     {"provider":"twilio","n":1,"status":500,"code":20500}
//	POST   /latency  {"provider":"sendgrid","ms":250}
//	GET    /healthz
//	GET    /smtp/messages[?to=R][&wait=5s]                            messages the SMTP sink accepted (with -smtp-addr)
//
// With -smtp-addr it also runs a plain-text SMTP sink (fakeprovider.SMTP, no
// TLS, no AUTH) for EMAIL_PROVIDER=smtp with SMTP_TLS=none.
//
// With -require-auth the fakes check credentials against TWILIO_ACCOUNT_SID /
// TWILIO_AUTH_TOKEN and SENDGRID_API_KEY from the environment. Once both
// listeners are up it prints one line "fakeproviders ready twilio=URL
// sendgrid=URL" on stdout. It stops on SIGINT or SIGTERM. It never logs message
// contents.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/sesame-auth/sesame/internal/fakeprovider"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "fakeproviders:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("fakeproviders", flag.ContinueOnError)
	twAddr := fs.String("twilio-addr", "127.0.0.1:4010", "listen address of the fake Twilio API")
	sgAddr := fs.String("sendgrid-addr", "127.0.0.1:4011", "listen address of the fake SendGrid API")
	smtpAddr := fs.String("smtp-addr", "", "listen address of the fake SMTP server (default: none)")
	requireAuth := fs.Bool("require-auth", false, "check TWILIO_ACCOUNT_SID/TWILIO_AUTH_TOKEN and SENDGRID_API_KEY")
	if err := fs.Parse(args); err != nil {
		return err
	}

	tl, err := net.Listen("tcp", *twAddr)
	if err != nil {
		return fmt.Errorf("twilio listener: %w", err)
	}
	sl, err := net.Listen("tcp", *sgAddr)
	if err != nil {
		tl.Close()
		return fmt.Errorf("sendgrid listener: %w", err)
	}
	tw := fakeprovider.NewTwilio(fakeprovider.WithListener(tl))
	defer tw.Close()
	sg := fakeprovider.NewSendGrid(fakeprovider.WithListener(sl))
	defer sg.Close()
	if *requireAuth {
		tw.RequireAuth(os.Getenv("TWILIO_ACCOUNT_SID"), os.Getenv("TWILIO_AUTH_TOKEN"))
		sg.RequireAPIKey(os.Getenv("SENDGRID_API_KEY"))
	}
	fakeprovider.MountAdmin(tw, sg)
	if *smtpAddr != "" {
		ml, err := net.Listen("tcp", *smtpAddr)
		if err != nil {
			return fmt.Errorf("smtp listener: %w", err)
		}
		sm, err := fakeprovider.NewSMTP(fakeprovider.SMTPOptions{Listener: ml})
		if err != nil {
			return err
		}
		defer sm.Close()
		tw.Handle("/smtp/", sm.Handler())
		sg.Handle("/smtp/", sm.Handler())
	}

	fmt.Printf("fakeproviders ready twilio=%s sendgrid=%s\n", tw.URL(), sg.URL())

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	return nil
}
