package authtest

import (
	"context"
	"sync"
	"testing"

	"github.com/sesame-auth/sesame/internal/auth"
	"github.com/sesame-auth/sesame/internal/jwt"
	"github.com/sesame-auth/sesame/internal/pgtest"
	"github.com/sesame-auth/sesame/internal/postgres"
)

// Env is a real service on a fresh database with a capturing publisher.
type Env struct {
	Service   *auth.Service
	Store     *postgres.DB
	Keys      *auth.Keyring
	Signer    *jwt.Signer
	Publisher *Publisher
	Project   *auth.Project
	Secret    string
}

// Option changes the service configuration of New.
type Option func(*auth.Config)

// WithConfig sets the service configuration.
func WithConfig(c auth.Config) Option { return func(dst *auth.Config) { *dst = c } }

// New builds an Env with a test project ("project-test-<uuid>").
func New(tb testing.TB, opts ...Option) *Env {
	tb.Helper()
	db := pgtest.MustOpenDB(tb)
	keys, err := auth.NewKeyring([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		tb.Fatal(err)
	}
	cfg := auth.Config{SendLimit: 1000}
	for _, o := range opts {
		o(&cfg)
	}
	env := &Env{Store: db, Keys: keys, Publisher: &Publisher{}}
	env.Signer = jwt.New(db, keys, jwt.Options{Project: func(ctx context.Context, id string) auth.JWTSettings { return env.Service.JWTSettings(ctx, id) }})
	env.Service = auth.NewService(db, env.Publisher, keys, env.Signer, nil, nil, cfg)
	env.Project, env.Secret = env.NewProject(tb, false)
	return env
}

// NewProject creates another project, live or test, and returns its secret.
func (e *Env) NewProject(tb testing.TB, live bool) (*auth.Project, string) {
	tb.Helper()
	env := "test"
	if live {
		env = "live"
	}
	id := "project-" + env + "-" + auth.NewUUID()
	secret := "secret-" + env + "-" + auth.NewToken()
	if err := e.Service.EnsureProject(context.Background(), id, secret); err != nil {
		tb.Fatal(err)
	}
	return &auth.Project{ID: id}, secret
}

// Events returns every published event, oldest first.
func (e *Env) Events() []*auth.Event { return e.Publisher.Events() }

// LastCode returns the code of the latest OTP event sent to to ("" if none).
func (e *Env) LastCode(to string) string {
	if ev := e.Publisher.Last(to, auth.KindOTP); ev != nil {
		return ev.Code
	}
	return ""
}

// LastToken returns the token of the latest magic link sent to to ("" if none).
func (e *Env) LastToken(to string) string {
	ev := e.Publisher.Last(to, auth.KindMagicLink)
	if ev == nil {
		return ""
	}
	return TokenFromURL(ev.URL)
}

// Publisher records published events instead of sending them to NATS.
// Set Fail to make Publish return an error (a NATS outage).
type Publisher struct {
	mu     sync.Mutex
	events []*auth.Event
	ids    map[string]bool
	Fail   error
}

// Publish records ev once per msgID, like JetStream's dedupe window.
func (p *Publisher) Publish(_ context.Context, ev *auth.Event, msgID string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.Fail != nil {
		return p.Fail
	}
	if p.ids == nil {
		p.ids = map[string]bool{}
	}
	if p.ids[msgID] {
		return nil
	}
	p.ids[msgID] = true
	cp := *ev
	p.events = append(p.events, &cp)
	return nil
}

// SetFail sets or clears the injected publish error.
func (p *Publisher) SetFail(err error) {
	p.mu.Lock()
	p.Fail = err
	p.mu.Unlock()
}

// Events returns the recorded events.
func (p *Publisher) Events() []*auth.Event {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*auth.Event(nil), p.events...)
}

// Last returns the newest event of kind sent to to.
func (p *Publisher) Last(to string, kind auth.EventKind) *auth.Event {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := len(p.events) - 1; i >= 0; i-- {
		if ev := p.events[i]; ev.To == to && ev.Kind == kind {
			return ev
		}
	}
	return nil
}
