package nats

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	natsgo "github.com/nats-io/nats.go"
)

// EmbeddedOptions configures an in-process NATS server with JetStream, for
// `api -dev` and tests.
type EmbeddedOptions struct {
	// StoreDir is the JetStream store. Keep it across restarts to keep the
	// stream. Empty means a new temporary directory (the caller removes it).
	StoreDir string
	// Host defaults to 127.0.0.1 (the dev server is not reachable from the
	// network unless asked).
	Host string
	// Port: 0 means the NATS default 4222, -1 a random free port (read it
	// back with ClientURL or Addr).
	Port int
	// DontListen opens no TCP port: connect with Connect("", natsgo.InProcessServer(ns)).
	DontListen bool
	// ServerName defaults to "sesame-embedded".
	ServerName string
	// HTTPPort > 0 (or -1 random) turns on the monitoring endpoint (/jsz).
	HTTPPort int
	// JetStreamMaxMemory and JetStreamMaxStore cap resources (0 = server default).
	JetStreamMaxMemory int64
	JetStreamMaxStore  int64
	// ReadyTimeout bounds the wait for the server to accept connections.
	// Default 10s.
	ReadyTimeout time.Duration
	// Logger receives the server's log lines; nil means silent.
	Logger *slog.Logger
}

// RunEmbedded starts a JetStream-enabled NATS server in this process and
// returns it once it accepts connections. Stop it with Shutdown and
// WaitForShutdown.
func RunEmbedded(opts EmbeddedOptions) (*server.Server, error) {
	if opts.StoreDir == "" {
		dir, err := os.MkdirTemp("", "sesame-nats-*")
		if err != nil {
			return nil, fmt.Errorf("nats: embedded store dir: %w", err)
		}
		opts.StoreDir = dir
	}
	if opts.Host == "" {
		opts.Host = "127.0.0.1"
	}
	if opts.ServerName == "" {
		opts.ServerName = "sesame-embedded"
	}
	if opts.ReadyTimeout <= 0 {
		opts.ReadyTimeout = 10 * time.Second
	}
	sopts := &server.Options{
		ServerName:         opts.ServerName,
		Host:               opts.Host,
		Port:               opts.Port,
		DontListen:         opts.DontListen,
		HTTPHost:           opts.Host,
		HTTPPort:           opts.HTTPPort,
		JetStream:          true,
		StoreDir:           opts.StoreDir,
		JetStreamMaxMemory: opts.JetStreamMaxMemory,
		JetStreamMaxStore:  opts.JetStreamMaxStore,
		NoSigs:             true, // the host process owns signal handling
		NoLog:              opts.Logger == nil,
	}
	if opts.HTTPPort == 0 {
		sopts.HTTPHost = ""
	}
	ns, err := server.NewServer(sopts)
	if err != nil {
		return nil, fmt.Errorf("nats: embedded server: %w", err)
	}
	if opts.Logger != nil {
		ns.SetLoggerV2(slogAdapter{opts.Logger}, false, false, false)
	}
	ns.Start()
	if !ns.ReadyForConnections(opts.ReadyTimeout) {
		ns.Shutdown()
		ns.WaitForShutdown()
		return nil, errors.New("nats: embedded server not ready in time")
	}
	if !ns.JetStreamEnabled() {
		ns.Shutdown()
		ns.WaitForShutdown()
		return nil, errors.New("nats: embedded server started without JetStream")
	}
	return ns, nil
}

// slogAdapter implements server.Logger on slog.
type slogAdapter struct{ l *slog.Logger }

func (a slogAdapter) Noticef(f string, v ...any) {
	a.l.Info(fmt.Sprintf(f, v...), "component", "nats-server")
}
func (a slogAdapter) Warnf(f string, v ...any) {
	a.l.Warn(fmt.Sprintf(f, v...), "component", "nats-server")
}
func (a slogAdapter) Fatalf(f string, v ...any) {
	a.l.Error(fmt.Sprintf(f, v...), "component", "nats-server")
}
func (a slogAdapter) Errorf(f string, v ...any) {
	a.l.Error(fmt.Sprintf(f, v...), "component", "nats-server")
}
func (a slogAdapter) Debugf(f string, v ...any) {
	a.l.Debug(fmt.Sprintf(f, v...), "component", "nats-server")
}
func (a slogAdapter) Tracef(f string, v ...any) {
	a.l.Debug(fmt.Sprintf(f, v...), "component", "nats-server")
}

// Connection defaults applied by Connect.
const (
	DefaultClientName    = "sesame"
	DefaultReconnectWait = time.Second
	DefaultPingInterval  = 10 * time.Second
	DefaultMaxPingsOut   = 3
)

// Connect connects to url (comma-separated for several servers) with
// settings for a long-running service: reconnect forever (MaxReconnects -1)
// every DefaultReconnectWait with jitter, a client name, pings every 10s so
// a dead connection is noticed within about 30s, and connection events logged
// on slog.Default(). opts are applied after these defaults and override them
// (natsgo.Name, WithLogger, natsgo.ReconnectWait, …).
//
// To use an embedded server without TCP: Connect("", natsgo.InProcessServer(ns)).
func Connect(url string, opts ...natsgo.Option) (*natsgo.Conn, error) {
	all := []natsgo.Option{
		natsgo.Name(DefaultClientName),
		natsgo.MaxReconnects(-1),
		natsgo.ReconnectWait(DefaultReconnectWait),
		natsgo.ReconnectJitter(100*time.Millisecond, time.Second),
		natsgo.PingInterval(DefaultPingInterval),
		natsgo.MaxPingsOutstanding(DefaultMaxPingsOut),
		WithLogger(slog.Default()),
	}
	all = append(all, opts...)
	nc, err := natsgo.Connect(url, all...)
	if err != nil {
		return nil, fmt.Errorf("nats: connect: %w", err)
	}
	return nc, nil
}

// WithLogger logs connection events (disconnect, reconnect, close, async
// errors) on l.
func WithLogger(l *slog.Logger) natsgo.Option {
	return func(o *natsgo.Options) error {
		if l == nil {
			l = slog.New(slog.DiscardHandler)
		}
		o.DisconnectedErrCB = func(nc *natsgo.Conn, err error) {
			if err != nil {
				l.Warn("nats disconnected", "err", err)
			} else {
				l.Info("nats disconnected")
			}
		}
		o.ReconnectedCB = func(nc *natsgo.Conn) {
			l.Info("nats reconnected", "server", nc.ConnectedUrlRedacted())
		}
		o.ClosedCB = func(nc *natsgo.Conn) {
			if err := nc.LastError(); err != nil {
				l.Warn("nats connection closed", "err", err)
			}
		}
		o.AsyncErrorCB = func(nc *natsgo.Conn, sub *natsgo.Subscription, err error) {
			l.Warn("nats async error", "err", err)
		}
		return nil
	}
}
