// Command emailworker delivers email codes and magic links: it consumes the
// durable JetStream consumer "emailworker" (otp.requested.email and
// magiclink.requested.email) and sends through SendGrid
// (EMAIL_PROVIDER=sendgrid) or prints to stdout (EMAIL_PROVIDER=console).
// See internal/worker.Process.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/sesame-auth/sesame/internal/nats"
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
	p := worker.Process{Name: "emailworker", Consumer: nats.ConsumerEmail, DefaultAddr: ":8082", NewSender: worker.EmailSender}
	return p.Run(ctx, args, getenv, stdout, stderr)
}
