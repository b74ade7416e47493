// Command smsworker delivers one-time codes by SMS and WhatsApp: it consumes
// the durable JetStream consumer "smsworker" (otp.requested.sms and
// otp.requested.whatsapp) and sends through Twilio (SMS_PROVIDER=twilio) or
// prints to stdout (SMS_PROVIDER=console).
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/sesame-auth/sesame/internal/auth"
	"github.com/sesame-auth/sesame/internal/console"
	"github.com/sesame-auth/sesame/internal/nats"
	"github.com/sesame-auth/sesame/internal/twilio"
	"github.com/sesame-auth/sesame/internal/worker"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "smsworker:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	return worker.Process{Name: "smsworker", Consumer: nats.ConsumerSMS, DefaultAddr: ":8081", NewSender: newSender}.
		Run(ctx, args, getenv, stdout, stderr)
}

func newSender(getenv func(string) string, stdout io.Writer) (auth.Sender, string, error) {
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
