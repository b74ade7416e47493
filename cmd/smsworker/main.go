// Command smsworker delivers one-time codes by SMS and WhatsApp: it consumes
// the durable JetStream consumer "smsworker" (otp.requested.sms and
// otp.requested.whatsapp) and sends through Twilio (SMS_PROVIDER=twilio) or
// prints to stdout (SMS_PROVIDER=console). See internal/worker.Process.
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
		fmt.Fprintln(os.Stderr, "smsworker:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	p := worker.Process{Name: "smsworker", Consumer: nats.ConsumerSMS, DefaultAddr: ":8081", NewSender: worker.SMSSender}
	return p.Run(ctx, args, getenv, stdout, stderr)
}
