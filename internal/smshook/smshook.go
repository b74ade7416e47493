// Package smshook delivers SMS and WhatsApp messages through an operator's
// own HTTP gateway (SMS_PROVIDER=webhook): Sesame POSTs the message as JSON,
// signed with HMAC-SHA256, and the gateway hands it to whatever carrier or
// regional aggregator it fronts.
//
// The request:
//
//	POST <SMS_WEBHOOK_URL>
//	Content-Type: application/json
//	Idempotency-Key: <message_id>            same on every retry of a message
//	X-Sesame-Timestamp: <unix seconds>
//	X-Sesame-Signature: v1=<hex HMAC-SHA256(secret, timestamp + "." + body)>
//
//	{"message_id":"…","channel":"sms"|"whatsapp","to":"+9198…","text":"…"}
//
// The answer: 2xx accepts the message, with an optional JSON body
// {"id":"…"} naming it at the gateway (the provider id). 4xx is permanent
// (never retried) except 408 and 429; 5xx, 408, 429 and transport failures
// are transient, and a Retry-After header is honoured. Gateways check the
// signature with Verify.
package smshook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/sesame-auth/sesame/internal/auth"
	"github.com/sesame-auth/sesame/internal/provider"
)

// Header names and defaults.
const (
	TimestampHeader = "X-Sesame-Timestamp"
	SignatureHeader = "X-Sesame-Signature"
	DefaultTimeout  = 10 * time.Second
	// MinSecretLen is the shortest accepted signing secret, in bytes.
	MinSecretLen = 32
)

// maxAnswerBytes bounds how much of an answer is read.
const maxAnswerBytes = 64 << 10

// Config configures a Sender.
type Config struct {
	// URL is the gateway endpoint. Required. https, or http only to a
	// loopback host (the body carries the code).
	URL string
	// Secret signs every request. Required, at least MinSecretLen bytes.
	// Never logged.
	Secret string
	// Timeout bounds one call. Defaults to HTTPClient.Timeout when set,
	// else 10s.
	Timeout time.Duration
	// HTTPClient supplies the transport. Optional: default the shared
	// provider.Transport. Redirects are never followed.
	HTTPClient *http.Client
}

// Sender posts messages to the gateway. It is safe for concurrent use.
type Sender struct {
	url     string
	secret  []byte
	timeout time.Duration
	hc      *http.Client
	now     func() time.Time
}

var _ auth.Sender = (*Sender)(nil)

func (cfg *Config) validate() error {
	cfg.URL = strings.TrimSpace(cfg.URL)
	var errs []error
	u, err := url.Parse(cfg.URL)
	switch {
	case cfg.URL == "":
		errs = append(errs, errors.New("URL is required (SMS_WEBHOOK_URL)"))
	case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") || u.User != nil:
		errs = append(errs, errors.New("URL (SMS_WEBHOOK_URL) must be an absolute https URL without user info"))
	case u.Scheme == "http" && !loopback(u.Hostname()):
		errs = append(errs, errors.New("URL (SMS_WEBHOOK_URL) must use https unless the host is loopback: the body carries the code"))
	}
	if len(cfg.Secret) < MinSecretLen {
		errs = append(errs, fmt.Errorf("secret (SMS_WEBHOOK_SECRET) must be at least %d bytes", MinSecretLen))
	}
	if t, err := provider.Timeout(cfg.Timeout, cfg.HTTPClient, DefaultTimeout); err != nil {
		errs = append(errs, fmt.Errorf("timeout (SMS_WEBHOOK_TIMEOUT): %w", err))
	} else {
		cfg.Timeout = t
	}
	if len(errs) > 0 {
		return fmt.Errorf("smshook: invalid config: %w", errors.Join(errs...))
	}
	return nil
}

func loopback(host string) bool {
	ip := net.ParseIP(host)
	return host == "localhost" || (ip != nil && ip.IsLoopback())
}

// New returns a Sender for cfg, or an error naming every missing or invalid
// setting.
func New(cfg Config) (*Sender, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	hc := &http.Client{Transport: provider.Transport()}
	if cfg.HTTPClient != nil {
		if cfg.HTTPClient.Transport != nil {
			hc.Transport = cfg.HTTPClient.Transport
		}
		hc.Jar = cfg.HTTPClient.Jar
	}
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &Sender{url: cfg.URL, secret: []byte(cfg.Secret), timeout: cfg.Timeout, hc: hc, now: time.Now}, nil
}

// FromEnv reads SMS_WEBHOOK_URL, SMS_WEBHOOK_SECRET and SMS_WEBHOOK_TIMEOUT
// (a Go duration, optional) through getenv (os.Getenv when nil). The error
// names every missing or invalid variable, never the secret.
func FromEnv(getenv func(string) string) (Config, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	cfg := Config{URL: getenv("SMS_WEBHOOK_URL"), Secret: getenv("SMS_WEBHOOK_SECRET")}
	if v := strings.TrimSpace(getenv("SMS_WEBHOOK_TIMEOUT")); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return Config{}, errors.New("smshook: SMS_WEBHOOK_TIMEOUT must be a positive Go duration such as 10s")
		}
		cfg.Timeout = d
	}
	if err := cfg.validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// Payload is the JSON body Sesame posts.
type Payload struct {
	MessageID string `json:"message_id"`
	Channel   string `json:"channel"`
	To        string `json:"to"`
	Text      string `json:"text"`
}

// Sign returns the X-Sesame-Signature value for a timestamp and body:
// "v1=" + hex(HMAC-SHA256(secret, timestamp + "." + body)).
func Sign(secret []byte, timestamp string, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(timestamp))
	m.Write([]byte{'.'})
	m.Write(body)
	return "v1=" + hex.EncodeToString(m.Sum(nil))
}

// Verify checks a request's signature for gateways: the timestamp must be
// within tolerance of now and the signature must match (constant time).
func Verify(secret []byte, timestamp, signature string, body []byte, now time.Time, tolerance time.Duration) error {
	sec, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return errors.New("smshook: bad timestamp")
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return errors.New("smshook: timestamp outside tolerance")
	}
	if !hmac.Equal([]byte(Sign(secret, timestamp, body)), []byte(signature)) {
		return errors.New("smshook: signature mismatch")
	}
	return nil
}

// Send posts the message and returns the gateway's id. Errors are
// *auth.DeliveryError with reasons "webhook <status>" (4xx permanent except
// 408 and 429; 5xx, 408 and 429 retryable with Retry-After), "webhook
// timeout", "webhook canceled", "webhook network" (retryable) and "webhook
// unsupported channel" (permanent).
func (s *Sender) Send(ctx context.Context, m *auth.OutboundMessage) (string, error) {
	if m == nil || (m.Channel != auth.ChannelSMS && m.Channel != auth.ChannelWhatsApp) {
		return "", auth.Permanent("webhook unsupported channel", errors.New("smshook: only sms and whatsapp"))
	}
	body, err := json.Marshal(Payload{MessageID: m.MessageID, Channel: string(m.Channel), To: strings.TrimSpace(m.To), Text: m.Text})
	if err != nil {
		return "", auth.Permanent("webhook encode", err)
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		return "", auth.Permanent("webhook request", err)
	}
	ts := strconv.FormatInt(s.now().Unix(), 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "sesame-smshook")
	req.Header.Set(TimestampHeader, ts)
	req.Header.Set(SignatureHeader, Sign(s.secret, ts, body))
	if m.MessageID != "" {
		req.Header.Set("Idempotency-Key", m.MessageID)
	}
	resp, err := s.hc.Do(req)
	if err != nil {
		switch {
		case errors.Is(ctx.Err(), context.DeadlineExceeded):
			return "", auth.Retryable("webhook timeout", 0, err)
		case ctx.Err() != nil:
			return "", auth.Retryable("webhook canceled", 0, err)
		}
		return "", auth.Retryable("webhook network", 0, err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	reason := "webhook " + strconv.Itoa(resp.StatusCode)
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		var a struct {
			ID string `json:"id"`
		}
		_ = json.Unmarshal(answer, &a) // an answer without an id is still an acceptance
		if len(a.ID) > 128 {
			a.ID = a.ID[:128]
		}
		return a.ID, nil
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode >= 500:
		return "", auth.Retryable(reason, provider.RetryAfter(resp.Header.Get("Retry-After"), s.now()), fmt.Errorf("smshook: gateway answered %d", resp.StatusCode))
	default:
		return "", auth.Permanent(reason, fmt.Errorf("smshook: gateway answered %d", resp.StatusCode))
	}
}
