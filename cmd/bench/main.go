// Command bench is `make bench`: Sesame over HTTP against a limit server
// built from the same primitives, in the same run (see internal/bench and
// docs/benchmarks.md).
//
//	bench [-bin bin] [-duration 2s] [-rounds 3] [-conc 32,64] [-rate 1000] [-only substr,…] [-profile dir] [-quick]
//
// Postgres comes from -database-url or TEST_DATABASE_URL (the driver
// creates and drops its own two databases there). `bench nats-server`
// is the private nats-server the driver starts as its own child process.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sesame-auth/sesame/internal/bench"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "nats-server" {
		return bench.RunNATS(ctx, args[1:])
	}
	cfg, err := parseFlags(args, getenv, stderr)
	if err != nil {
		return err
	}
	return bench.Run(ctx, cfg, stdout, stderr)
}

func parseFlags(args []string, getenv func(string) string, stderr io.Writer) (bench.Config, error) {
	var cfg bench.Config
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.Bin, "bin", "bin", "directory with api, smsworker and limitserver")
	dsn := getenv("BENCH_DATABASE_URL")
	if dsn == "" {
		dsn = getenv("TEST_DATABASE_URL")
	}
	if dsn == "" {
		dsn = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	}
	fs.StringVar(&cfg.DatabaseURL, "database-url", dsn, "Postgres server for the two scratch databases (BENCH_DATABASE_URL, else TEST_DATABASE_URL)")
	fs.DurationVar(&cfg.Duration, "duration", envDuration(getenv, "BENCH_DURATION", 2*time.Second), "length of every timed run (BENCH_DURATION)")
	fs.IntVar(&cfg.Rounds, "rounds", envInt(getenv, "BENCH_ROUNDS", 3), "rounds, interleaved (BENCH_ROUNDS)")
	conc := fs.String("conc", "32,64", "closed-loop concurrencies, comma-separated")
	fs.IntVar(&cfg.OpenRate, "rate", 1000, "open-loop arrival rate of the send→provider row, requests/s")
	fs.DurationVar(&cfg.ProviderLatency, "provider-latency", 200*time.Millisecond, "provider latency of the slow drain row")
	only := fs.String("only", getenv("BENCH_ONLY"), "run only rows whose name contains one of these comma-separated strings (BENCH_ONLY)")
	fs.StringVar(&cfg.ProfileDir, "profile", "", "write CPU profiles of the api during a send and a verify-with-session run here")
	fs.BoolVar(&cfg.KeepDir, "keep", false, "keep the temporary directory with the processes' logs")
	quick := fs.Bool("quick", false, "smoke test: 1 round of 1 s at c=32")
	fs.BoolVar(&cfg.EmailCodesByChallenge, "email-codes-by-challenge", false, "bind the B2B email OTP row's codes to their challenge, as api builds before address binding expect (default: to the address)")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	var err error
	if cfg.Concs, err = parseInts(*conc); err != nil {
		return cfg, fmt.Errorf("-conc: %w", err)
	}
	for _, o := range strings.Split(*only, ",") {
		if o = strings.TrimSpace(o); o != "" {
			cfg.Only = append(cfg.Only, o)
		}
	}
	if *quick {
		cfg.Rounds, cfg.Duration, cfg.Concs = 1, time.Second, []int{32}
	}
	return cfg, nil
}

// parseInts reads "32,64" as positive integers.
func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q is not a positive integer", f)
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil, errors.New("no concurrency given")
	}
	return out, nil
}

func envInt(getenv func(string) string, k string, def int) int {
	if n, err := strconv.Atoi(getenv(k)); err == nil && n > 0 {
		return n
	}
	return def
}

func envDuration(getenv func(string) string, k string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(getenv(k)); err == nil && d > 0 {
		return d
	}
	return def
}
