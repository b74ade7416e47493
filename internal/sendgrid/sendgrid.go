// Package sendgrid delivers email through SendGrid's v3 Mail Send API with
// the official sendgrid-go library.
//
// sendgrid-go quirks handled here (see /work/shared/reference/engineering.md §5):
//   - sendgrid.NewSendClient and MakeRequest use the package-global
//     rest.DefaultClient, which has no timeout; the Sender builds its request
//     with sendgrid.GetRequest and sends it through its own rest.Client;
//   - a non-2xx answer is not an error (err is nil with StatusCode 429), so
//     Send branches on StatusCode;
//   - the built-in 429 retry sleeps in place; Send instead returns a
//     retryable error with RetryAfter from X-RateLimit-Reset, so the worker
//     can release the message and come back later;
//   - rest.BuildResponse reads the whole body; the transport caps it at 1 MiB.
//
// Click, open and subscription tracking and Google Analytics are disabled on
// every message so SendGrid never rewrites a magic link or adds a footer.
package sendgrid

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/sendgrid/rest"
	sg "github.com/sendgrid/sendgrid-go"
	"github.com/sendgrid/sendgrid-go/helpers/mail"

	"github.com/sesame-auth/sesame/internal/auth"
	"github.com/sesame-auth/sesame/internal/provider"
)

// Defaults.
const (
	DefaultBaseURL = "https://api.sendgrid.com"
	DefaultTimeout = 10 * time.Second
)

const (
	mailSendPath     = "/v3/mail/send"
	maxResponseBytes = 1 << 20
	maxRetryAfter    = time.Hour
)

// Config configures a Sender.
type Config struct {
	// APIKey is a SendGrid API key with Mail Send permission. Required.
	// Never logged.
	APIKey string
	// From is the sender, "addr@example.com" or "Name <addr@example.com>".
	// Required; SendGrid only accepts verified senders.
	From string
	// BaseURL is where API requests go, as scheme://host[:port][/prefix].
	// Defaults to https://api.sendgrid.com (https://api.eu.sendgrid.com for EU
	// data residency). Plain http://127.0.0.1:PORT works for a test server.
	BaseURL string
	// Timeout bounds one Send. Defaults to HTTPClient.Timeout when set,
	// else 10s.
	Timeout time.Duration
	// HTTPClient supplies the transport (proxy, TLS, connection pool).
	// Optional. Redirects are never followed.
	HTTPClient *http.Client
}

// Sender sends email through SendGrid. It is safe for concurrent use.
type Sender struct {
	req     rest.Request // template: headers and URL; never mutated after New
	client  *rest.Client
	from    *mail.Email
	timeout time.Duration
	now     func() time.Time
}

var _ auth.Sender = (*Sender)(nil)

func (cfg *Config) validate() (*mail.Email, error) {
	cfg.APIKey = strings.TrimSpace(cfg.APIKey)
	cfg.From = strings.TrimSpace(cfg.From)
	cfg.BaseURL = strings.TrimSpace(cfg.BaseURL)

	var errs []error
	switch {
	case cfg.APIKey == "":
		errs = append(errs, errors.New("API key is required (SENDGRID_API_KEY)"))
	case strings.IndexFunc(cfg.APIKey, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0:
		errs = append(errs, errors.New("API key must not contain spaces or control characters (SENDGRID_API_KEY)"))
	}
	var from *mail.Email
	if cfg.From == "" {
		errs = append(errs, errors.New("sender address is required (EMAIL_FROM)"))
	} else if e, err := mail.ParseEmail(cfg.From); err != nil {
		errs = append(errs, fmt.Errorf("sender address (EMAIL_FROM) is not a valid address: %w", err))
	} else {
		from = e
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	if _, err := provider.ParseBaseURL(cfg.BaseURL); err != nil {
		errs = append(errs, fmt.Errorf("base URL (SENDGRID_BASE_URL): %w", err))
	}
	if t, err := provider.Timeout(cfg.Timeout, cfg.HTTPClient, DefaultTimeout); err != nil {
		errs = append(errs, err)
	} else {
		cfg.Timeout = t
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("sendgrid: invalid config: %w", errors.Join(errs...))
	}
	return from, nil
}

// New returns a Sender for cfg, or an error naming every missing or invalid
// setting.
func New(cfg Config) (*Sender, error) {
	from, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	base, _ := provider.ParseBaseURL(cfg.BaseURL)
	host := strings.TrimSuffix(base.String(), "/")

	next := provider.Transport()
	var jar http.CookieJar
	if cfg.HTTPClient != nil {
		if cfg.HTTPClient.Transport != nil {
			next = cfg.HTTPClient.Transport
		}
		jar = cfg.HTTPClient.Jar
	}
	req := sg.GetRequest(cfg.APIKey, mailSendPath, host)
	req.Method = rest.Post
	return &Sender{
		req: req,
		client: &rest.Client{HTTPClient: &http.Client{
			Transport: limitTransport{next},
			Jar:       jar,
			Timeout:   cfg.Timeout,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		}},
		from:    from,
		timeout: cfg.Timeout,
		now:     time.Now,
	}, nil
}

// FromEnv reads SENDGRID_API_KEY, EMAIL_FROM and SENDGRID_BASE_URL
// (optional) through getenv (os.Getenv when nil). It returns an error naming
// every missing or invalid variable; the key is never part of it.
func FromEnv(getenv func(string) string) (Config, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	cfg := Config{
		APIKey:  getenv("SENDGRID_API_KEY"),
		From:    getenv("EMAIL_FROM"),
		BaseURL: getenv("SENDGRID_BASE_URL"),
	}
	if _, err := cfg.validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// Message builds the v3 Mail Send payload for m: one recipient, the
// text/plain part then the text/html part (each only when not empty), custom
// arg message_id, and click, open and subscription tracking and Google
// Analytics off. Exposed for tests and debugging.
func (s *Sender) Message(m *auth.OutboundMessage) *mail.SGMailV3 {
	mm := mail.NewV3Mail()
	from := s.from
	if m.FromName != "" || m.FromEmail != "" { // the project's sender (auth.MessageSettings)
		f := *s.from
		if m.FromName != "" {
			f.Name = m.FromName
		}
		if m.FromEmail != "" {
			f.Address = m.FromEmail
		}
		from = &f
	}
	mm.SetFrom(from)
	mm.Subject = m.Subject
	p := mail.NewPersonalization()
	p.AddTos(mail.NewEmail("", strings.TrimSpace(m.To)))
	mm.AddPersonalizations(p)
	if m.Text != "" {
		mm.AddContent(mail.NewContent("text/plain", m.Text))
	}
	if m.HTML != "" {
		mm.AddContent(mail.NewContent("text/html", m.HTML))
	}
	mm.SetTrackingSettings(mail.NewTrackingSettings().
		SetClickTracking(mail.NewClickTrackingSetting().SetEnable(false).SetEnableText(false)).
		SetOpenTracking(mail.NewOpenTrackingSetting().SetEnable(false)).
		SetSubscriptionTracking(mail.NewSubscriptionTrackingSetting().SetEnable(false)).
		SetGoogleAnalytics(mail.NewGaSetting().SetEnable(false)))
	if m.MessageID != "" {
		mm.SetCustomArg("message_id", m.MessageID)
	}
	return mm
}

// Send submits m and returns SendGrid's X-Message-Id ("" if the answer had
// none). Errors are *auth.DeliveryError:
//   - permanent ("sendgrid <status>"): 400, 401, 403, 413 and any other 4xx
//     but 408 and 429; a non-email message or one without recipient or body
//     ("sendgrid invalid message", no request made);
//   - retryable: "sendgrid 429" with RetryAfter until X-RateLimit-Reset
//     (or Retry-After), 408, 5xx and unexpected statuses ("sendgrid <status>"),
//     "sendgrid timeout", "sendgrid canceled", "sendgrid network".
func (s *Sender) Send(ctx context.Context, m *auth.OutboundMessage) (string, error) {
	switch {
	case m == nil:
		return "", auth.Permanent("sendgrid invalid message", errors.New("sendgrid: nil message"))
	case m.Channel != auth.ChannelEmail:
		return "", auth.Permanent("sendgrid unsupported channel", fmt.Errorf("sendgrid: channel %q is not email", m.Channel))
	case strings.TrimSpace(m.To) == "":
		return "", auth.Permanent("sendgrid invalid message", errors.New("sendgrid: no recipient"))
	case m.Text == "" && m.HTML == "":
		return "", auth.Permanent("sendgrid invalid message", errors.New("sendgrid: empty body"))
	}
	body, err := json.Marshal(s.Message(m))
	if err != nil {
		return "", auth.Permanent("sendgrid invalid message", fmt.Errorf("sendgrid: encoding message: %w", err))
	}
	req := s.req // copy; Headers is shared but only read
	req.Body = body

	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	resp, err := s.client.SendWithContext(ctx, req)
	if err != nil && (resp == nil || resp.StatusCode/100 != 2) {
		switch {
		case errors.Is(err, context.DeadlineExceeded):
			return "", auth.Retryable("sendgrid timeout", 0, err)
		case errors.Is(err, context.Canceled):
			return "", auth.Retryable("sendgrid canceled", 0, err)
		default:
			return "", auth.Retryable("sendgrid network", 0, err)
		}
	}
	h := http.Header(resp.Headers)
	status := resp.StatusCode
	if status/100 == 2 {
		// A body read error after a 2xx does not undo the acceptance.
		return h.Get("X-Message-Id"), nil
	}
	reason := "sendgrid " + strconv.Itoa(status)
	rerr := fmt.Errorf("sendgrid: %d %s%s", status, http.StatusText(status), summarize(resp.Body))
	switch {
	case status == http.StatusTooManyRequests:
		after := s.untilReset(h.Get("X-RateLimit-Reset"))
		if after == 0 {
			after = provider.RetryAfter(h.Get("Retry-After"), s.now())
		}
		return "", auth.Retryable(reason, after, rerr)
	case status == http.StatusRequestTimeout:
		return "", auth.Retryable(reason, 0, rerr)
	case status >= 400 && status < 500:
		return "", auth.Permanent(reason, rerr)
	default: // 5xx, and 1xx/3xx which Mail Send never answers
		return "", auth.Retryable(reason, provider.RetryAfter(h.Get("Retry-After"), s.now()), rerr)
	}
}

// untilReset turns X-RateLimit-Reset (Unix seconds) into a wait, capped at
// an hour; 0 when absent, unparsable or already past.
func (s *Sender) untilReset(v string) time.Duration {
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil || n <= 0 {
		return 0
	}
	return min(max(time.Unix(n, 0).Sub(s.now()), 0), maxRetryAfter)
}

// summarize extracts field and message of SendGrid's first error, bounded,
// for the error chain. The body is otherwise dropped.
func summarize(body string) string {
	var e struct {
		Errors []struct {
			Field   *string `json:"field"`
			Message string  `json:"message"`
		} `json:"errors"`
	}
	if json.Unmarshal([]byte(body), &e) != nil || len(e.Errors) == 0 {
		return ""
	}
	msg := e.Errors[0].Message
	if f := e.Errors[0].Field; f != nil && *f != "" {
		msg = *f + ": " + msg
	}
	if r := []rune(msg); len(r) > 200 {
		msg = string(r[:200]) + "…"
	}
	return ": " + msg
}

// limitTransport caps how much of an answer rest.BuildResponse can read.
type limitTransport struct{ next http.RoundTripper }

func (t limitTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.LimitReader(resp.Body, maxResponseBytes), resp.Body}
	return resp, nil
}
