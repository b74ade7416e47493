// Command emailworker delivers email codes and magic links: it consumes
// the durable JetStream consumer "emailworker" (otp.requested.email and
// magiclink.requested.email) and sends through SendGrid
// (EMAIL_PROVIDER=sendgrid) or prints to stdout (EMAIL_PROVIDER=console).
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
	"github.com/sesame-auth/sesame/internal/sendgrid"
	"github.com/sesame-auth/sesame/internal/worker"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "emailworker:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	return worker.Process{Name: "emailworker", Consumer: nats.ConsumerEmail, DefaultAddr: ":8082", NewSender: newSender}.
		Run(ctx, args, getenv, stdout, stderr)
}

func newSender(getenv func(string) string, stdout io.Writer) (auth.Sender, string, error) {
	switch p := getenv("EMAIL_PROVIDER"); p {
	case "sendgrid":
		cfg, err := sendgrid.FromEnv(getenv)
		if err != nil {
			return nil, "", err
		}
		s, err := sendgrid.New(cfg)
		return s, "sendgrid", err
	case "console", "":
		return console.New(stdout), "console", nil
	default:
		return nil, "", fmt.Errorf("EMAIL_PROVIDER must be sendgrid or console, not %q", p)
	}
}
