package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/sesame-auth/sesame/internal/api/admin"
	"github.com/sesame-auth/sesame/internal/api/httpx"
	"github.com/sesame-auth/sesame/internal/api/operator"
	"github.com/sesame-auth/sesame/internal/api/streambird"
	"github.com/sesame-auth/sesame/internal/api/stytch"
	"github.com/sesame-auth/sesame/internal/api/webhooks"
	"github.com/sesame-auth/sesame/internal/auth"
	"github.com/sesame-auth/sesame/internal/debugsrv"
	"github.com/sesame-auth/sesame/internal/health"
	"github.com/sesame-auth/sesame/internal/jwt"
	"github.com/sesame-auth/sesame/internal/landing"
	"github.com/sesame-auth/sesame/internal/metrics"
	"github.com/sesame-auth/sesame/internal/nats"
	"github.com/sesame-auth/sesame/internal/postgres"
	"github.com/sesame-auth/sesame/internal/tracing"
	"github.com/sesame-auth/sesame/internal/worker"
)

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l}))
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parseConfig(args, getenv, stderr)
	if err != nil {
		return err
	}
	log := newLogger(stderr, cfg.LogLevel)
	if cfg.Command == "projects" {
		return runProjects(ctx, cfg, cfg.CommandArgs, getenv, stdout, stderr)
	}
	stopTracing, err := tracing.Setup(ctx, "sesame-api", getenv, log) // off unless OTEL_EXPORTER_OTLP_ENDPOINT is set
	if err != nil {
		return err
	}
	defer stopTracing()
	dbg, err := debugsrv.Start(getenv(debugsrv.EnvVar)) // pprof; off unless DEBUG_ADDR is set
	if err != nil {
		return err
	}
	defer dbg.Close()

	// Bind the port before anything else: a second instance (a second
	// `make dev`) must fail here, before it touches the database, the dev
	// state or the embedded NATS store of the running one.
	var ln net.Listener
	if cfg.Command == "" {
		if ln, err = net.Listen("tcp", cfg.HTTPAddr); err != nil {
			return listenHelp(cfg, err)
		}
		defer ln.Close()
	}

	if cfg.Dev {
		if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
			return fmt.Errorf("dev data dir: %w", err)
		}
		stopPG, err := devDatabase(ctx, cfg, getenv, stdout)
		if err != nil {
			return err
		}
		defer stopPG()
	}
	db, err := postgres.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return postgresHelp(cfg.DatabaseURL, err)
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if cfg.Command == "migrate" {
		fmt.Fprintln(stdout, "migrations applied")
		return nil
	}

	if cfg.SecretKeys == "" { // dev only (parseConfig requires it otherwise)
		if cfg.SecretKeys, err = devFile(cfg.DataDir, "secret_keys", auth.MustGenerateKey); err != nil {
			return err
		}
	}
	keys, err := auth.ParseKeyring(cfg.SecretKeys)
	if err != nil {
		return err
	}

	// NATS: a server from NATS_URL, or an embedded one in dev mode.
	var nc *natsgo.Conn
	if cfg.NATSURL == "" {
		ns, err := nats.RunEmbedded(nats.EmbeddedOptions{StoreDir: filepath.Join(cfg.DataDir, "nats"), DontListen: true})
		if err != nil {
			return fmt.Errorf("embedded NATS: %w", err)
		}
		defer func() { ns.Shutdown(); ns.WaitForShutdown() }()
		if nc, err = nats.Connect("", natsgo.InProcessServer(ns), nats.WithLogger(log)); err != nil {
			return err
		}
	} else if nc, err = nats.Connect(cfg.NATSURL, nats.WithLogger(log), natsgo.RetryOnFailedConnect(true)); err != nil {
		return fmt.Errorf("connect to NATS at %s: %w", cfg.NATSURL, err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	// Whichever process starts first creates the stream. If NATS is down
	// now, the api still serves (sends wait in the outbox) and keeps trying
	// in the background until the stream exists.
	err = errors.New("not connected")
	if nc.IsConnected() {
		ensureCtx, cancelEnsure := context.WithTimeout(ctx, 5*time.Second)
		_, err = nats.EnsureStream(ensureCtx, js, cfg.Stream)
		cancelEnsure()
	}
	if err != nil {
		log.Warn("stream not ensured yet; sends wait in the outbox", "err", err)
		go func(ctx context.Context) { // its own ctx: run reassigns the variable below
			for {
				select {
				case <-ctx.Done():
					return
				case <-time.After(2 * time.Second):
				}
				if _, err := nats.EnsureStream(ctx, js, cfg.Stream); err == nil {
					log.Info("stream ensured")
					return
				}
			}
		}(ctx)
	}

	reg := metrics.New()
	var svc *auth.Service // the signer reads each project's JWT settings from the service's cache
	signer := jwt.New(db, keys, jwt.Options{Project: func(ctx context.Context, id string) auth.JWTSettings { return svc.JWTSettings(ctx, id) }})
	pub := nats.NewPublisher(js)
	svc = auth.NewService(db, pub, keys, signer, reg, log, serviceConfig(cfg))
	svc.SetTraceParent(tracing.TraceParent) // a relayed send continues its request's trace
	svc.SetDevMode(cfg.Dev)
	if err := svc.SetAdminKey(cfg.AdminKey); err != nil {
		return err
	}

	if cfg.Dev && cfg.BootstrapID == "" {
		if cfg.BootstrapID, err = devFile(cfg.DataDir, "project_id", func() string { return "project-test-" + auth.NewUUID() }); err != nil {
			return err
		}
	}
	if cfg.Dev && cfg.BootstrapKey == "" {
		if cfg.BootstrapKey, err = devFile(cfg.DataDir, "project_secret", func() string { return "secret-test-" + auth.NewToken() }); err != nil {
			return err
		}
	}
	// The port is ours (bound above): only now apply the bootstrap project.
	if cfg.BootstrapID != "" {
		if err := svc.EnsureProject(ctx, cfg.BootstrapID, cfg.BootstrapKey); err != nil {
			return fmt.Errorf("bootstrap project: %w", cliError(err))
		}
	}
	if cfg.Dev {
		if err := writeDevCredentials(cfg); err != nil {
			return err
		}
	}

	reg.Gauge("sesame_outbox_pending", "Messages committed but not yet published to JetStream.", func(ctx context.Context) (float64, error) {
		n, err := db.CountOutbox(ctx)
		return float64(n), err
	})

	mux := http.NewServeMux()
	inbox := newDevInbox(ctx, cfg.Dev)
	mountDevInbox(mux, inbox)
	health.Register(mux, map[string]health.Check{"postgres": db.Ping}, map[string]health.Check{
		// Optional: while NATS is away sends wait in the outbox.
		"nats": func(context.Context) error {
			if !nc.IsConnected() {
				return errors.New("not connected; sends wait in the outbox")
			}
			return nil
		},
	})
	mux.Handle("GET /metrics", reg.Handler())
	mux.Handle("/v1/auth/", streambird.NewHandler(svc, streambird.Options{TrustProxy: cfg.TrustProxy, Logger: log}))
	mux.Handle("/v1/", stytch.NewHandler(svc, stytch.Options{TrustProxy: cfg.TrustProxy, Logger: log}))
	opsAPI := operator.NewHandler(svc, operator.Options{Logger: log})
	mux.Handle("/v1/messages", opsAPI)
	mux.Handle("/v1/messages/", opsAPI)
	mux.Handle("/v1/pumping", opsAPI)
	mux.Handle("/v1/pumping/", opsAPI)
	mux.Handle("/v1/webhooks/", webhooks.NewHandler(svc, webhooks.Options{
		PublicURL: cfg.PublicURL, TwilioAuthToken: cfg.TwilioAuthToken, SendGridVerificationKey: cfg.SendGridWebhookKey, Logger: log,
	}))
	mux.HandleFunc("GET "+landing.Path, landing.Handler)
	mux.Handle("/v1/admin/", admin.NewHandler(svc, admin.Options{Logger: log}))
	// The client IP (per-IP send limits) and the Idempotency-Key header
	// (send once per key) ride in the context, for both dialects; metrics
	// sit inside so they see the route pattern the muxes set on the request
	// (and the tracing span outside them is named after it).
	instrumented := tracing.Middleware(reg.Middleware(mux))
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := auth.WithClientIP(r.Context(), httpx.Attributes(r, cfg.TrustProxy).IPAddress)
		if key := r.Header.Get("Idempotency-Key"); key != "" && r.Method == http.MethodPost {
			ctx = auth.WithIdempotencyKey(ctx, key)
		}
		instrumented.ServeHTTP(w, r.WithContext(ctx))
	})
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	goRun := func(f func()) { wg.Add(1); go func() { defer wg.Done(); f() }() }
	relay := &auth.Relay{Store: db, Publisher: pub, Keys: keys, Metrics: reg, Log: log, Wake: svc.RelayWake()}
	goRun(func() { relay.Run(ctx) })
	goRun(func() { svc.Maintain(ctx, 10*time.Minute) })
	// Project changes (secrets revoked, settings) made by any process reach
	// this one's cache through LISTEN/NOTIFY.
	watching := make(chan struct{})
	goRun(func() { svc.WatchProjects(ctx, watching) })
	select {
	case <-watching:
	case <-time.After(5 * time.Second):
		log.Warn("project change listener not ready yet; cached credentials and settings expire after 30 s meanwhile")
	}

	if cfg.Dev {
		for _, w := range []struct {
			consumer  string
			newSender func(func(string) string, io.Writer) (auth.Sender, string, error)
		}{{nats.ConsumerSMS, worker.SMSSender}, {nats.ConsumerEmail, worker.EmailSender}} {
			sender, provider, err := w.newSender(getenv, stdout)
			if err != nil {
				return err
			}
			sender = devInboxSender(inbox, provider, sender)
			wk := worker.New(worker.Config{Consumer: w.consumer, JS: js, Store: db, Stream: cfg.Stream, Sender: worker.Instrument(sender, provider, reg, db), Provider: provider, AppName: cfg.AppName, Logger: log, Metrics: reg})
			goRun(func() {
				if err := wk.Run(ctx); err != nil && ctx.Err() == nil {
					log.Error("worker stopped", "consumer", w.consumer, "err", err)
				}
			})
			// Start the workers one after the other: the embedded server
			// has a data race between a stream update and a concurrent
			// consumer create (seen under -race), which separate
			// processes never hit this close together.
			for deadline := time.Now().Add(10 * time.Second); !wk.Ready() && time.Now().Before(deadline) && ctx.Err() == nil; {
				time.Sleep(10 * time.Millisecond)
			}
		}
		printDevBanner(stdout, ln.Addr().String(), cfg)
	}

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("api listening", "addr", ln.Addr().String(), "dev", cfg.Dev)
	select {
	case err := <-errc:
		cancel()
		wg.Wait()
		return err
	case <-ctx.Done():
	}
	shutdownCtx, stop := context.WithTimeout(context.Background(), 10*time.Second)
	defer stop()
	err = srv.Shutdown(shutdownCtx)
	svc.FlushPublished(shutdownCtx) // the last sends' published marks
	cancel()
	wg.Wait()
	return err
}

// devFile returns the content of a file in the dev data dir, creating it
// with gen() the first time, so restarts keep the same keys and project.
func devFile(dir, name string, gen func() string) (string, error) {
	p := filepath.Join(dir, name)
	if b, err := os.ReadFile(p); err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	v := gen()
	if err := os.WriteFile(p, []byte(v+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("dev state %s: %w", p, err)
	}
	return v, nil
}

func postgresHelp(dsn string, err error) error {
	return fmt.Errorf("cannot use Postgres (%w).\nSesame needs PostgreSQL 13 or newer. Start one and point DATABASE_URL at it, for example:\n"+
		"  Debian/Ubuntu: sudo apt-get install postgresql && sudo pg_ctlcluster 15 main start\n"+
		"  Docker:        docker run -d -p 5432:5432 -e POSTGRES_HOST_AUTH_METHOD=trust postgres:16\n"+
		"  then:          DATABASE_URL=postgres://postgres@127.0.0.1:5432/sesame?sslmode=disable", err)
}

func printDevBanner(w io.Writer, addr string, cfg *config) {
	base := "http://" + addr
	if strings.HasPrefix(addr, "[::]") || strings.HasPrefix(addr, "0.0.0.0") {
		base = "http://localhost" + addr[strings.LastIndex(addr, ":"):]
	}
	fmt.Fprintf(w, `
Sesame dev mode is running at %[1]s
  Postgres:   %[2]s
  NATS:       embedded JetStream (store in %[3]s/nats), smsworker and emailworker in-process
  Delivery:   SMS via %[4]s, email via %[5]s (console prints every message, code and link included)
  Inbox:      %[1]s/dev/inbox (every console message, live; JSON at %[1]s/dev/inbox.json)

Bootstrap project (saved in %[3]s/credentials.env; load it with: . %[3]s/credentials.env):
  project_id: %[6]s
  secret:     %[7]s
  export PROJECT_ID=%[6]s
  export SECRET=%[7]s

Try it (Streambird style):
  curl -s %[1]s/v1/auth/otps/sms/login_or_create -H 'Authorization: Bearer %[7]s' -H 'Content-Type: application/json' -d '{"phone_number":"+14155550123"}'
Stytch style:
  curl -s %[1]s/v1/otps/sms/login_or_create -u '%[6]s:%[7]s' -H 'Content-Type: application/json' -d '{"phone_number":"+14155550123"}'

`, base, redactDSN(cfg.DatabaseURL), cfg.DataDir, cfg.SMSProvider, cfg.EmailProvider, cfg.BootstrapID, cfg.BootstrapKey)
}

// redactDSN hides a password in a DSN.
func redactDSN(dsn string) string {
	if i := strings.Index(dsn, "://"); i >= 0 {
		if at := strings.Index(dsn[i+3:], "@"); at >= 0 {
			cred := dsn[i+3 : i+3+at]
			if c := strings.Index(cred, ":"); c >= 0 {
				return dsn[:i+3] + cred[:c] + ":***" + dsn[i+3+at:]
			}
		}
	}
	return dsn
}
