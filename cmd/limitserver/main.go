// Command limitserver serves internal/limit, the thinnest possible OTP API
// built from the same primitives and HTTP server as bin/api, so `make
// bench` can show Sesame's cost as a ratio to what this machine allows (see
// docs/benchmarks.md): POST /send is one INSERT plus one JetStream publish
// waiting for the PubAck, POST /verify one UPDATE … RETURNING. It creates
// its own table (limit_otp) and stream (LIMIT, subjects limit.>) and, with
// -prefill N, rows whose ids are md5(k)::uuid for k = 1…N. Environment:
// DATABASE_URL (required), NATS_URL (default nats://127.0.0.1:4222),
// HTTP_ADDR (default :8090), DEBUG_ADDR (pprof, off by default).
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "limitserver:", err)
		os.Exit(1)
	}
}
