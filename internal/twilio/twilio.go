// Package twilio delivers SMS and WhatsApp messages through Twilio's
// Programmable Messaging API with the official twilio-go client.
//
// twilio-go quirks handled here (see /work/shared/reference/engineering.md §4):
//   - its base URL is fixed to https://api.twilio.com, so Config.BaseURL is
//     applied by an http.RoundTripper that rewrites scheme, host and path
//     prefix on every request (plain http://127.0.0.1:PORT works);
//   - CreateMessage takes no context.Context, so Send builds a per-call
//     http.Client whose transport attaches ctx (with Config.Timeout) to the
//     request: cancellation and deadlines reach the wire;
//   - it never closes the response body of an error answer, so the per-call
//     transport drains and closes every body it handed out once the call
//     returns; the connection is then reused instead of being torn down (or,
//     without a per-call context, pinned with its goroutines forever);
//   - response headers and the HTTP status of an undecodable error body are
//     not exposed, so the transport records them (status for the reason,
//     Retry-After for 429);
//   - it ignores TWILIO_EDGE/TWILIO_REGION here: the host is always BaseURL.
package twilio

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/twilio/twilio-go/client"
	openapi "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/sesame-auth/sesame/internal/auth"
	"github.com/sesame-auth/sesame/internal/provider"
)

// Defaults.
const (
	DefaultBaseURL = "https://api.twilio.com"
	DefaultTimeout = 10 * time.Second
)

// maxResponseBytes bounds how much of an answer is read.
const maxResponseBytes = 1 << 20

// drainBytes is how much of an unread answer is discarded before closing it.
const drainBytes = 64 << 10

// Config configures a Sender.
type Config struct {
	// AccountSID ("AC…") is the account messages are created in and the basic
	// auth user. Required.
	AccountSID string
	// AuthToken is the account's auth token. Required. Never logged.
	AuthToken string
	// From is the sender: an E.164 number, short code or alphanumeric id.
	// From or MessagingServiceSID (or both) is required; with both, Twilio
	// sends from From and applies the service's features.
	From string
	// MessagingServiceSID ("MG…") lets Twilio choose the sender.
	MessagingServiceSID string
	// WhatsAppFrom is the WhatsApp sender. Defaults to "whatsapp:"+From
	// when From is set; a value without the "whatsapp:" prefix gets it.
	// With neither, WhatsApp goes through MessagingServiceSID alone.
	WhatsAppFrom string
	// StatusCallback is the URL Twilio posts delivery status updates of
	// every message to (Sesame's api: PUBLIC_URL + "/v1/webhooks/twilio").
	// Optional: empty sends none. Must be an absolute http(s) URL.
	StatusCallback string
	// BaseURL is where API requests go, as scheme://host[:port][/prefix].
	// Defaults to https://api.twilio.com. Any host works, including plain
	// http://127.0.0.1:PORT for a test server (credentials then travel in
	// clear text, so keep http to loopback).
	BaseURL string
	// Timeout bounds one Send (connect, request and answer). Defaults to
	// HTTPClient.Timeout when set, else 10s.
	Timeout time.Duration
	// HTTPClient supplies the transport (proxy, TLS, connection pool) and
	// cookie jar. Optional. Redirects are never followed.
	HTTPClient *http.Client
}

// Sender sends messages through Twilio. It is safe for concurrent use.
type Sender struct {
	sid, token   string
	from, waFrom string
	mss          string
	callback     string
	base         *url.URL
	timeout      time.Duration
	rt           http.RoundTripper
	jar          http.CookieJar
}

var _ auth.Sender = (*Sender)(nil)

var alnum = regexp.MustCompile(`^[A-Za-z0-9]+$`)

// validate checks cfg and fills in defaults.
func (cfg *Config) validate() error {
	cfg.AccountSID = strings.TrimSpace(cfg.AccountSID)
	cfg.AuthToken = strings.TrimSpace(cfg.AuthToken)
	cfg.From = strings.TrimSpace(cfg.From)
	cfg.MessagingServiceSID = strings.TrimSpace(cfg.MessagingServiceSID)
	cfg.WhatsAppFrom = strings.TrimSpace(cfg.WhatsAppFrom)
	cfg.BaseURL = strings.TrimSpace(cfg.BaseURL)
	cfg.StatusCallback = strings.TrimSpace(cfg.StatusCallback)

	var errs []error
	// twilio-go itself rejects non-alphanumeric credentials (errors
	// 21222/21224) on every request; say so once, up front.
	switch {
	case cfg.AccountSID == "":
		errs = append(errs, errors.New("account SID is required (TWILIO_ACCOUNT_SID)"))
	case !alnum.MatchString(cfg.AccountSID):
		errs = append(errs, errors.New("account SID must be alphanumeric (TWILIO_ACCOUNT_SID)"))
	}
	switch {
	case cfg.AuthToken == "":
		errs = append(errs, errors.New("auth token is required (TWILIO_AUTH_TOKEN)"))
	case !alnum.MatchString(cfg.AuthToken):
		errs = append(errs, errors.New("auth token must be alphanumeric (TWILIO_AUTH_TOKEN)"))
	}
	if cfg.From == "" && cfg.MessagingServiceSID == "" {
		errs = append(errs, errors.New("a sender is required: set TWILIO_FROM or TWILIO_MESSAGING_SERVICE_SID"))
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	if _, err := provider.ParseBaseURL(cfg.BaseURL); err != nil {
		errs = append(errs, fmt.Errorf("base URL (TWILIO_BASE_URL): %w", err))
	}
	if cfg.StatusCallback != "" {
		if u, err := url.Parse(cfg.StatusCallback); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, errors.New("status callback (TWILIO_STATUS_CALLBACK_URL) must be an absolute http or https URL"))
		}
	}
	if t, err := provider.Timeout(cfg.Timeout, cfg.HTTPClient, DefaultTimeout); err != nil {
		errs = append(errs, err)
	} else {
		cfg.Timeout = t
	}
	if cfg.WhatsAppFrom == "" && cfg.From != "" {
		cfg.WhatsAppFrom = cfg.From
	}
	if cfg.WhatsAppFrom != "" && !strings.HasPrefix(cfg.WhatsAppFrom, "whatsapp:") {
		cfg.WhatsAppFrom = "whatsapp:" + cfg.WhatsAppFrom
	}
	if len(errs) > 0 {
		return fmt.Errorf("twilio: invalid config: %w", errors.Join(errs...))
	}
	return nil
}

// New returns a Sender for cfg, or an error naming every missing or invalid
// setting.
func New(cfg Config) (*Sender, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	base, _ := provider.ParseBaseURL(cfg.BaseURL)
	s := &Sender{
		sid: cfg.AccountSID, token: cfg.AuthToken,
		from: cfg.From, waFrom: cfg.WhatsAppFrom, mss: cfg.MessagingServiceSID, callback: cfg.StatusCallback,
		base: base, timeout: cfg.Timeout, rt: provider.Transport(),
	}
	if cfg.HTTPClient != nil {
		if cfg.HTTPClient.Transport != nil {
			s.rt = cfg.HTTPClient.Transport
		}
		s.jar = cfg.HTTPClient.Jar
	}
	return s, nil
}

// FromEnv reads TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_FROM,
// TWILIO_MESSAGING_SERVICE_SID, TWILIO_WHATSAPP_FROM (optional),
// TWILIO_STATUS_CALLBACK_URL (optional) and TWILIO_BASE_URL (optional) through getenv (os.Getenv when nil). It returns
// an error naming every missing or invalid variable; secrets are never part
// of it.
func FromEnv(getenv func(string) string) (Config, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	cfg := Config{
		AccountSID:          getenv("TWILIO_ACCOUNT_SID"),
		AuthToken:           getenv("TWILIO_AUTH_TOKEN"),
		From:                getenv("TWILIO_FROM"),
		MessagingServiceSID: getenv("TWILIO_MESSAGING_SERVICE_SID"),
		WhatsAppFrom:        getenv("TWILIO_WHATSAPP_FROM"),
		BaseURL:             getenv("TWILIO_BASE_URL"),
		StatusCallback:      getenv("TWILIO_STATUS_CALLBACK_URL"),
	}
	if err := cfg.validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// Send creates the message in Twilio and returns its sid ("SM…").
//
// SMS goes to m.To (E.164). WhatsApp goes to "whatsapp:"+m.To from
// WhatsAppFrom. Errors are *auth.DeliveryError:
//   - permanent ("twilio <code>"): invalid or unreachable recipient (21211,
//     21214, 21408, 21610, 21612, 21614, 21606, …), authentication errors
//     (20003, 20404) and any other 4xx answer, and an email message;
//   - retryable ("twilio <code>" or "twilio <status>"): 429/20429 (with
//     Retry-After when Twilio sent one), queue overflow 21611, 5xx,
//     undecodable answers; "twilio timeout", "twilio canceled",
//     "twilio network" for transport failures.
func (s *Sender) Send(ctx context.Context, m *auth.OutboundMessage) (string, error) {
	if m == nil {
		return "", auth.Permanent("twilio nil message", nil)
	}
	params := &openapi.CreateMessageParams{}
	to := strings.TrimSpace(m.To)
	switch m.Channel {
	case auth.ChannelSMS:
		params.SetTo(to)
		if s.from != "" {
			params.SetFrom(s.from)
		}
	case auth.ChannelWhatsApp:
		if !strings.HasPrefix(to, "whatsapp:") {
			to = "whatsapp:" + to
		}
		params.SetTo(to)
		if s.waFrom != "" {
			params.SetFrom(s.waFrom)
		}
	default:
		return "", auth.Permanent("twilio unsupported channel", fmt.Errorf("twilio: channel %q is not sms or whatsapp", m.Channel))
	}
	if s.mss != "" {
		params.SetMessagingServiceSid(s.mss)
	}
	params.SetBody(m.Text)
	if s.callback != "" {
		params.SetStatusCallback(s.callback)
	}

	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	ct := &callTransport{ctx: ctx, base: s.base, next: s.rt}
	defer ct.closeAll()

	c := &client.Client{
		Credentials: client.NewCredentials(s.sid, s.token),
		HTTPClient: &http.Client{
			Transport: ct,
			Jar:       s.jar,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
			// No Timeout: the deadline is on ctx, which also covers
			// reading the body after Do returns.
		},
	}
	c.SetAccountSid(s.sid)
	api := openapi.NewApiServiceWithClient(c)
	api.RequestHandler().Edge, api.RequestHandler().Region = "", ""

	msg, err := api.CreateMessage(params)
	status, header := ct.last()
	if err != nil {
		return "", classify(ctx, err, status, header)
	}
	if msg == nil || msg.Sid == nil || *msg.Sid == "" {
		return "", auth.Retryable(reason(0, status, "bad response"), 0, errors.New("twilio: answer has no message sid"))
	}
	return *msg.Sid, nil
}

// Codes that retrying cannot fix even though Twilio may not answer 4xx for
// them in every API version.
var permanentCodes = map[int]bool{
	20003: true, // authentication failed
	20404: true, // resource (account) not found
	21211: true, // invalid To number
	21214: true, // To number cannot be reached
	21408: true, // region not enabled (geo permissions)
	21606: true, // From number cannot send to this To
	21610: true, // recipient unsubscribed (STOP)
	21612: true, // To and From cannot be connected
	21614: true, // To is not a mobile number
	21222: true, // credentials with illegal characters (twilio-go, local)
	21224: true,
}

// Codes that are worth retrying although they come with a 4xx status.
var retryableCodes = map[int]bool{
	20429: true, // too many requests
	21611: true, // From number's queue is full
	14107: true, // SMS send rate limit exceeded
}

func classify(ctx context.Context, err error, status int, header http.Header) error {
	var te *client.TwilioRestError
	var v1 *client.RestErrorV1
	code := 0
	switch {
	case errors.As(err, &te):
		code = te.Code
		if status == 0 {
			status = te.Status
		}
	case errors.As(err, &v1):
		code = v1.Code
		if status == 0 {
			status = v1.HttpStatusCode
		}
	case ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled):
		if errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) {
			return auth.Retryable("twilio timeout", 0, err)
		}
		return auth.Retryable("twilio canceled", 0, err)
	case status == 0:
		return auth.Retryable("twilio network", 0, err)
	default:
		// An answer arrived but its body was not Twilio JSON (an HTML 502
		// from a proxy, a truncated body): transient by assumption.
		return auth.Retryable(reason(0, status, "bad response"), provider.RetryAfter(header.Get("Retry-After"), time.Now()), err)
	}

	r := reason(code, status, "error")
	switch {
	case status == http.StatusTooManyRequests || retryableCodes[code]:
		return auth.Retryable(r, provider.RetryAfter(header.Get("Retry-After"), time.Now()), err)
	case permanentCodes[code]:
		return auth.Permanent(r, err)
	case status >= 500:
		return auth.Retryable(r, provider.RetryAfter(header.Get("Retry-After"), time.Now()), err)
	case status == http.StatusRequestTimeout:
		return auth.Retryable(r, 0, err)
	case status >= 400:
		return auth.Permanent(r, err)
	default:
		return auth.Retryable(r, 0, err)
	}
}

// reason is "twilio <code>", else "twilio <status>", else "twilio <fallback>".
func reason(code, status int, fallback string) string {
	switch {
	case code != 0:
		return "twilio " + strconv.Itoa(code)
	case status != 0:
		return "twilio " + strconv.Itoa(status)
	default:
		return "twilio " + fallback
	}
}

// callTransport serves one Send: it points requests at base, attaches ctx,
// bounds and remembers the answers, and closes their bodies at the end.
type callTransport struct {
	ctx  context.Context
	base *url.URL
	next http.RoundTripper

	mu     sync.Mutex
	status int
	header http.Header
	bodies []*boundedBody
}

func (t *callTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(t.ctx)
	r.URL.Scheme = t.base.Scheme
	r.URL.Host = t.base.Host
	r.URL.Path = t.base.Path + r.URL.Path
	r.URL.RawPath = ""
	r.Host = ""
	resp, err := t.next.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	b := &boundedBody{rc: resp.Body, r: io.LimitReader(resp.Body, maxResponseBytes)}
	resp.Body = b
	t.mu.Lock()
	t.status, t.header = resp.StatusCode, resp.Header
	t.bodies = append(t.bodies, b)
	t.mu.Unlock()
	return resp, nil
}

func (t *callTransport) last() (int, http.Header) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.header == nil {
		return t.status, http.Header{}
	}
	return t.status, t.header
}

// closeAll drains what is left of each body, up to drainBytes, and closes
// it, so the connection goes back to the pool. twilio-go leaves error bodies
// open; an error answer it did not read to the end (an HTML page larger than
// the JSON decoder's buffer) would otherwise cost a fresh connection when the
// call's context is canceled.
func (t *callTransport) closeAll() {
	t.mu.Lock()
	bodies := t.bodies
	t.bodies = nil
	t.mu.Unlock()
	for _, b := range bodies {
		b.Close()
	}
}

type boundedBody struct {
	rc   io.ReadCloser
	r    io.Reader
	once sync.Once
	err  error
}

func (b *boundedBody) Read(p []byte) (int, error) { return b.r.Read(p) }

func (b *boundedBody) Close() error {
	b.once.Do(func() {
		_, _ = io.CopyN(io.Discard, b.rc, drainBytes)
		b.err = b.rc.Close()
	})
	return b.err
}
