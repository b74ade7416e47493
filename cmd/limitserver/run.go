package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/sesame-auth/sesame/internal/debugsrv"
	"github.com/sesame-auth/sesame/internal/limit"
	"github.com/sesame-auth/sesame/internal/nats"
	"github.com/sesame-auth/sesame/internal/postgres"
)

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	env := func(k, def string) string {
		if v := strings.TrimSpace(getenv(k)); v != "" {
			return v
		}
		return def
	}
	fs := flag.NewFlagSet("limitserver", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("http-addr", env("HTTP_ADDR", ":8090"), "listen address (HTTP_ADDR)")
	dsn := fs.String("database-url", getenv("DATABASE_URL"), "Postgres DSN (DATABASE_URL); pool size as bin/api's (postgres.DefaultMaxConns unless pool_max_conns is in the DSN)")
	natsURL := fs.String("nats-url", env("NATS_URL", "nats://127.0.0.1:4222"), "NATS server URL (NATS_URL)")
	prefill := fs.Int("prefill", 0, "make sure rows md5(k)::uuid for k = 1…N exist for /verify (default 0: none)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dsn == "" {
		return errors.New("DATABASE_URL is required")
	}
	dbg, err := debugsrv.Start(getenv(debugsrv.EnvVar))
	if err != nil {
		return err
	}
	defer dbg.Close()

	db, err := postgres.Open(ctx, *dsn) // the same pool settings as bin/api
	if err != nil {
		return err
	}
	defer db.Close()
	nc, err := nats.Connect(*natsURL, natsgo.Name("limitserver"))
	if err != nil {
		return fmt.Errorf("connect to NATS at %s: %w", *natsURL, err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	_, err = js.CreateOrUpdateStream(sctx, jetstream.StreamConfig{Name: "LIMIT", Subjects: []string{"limit.>"},
		Storage: jetstream.FileStorage, Replicas: 1, MaxAge: 15 * time.Minute})
	cancel()
	if err != nil {
		return fmt.Errorf("stream: %w", err)
	}
	s := limit.New(db.Pool(), js, "limit_otp", "limit.otp.sent")
	if err := s.CreateTable(ctx); err != nil {
		return fmt.Errorf("table: %w", err)
	}
	if *prefill > 0 {
		if err := s.Prefill(ctx, *prefill); err != nil {
			return fmt.Errorf("prefill: %w", err)
		}
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *addr, err)
	}
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	fmt.Fprintf(stdout, "limitserver listening on %s\n", ln.Addr())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shut, stop := context.WithTimeout(context.Background(), 5*time.Second)
	defer stop()
	return srv.Shutdown(shut)
}
