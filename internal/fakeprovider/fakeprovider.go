// Package fakeprovider has fake Twilio and SendGrid HTTP APIs for tests and
// for local end-to-end runs. The real twilio-go and sendgrid-go clients talk
// to them unchanged once pointed at URL() (TWILIO_BASE_URL /
// SENDGRID_BASE_URL).
//
// Each fake records what it accepted (Messages, WaitFor), counts requests
// (Requests), can be slowed down (SetLatency) and can be told to fail the next
// requests (FailNext, FailNextWith). Answers mimic the real APIs:
//
//   - Twilio: POST /2010-04-01/Accounts/{AccountSid}/Messages.json with form
//     data and basic auth → 201 JSON message resource (sid "SM…", status
//     "queued", or "accepted" when only a MessagingServiceSid is given); errors
//     are Twilio error JSON {code, message, more_info, status}. Twilio's magic
//     test numbers work as To: +15005550001 → 21211, +15005550002 → 21612,
//     +15005550003 → 21408, +15005550004 → 21610, +15005550009 → 21614.
//     A To that is not E.164 also gets 21211.
//   - SendGrid: POST /v3/mail/send with a bearer key and v3 JSON → 202, empty
//     body, X-Message-Id header; errors are {"errors":[{message, field, help}]}.
//
// NewTwilio and NewSendGrid start an httptest server on 127.0.0.1 (or on the
// listener given with WithListener, which makes them usable as standalone
// servers, see test/fakeproviders). AdminHandler serves the recorded messages
// of both fakes as JSON, with the code and token already extracted.
//
// The fakes hold the plaintext messages in memory; they are test tools only.
package fakeprovider

import (
	"crypto/rand"
	"encoding/hex"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"time"
)

// Option configures a fake server.
type Option func(*options)

type options struct {
	listener net.Listener
}

// WithListener serves the fake on l instead of a fresh 127.0.0.1:0 listener.
// The fake takes ownership of l and closes it in Close.
func WithListener(l net.Listener) Option {
	return func(o *options) { o.listener = l }
}

// Failure describes one injected failure answer.
type Failure struct {
	// Status is the HTTP status. Required.
	Status int
	// TwilioCode is the Twilio error code put in the Twilio error JSON
	// (ignored by the SendGrid fake). 0 leaves "code" out.
	TwilioCode int
	// Body, when not empty, is sent verbatim instead of the provider's error
	// JSON (e.g. an HTML 502 page from a proxy).
	Body string
	// ContentType goes with Body; default "text/html; charset=utf-8".
	ContentType string
	// Header is added to the answer (e.g. X-RateLimit-Reset, Retry-After).
	Header http.Header
}

// server is the part both fakes share: the HTTP server, request counter,
// latency, failure queue and change notification for WaitFor.
type server struct {
	srv      *httptest.Server
	mux      *http.ServeMux
	requests atomic.Int64
	latency  atomic.Int64 // time.Duration
	closed   chan struct{}
	once     sync.Once

	mu       sync.Mutex
	failures []Failure
	changed  chan struct{} // closed and replaced whenever a message is recorded
	seq      int64
}

func newServer(h http.Handler, opts []Option) *server {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	s := &server{
		mux:     http.NewServeMux(),
		closed:  make(chan struct{}),
		changed: make(chan struct{}),
	}
	s.mux.Handle("/", h)
	s.srv = httptest.NewUnstartedServer(s.mux)
	if o.listener != nil {
		s.srv.Listener.Close()
		s.srv.Listener = o.listener
	}
	s.srv.Start()
	return s
}

// URL is the base URL of the fake, e.g. "http://127.0.0.1:41234".
func (s *server) URL() string { return s.srv.URL }

// Close stops the server. Pending slow answers are cut short.
func (s *server) Close() {
	s.once.Do(func() { close(s.closed) })
	s.srv.Close()
}

// Handle mounts an extra handler on the fake's mux (for example
// AdminHandler at "/messages"). It is safe to call while serving.
func (s *server) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// Requests is the number of requests to the provider API received so far,
// including failed ones.
func (s *server) Requests() int { return int(s.requests.Load()) }

// SetLatency delays every provider API answer by d (0 turns it off).
func (s *server) SetLatency(d time.Duration) { s.latency.Store(int64(d)) }

// FailNextWith makes the next n provider API requests answer f instead of
// being processed. Calls queue up: FailNextWith(1, a); FailNextWith(1, b)
// fails the next request with a and the one after with b.
func (s *server) FailNextWith(n int, f Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.failures = append(s.failures, f)
	}
}

// begin counts a provider request, applies latency and pops an injected
// failure. ok is false when the request was cut short by the client or Close.
func (s *server) begin(r *http.Request) (f *Failure, ok bool) {
	s.requests.Add(1)
	if d := time.Duration(s.latency.Load()); d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return nil, false
		case <-s.closed:
			return nil, false
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.failures) > 0 {
		f := s.failures[0]
		s.failures = s.failures[1:]
		return &f, true
	}
	return nil, true
}

// notifyLocked wakes WaitFor callers; s.mu must be held.
func (s *server) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

func (s *server) changedCh() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}

// resetLocked drops queued failures and zeroes the counter; s.mu must be held.
func (s *server) resetLocked() {
	s.failures = nil
	s.requests.Store(0)
	s.notifyLocked()
}

// wait calls found under s.mu until it reports true or timeout passes.
func (s *server) wait(timeout time.Duration, found func() bool) bool {
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		s.mu.Lock()
		ok := found()
		ch := s.changed
		s.mu.Unlock()
		if ok {
			return true
		}
		select {
		case <-ch:
		case <-t.C:
			return false
		case <-s.closed:
			return false
		}
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
