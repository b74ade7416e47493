package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/sesame-auth/sesame/internal/devpg"
	"github.com/sesame-auth/sesame/internal/postgres"
)

// devProbeDSN is the server dev mode uses when DATABASE_URL is unset and it
// answers (a variable so tests can point it at a closed port).
var devProbeDSN = defaultDevDB

// devDatabase makes sure dev mode has a database and sets cfg.DatabaseURL:
// DATABASE_URL's when it is set; else the server at 127.0.0.1:5432 when it
// is usable; else a private cluster in <data dir>/pg (internal/devpg),
// which the returned func stops. It prints what it chose to stdout.
func devDatabase(ctx context.Context, cfg *config, getenv func(string) string, stdout io.Writer) (stop func(), err error) {
	noop := func() {}
	if strings.TrimSpace(getenv("DATABASE_URL")) != "" || cfg.DatabaseURL != defaultDevDB {
		if err := postgres.EnsureDatabase(ctx, cfg.DatabaseURL); err != nil {
			return noop, postgresHelp(cfg.DatabaseURL, err)
		}
		return noop, nil
	}
	pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	probeErr := postgres.EnsureDatabase(pctx, devProbeDSN)
	cancel()
	if probeErr == nil {
		cfg.DatabaseURL = devProbeDSN
		return noop, nil
	}
	dir := filepath.Join(cfg.DataDir, "pg")
	fmt.Fprintf(stdout, "DATABASE_URL is unset and no usable Postgres answers at %s (%v):\nstarting a private cluster in %s (stopped on exit) ...\n", redactDSN(devProbeDSN), probeErr, dir)
	c, err := devpg.Start(ctx, devpg.Options{Dir: dir})
	if err != nil {
		return noop, fmt.Errorf("dev mode needs Postgres: DATABASE_URL is unset, nothing usable answers at %s, and a private cluster could not start in %s: %w", redactDSN(devProbeDSN), dir, err)
	}
	cfg.DatabaseURL = c.URL("sesame")
	if err := postgres.EnsureDatabase(ctx, cfg.DatabaseURL); err != nil {
		_ = c.Stop()
		return noop, fmt.Errorf("private Postgres in %s: %w", dir, err)
	}
	return func() {
		if err := c.Stop(); err != nil {
			fmt.Fprintf(stdout, "private Postgres in %s: %v\n", dir, err)
		}
	}, nil
}
