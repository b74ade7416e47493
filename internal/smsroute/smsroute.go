// Package smsroute sends SMS and WhatsApp messages through an ordered list
// of named providers, chosen by the recipient's country calling code, and
// fails over: after FailAfter consecutive transient failures a provider is
// skipped for CoolDown, its traffic going to the next provider of each
// route, and then gets traffic again (one more transient failure skips it
// for another CoolDown; a success closes it).
//
// The Router is an auth.Sender. Each attempt is recorded on the message
// (Recorder: which provider was tried, which accepted) and measured
// (Metrics: by provider and route). Breaker state is per process: each
// worker replica learns a provider's health from its own calls.
package smsroute

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/sesame-auth/sesame/internal/auth"
)

// Defaults.
const (
	DefaultFailAfter = 3
	DefaultCoolDown  = time.Minute
)

// DefaultRoute is the route label of numbers no prefix matches.
const DefaultRoute = "default"

// Provider is a named sender.
type Provider struct {
	// Name identifies it in routes, records, metrics and logs:
	// [a-z][a-z0-9_]*, at most 32 characters.
	Name   string
	Sender auth.Sender
}

// Route sends numbers starting with Prefix through Providers, in order.
type Route struct {
	// Prefix is a country calling code or any longer number prefix, "+91"
	// or "91". The longest matching prefix wins.
	Prefix string
	// Providers are names from Config.Providers, primary first.
	Providers []string
}

// Recorder keeps which providers a message was handed to
// (postgres.DB.RecordProviderAttempt). It is not called when the Send's
// context takes the attempt (auth.NoteProviderAttempt: a Deliverer over
// an auth.AttemptFinisher records it with the outcome).
type Recorder interface {
	RecordProviderAttempt(ctx context.Context, messageID, provider string, accepted bool) error
}

// Metrics receives each provider call and breaker change
// (metrics.Registry).
type Metrics interface {
	// SMSProviderCall: result is "ok" or the failure reason.
	SMSProviderCall(provider, route, result string, d time.Duration)
	// SMSFailover: a message of route went to provider to instead of the
	// route's primary from.
	SMSFailover(route, from, to string)
	// SMSProviderOpen: provider is skipped (true) or gets traffic (false).
	SMSProviderOpen(provider string, open bool)
}

// Config configures a Router.
type Config struct {
	// Providers, in order: numbers no route matches use all of them in
	// this order. Required.
	Providers []Provider
	// Routes by number prefix. Optional.
	Routes []Route
	// FailAfter consecutive transient failures skip a provider. Default 3.
	FailAfter int
	// CoolDown is how long a failing provider is skipped. Default 1 minute.
	CoolDown time.Duration
	// Recorder, Metrics and Log are optional; Now defaults to time.Now.
	Recorder Recorder
	Metrics  Metrics
	Log      *slog.Logger
	Now      func() time.Time
}

// Router is an auth.Sender over routes. Safe for concurrent use.
type Router struct {
	cfg      Config
	senders  map[string]auth.Sender
	def      route
	routes   []route // longest prefix first
	mu       sync.Mutex
	breakers map[string]*breaker
}

type route struct {
	label     string // "+91" or DefaultRoute
	digits    string
	providers []string
}

type breaker struct {
	fails     int
	openUntil time.Time // zero: closed
}

var _ auth.Sender = (*Router)(nil)

var nameRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)

// New checks cfg and returns a Router.
func New(cfg Config) (*Router, error) {
	var errs []error
	if len(cfg.Providers) == 0 {
		errs = append(errs, errors.New("at least one provider is required"))
	}
	r := &Router{senders: map[string]auth.Sender{}, breakers: map[string]*breaker{}, def: route{label: DefaultRoute}}
	for _, p := range cfg.Providers {
		switch {
		case !nameRE.MatchString(p.Name):
			errs = append(errs, fmt.Errorf("provider name %q must be lower-case letters, digits and _, starting with a letter, at most 32", p.Name))
		case r.senders[p.Name] != nil:
			errs = append(errs, fmt.Errorf("provider %q is listed twice", p.Name))
		case p.Sender == nil:
			errs = append(errs, fmt.Errorf("provider %q has no sender", p.Name))
		default:
			r.senders[p.Name] = p.Sender
			r.breakers[p.Name] = &breaker{}
			r.def.providers = append(r.def.providers, p.Name)
		}
	}
	seen := map[string]bool{}
	for _, rt := range cfg.Routes {
		digits := strings.TrimPrefix(strings.TrimSpace(rt.Prefix), "+")
		if digits == "" || strings.Trim(digits, "0123456789") != "" || len(digits) > 15 || digits[0] == '0' {
			errs = append(errs, fmt.Errorf("route prefix %q must be + and 1 to 15 digits, not starting with 0", rt.Prefix))
			continue
		}
		if seen[digits] {
			errs = append(errs, fmt.Errorf("route +%s is given twice", digits))
			continue
		}
		seen[digits] = true
		if len(rt.Providers) == 0 {
			errs = append(errs, fmt.Errorf("route +%s has no provider", digits))
		}
		dup := map[string]bool{}
		for _, n := range rt.Providers {
			if _, ok := r.senders[n]; !ok {
				errs = append(errs, fmt.Errorf("route +%s names unknown provider %q", digits, n))
			}
			if dup[n] {
				errs = append(errs, fmt.Errorf("route +%s lists provider %q twice", digits, n))
			}
			dup[n] = true
		}
		r.routes = append(r.routes, route{label: "+" + digits, digits: digits, providers: rt.Providers})
	}
	if cfg.FailAfter < 0 || cfg.CoolDown < 0 {
		errs = append(errs, errors.New("failover threshold and cool-down must not be negative"))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("smsroute: invalid config: %w", errors.Join(errs...))
	}
	if cfg.FailAfter == 0 {
		cfg.FailAfter = DefaultFailAfter
	}
	if cfg.CoolDown == 0 {
		cfg.CoolDown = DefaultCoolDown
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	// Longest prefix first, so the first match is the most specific.
	for i := 1; i < len(r.routes); i++ {
		for j := i; j > 0 && len(r.routes[j].digits) > len(r.routes[j-1].digits); j-- {
			r.routes[j], r.routes[j-1] = r.routes[j-1], r.routes[j]
		}
	}
	r.cfg = cfg
	if cfg.Metrics != nil {
		for _, p := range r.def.providers {
			cfg.Metrics.SMSProviderOpen(p, false)
		}
	}
	return r, nil
}

// SetRecorder sets where attempts are recorded (the worker's store, known
// only once the database is open). Call it before the first Send.
func (r *Router) SetRecorder(rec Recorder) { r.cfg.Recorder = rec }

// SetMetrics sets where calls are measured. Call it before the first Send.
func (r *Router) SetMetrics(m Metrics) {
	r.cfg.Metrics = m
	for _, p := range r.def.providers {
		m.SMSProviderOpen(p, false)
	}
}

// Names returns the provider names in order.
func (r *Router) Names() []string { return append([]string(nil), r.def.providers...) }

// routeFor returns the route of a recipient ("+91…" or "whatsapp:+91…").
func (r *Router) routeFor(to string) route {
	digits := strings.TrimPrefix(strings.TrimPrefix(strings.TrimSpace(to), "whatsapp:"), "+")
	for _, rt := range r.routes {
		if strings.HasPrefix(digits, rt.digits) {
			return rt
		}
	}
	return r.def
}

// pick returns the first provider of rt that is not skipped, or the primary
// when all are (a route never refuses to send: the primary is probed).
func (r *Router) pick(rt route, now time.Time) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, n := range rt.providers {
		if b := r.breakers[n]; b.openUntil.IsZero() || !now.Before(b.openUntil) {
			return n
		}
	}
	return rt.providers[0]
}

// failsOver reports whether name is skipped now and rt has another
// provider that is not: the next attempt will go elsewhere.
func (r *Router) failsOver(rt route, name string, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	open := func(n string) bool { b := r.breakers[n]; return !b.openUntil.IsZero() && now.Before(b.openUntil) }
	if !open(name) {
		return false
	}
	for _, n := range rt.providers {
		if n != name && !open(n) {
			return true
		}
	}
	return false
}

// observe updates name's breaker after a call: ok closes it, a transient
// failure counts and may open it (at once when it was open before: a
// failed probe after the cool-down).
func (r *Router) observe(name string, transient bool, now time.Time) {
	r.mu.Lock()
	b := r.breakers[name]
	wasOpen := !b.openUntil.IsZero()
	opened := false
	switch {
	case !transient:
		b.fails, b.openUntil = 0, time.Time{}
	case wasOpen && !now.Before(b.openUntil):
		b.openUntil, opened = now.Add(r.cfg.CoolDown), true
	case wasOpen:
		// Already skipped (a call that started before it opened).
	default:
		b.fails++
		if b.fails >= r.cfg.FailAfter {
			b.fails, b.openUntil, opened = 0, now.Add(r.cfg.CoolDown), true
		}
	}
	closed := wasOpen && !transient
	r.mu.Unlock()
	switch {
	case opened:
		r.cfg.Log.Warn("sms provider skipped after transient failures", "provider", name, "cool_down", r.cfg.CoolDown.String())
		if r.cfg.Metrics != nil {
			r.cfg.Metrics.SMSProviderOpen(name, true)
		}
	case closed:
		r.cfg.Log.Info("sms provider gets traffic again", "provider", name)
		if r.cfg.Metrics != nil {
			r.cfg.Metrics.SMSProviderOpen(name, false)
		}
	}
}

// Send routes m, calls one provider and records the attempt. A transient
// failure that skips the provider while another provider of the route is
// available drops the provider's Retry-After, so the retry goes to that
// provider without waiting.
func (r *Router) Send(ctx context.Context, m *auth.OutboundMessage) (string, error) {
	if m == nil {
		return "", auth.Permanent("route nil message", nil)
	}
	rt := r.routeFor(m.To)
	name := r.pick(rt, r.cfg.Now())
	if r.cfg.Metrics != nil && name != rt.providers[0] {
		r.cfg.Metrics.SMSFailover(rt.label, rt.providers[0], name)
	}
	start := time.Now()
	id, err := r.senders[name].Send(ctx, m)
	took, now := time.Since(start), r.cfg.Now()
	result := "ok"
	var de *auth.DeliveryError
	if err != nil {
		de = auth.AsDeliveryError(err)
		result = de.Reason
	}
	r.observe(name, de != nil && !de.Permanent, now)
	if r.cfg.Metrics != nil {
		r.cfg.Metrics.SMSProviderCall(name, rt.label, result, took)
	}
	// A Deliverer whose store records the attempt with the outcome takes it
	// from here (one statement per message); else it is recorded now.
	if r.cfg.Recorder != nil && m.MessageID != "" && !auth.NoteProviderAttempt(ctx, name, err == nil) {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		if rerr := r.cfg.Recorder.RecordProviderAttempt(rctx, m.MessageID, name, err == nil); rerr != nil {
			r.cfg.Log.Warn("recording the provider attempt failed", "message_id", m.MessageID, "provider", name, "err", rerr)
		}
		cancel()
	}
	if de != nil && !de.Permanent && de.RetryAfter > 0 && r.failsOver(rt, name, now) {
		cp := *de
		cp.RetryAfter = 0
		return "", &cp
	}
	return id, err
}

// ParseRoutes reads SMS_ROUTES: ";"-separated "+prefix=name,name,…"
// entries, e.g. "+91=india,twilio;+234=india,twilio". Empty means none.
// Names and prefixes are checked by New.
func ParseRoutes(s string) ([]Route, error) {
	var out []Route
	for _, e := range strings.Split(s, ";") {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		prefix, list, ok := strings.Cut(e, "=")
		if !ok {
			return nil, fmt.Errorf("SMS_ROUTES entry %q must be +prefix=provider,provider", e)
		}
		rt := Route{Prefix: strings.TrimSpace(prefix)}
		for _, n := range strings.Split(list, ",") {
			if n = strings.TrimSpace(n); n != "" {
				rt.Providers = append(rt.Providers, n)
			}
		}
		out = append(out, rt)
	}
	return out, nil
}
