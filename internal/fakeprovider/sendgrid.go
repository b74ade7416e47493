package fakeprovider

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sendgrid/sendgrid-go/helpers/mail"
)

// SendGridMessage is one email (one recipient) the SendGrid fake accepted.
// A request with several recipients is recorded once per recipient, all with
// the same ID.
type SendGridMessage struct {
	ID         string            `json:"id"` // the X-Message-Id answered
	To         string            `json:"to"`
	From       string            `json:"from"`
	FromName   string            `json:"from_name,omitempty"`
	Subject    string            `json:"subject"`
	Text       string            `json:"text"` // text/plain part
	HTML       string            `json:"html"` // text/html part
	CustomArgs map[string]string `json:"custom_args,omitempty"`
	// ClickTracking and OpenTracking are the tracking_settings.*.enable
	// values of the request; nil when the request left them to the account
	// default.
	ClickTracking *bool `json:"click_tracking"`
	OpenTracking  *bool `json:"open_tracking"`
	// ContentTypes lists the content parts' types in request order.
	ContentTypes []string        `json:"content_types"`
	Raw          json.RawMessage `json:"-"` // the request body as received
	ReceivedAt   time.Time       `json:"received_at"`
	seq          int64
}

// SendGrid is a fake of SendGrid's v3 Mail Send API.
type SendGrid struct {
	*server
	msgs   []SendGridMessage
	apiKey string
}

// NewSendGrid starts a fake SendGrid API. Close it when done.
func NewSendGrid(opts ...Option) *SendGrid {
	s := &SendGrid{}
	s.server = newServer(http.HandlerFunc(s.serveAPI), opts)
	return s
}

// RequireAPIKey makes the fake answer 401 unless the bearer key is key.
// Without it any non-empty bearer key is accepted.
func (s *SendGrid) RequireAPIKey(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.apiKey = key
}

// FailNext makes the next n requests answer status with a SendGrid error
// JSON. A 429 also carries X-RateLimit-Limit/Remaining/Reset headers, the
// reset one second ahead; use FailNextWith for other headers.
func (s *SendGrid) FailNext(n, status int) {
	f := Failure{Status: status}
	if status == http.StatusTooManyRequests {
		f.Header = http.Header{
			"X-Ratelimit-Limit":     {"600"},
			"X-Ratelimit-Remaining": {"0"},
			"X-Ratelimit-Reset":     {strconv.FormatInt(time.Now().Add(time.Second).Unix(), 10)},
		}
	}
	s.FailNextWith(n, f)
}

// Messages returns a copy of the accepted emails, oldest first.
func (s *SendGrid) Messages() []SendGridMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]SendGridMessage(nil), s.msgs...)
}

// WaitFor waits up to timeout until an email to `to` (case-insensitive) was
// accepted and returns the newest one.
func (s *SendGrid) WaitFor(to string, timeout time.Duration) (SendGridMessage, error) {
	var m SendGridMessage
	ok := s.wait(timeout, func() bool {
		for i := len(s.msgs) - 1; i >= 0; i-- {
			if strings.EqualFold(s.msgs[i].To, to) {
				m = s.msgs[i]
				return true
			}
		}
		return false
	})
	if !ok {
		return SendGridMessage{}, fmt.Errorf("fakeprovider: no SendGrid message to %q within %s", to, timeout)
	}
	return m, nil
}

// Reset forgets recorded messages and queued failures and zeroes Requests.
func (s *SendGrid) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = nil
	s.resetLocked()
}

type sgError struct {
	Message string  `json:"message"`
	Field   *string `json:"field"`
	Help    *string `json:"help"`
}

func writeSendGridError(w http.ResponseWriter, status int, field, msg string) {
	if msg == "" {
		msg = http.StatusText(status)
	}
	e := sgError{Message: msg}
	if field != "" {
		e.Field = &field
	}
	writeJSON(w, status, map[string]any{"errors": []sgError{e}})
}

func (s *SendGrid) serveAPI(w http.ResponseWriter, r *http.Request) {
	f, ok := s.begin(r)
	if !ok {
		return
	}
	if f != nil {
		writeFailure(w, f, func() { writeSendGridError(w, f.Status, "", "") })
		return
	}

	key, hasKey := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	s.mu.Lock()
	want := s.apiKey
	s.mu.Unlock()
	if !hasKey || key == "" {
		writeSendGridError(w, http.StatusUnauthorized, "", "authorization required")
		return
	}
	if want != "" && key != want {
		writeSendGridError(w, http.StatusUnauthorized, "", "The provided authorization grant is invalid, expired, or revoked")
		return
	}
	if r.URL.Path != "/v3/mail/send" {
		writeSendGridError(w, http.StatusNotFound, "", "")
		return
	}
	if r.Method != http.MethodPost {
		writeSendGridError(w, http.StatusMethodNotAllowed, "", "")
		return
	}

	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 30<<20))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeSendGridError(w, http.StatusRequestEntityTooLarge, "", "Payload Too Large")
			return
		}
		writeSendGridError(w, http.StatusBadRequest, "", err.Error())
		return
	}
	var m mail.SGMailV3
	if err := json.Unmarshal(raw, &m); err != nil {
		writeSendGridError(w, http.StatusBadRequest, "", "Bad Request")
		return
	}
	if field, msg := validateMail(&m); field != "" {
		writeSendGridError(w, http.StatusBadRequest, field, msg)
		return
	}

	id := messageID()
	now := time.Now().UTC()
	var text, html string
	var types []string
	for _, c := range m.Content {
		types = append(types, c.Type)
		switch strings.ToLower(c.Type) {
		case "text/plain":
			text = c.Value
		case "text/html":
			html = c.Value
		}
	}
	var click, open *bool
	if ts := m.TrackingSettings; ts != nil {
		if ts.ClickTracking != nil {
			click = ts.ClickTracking.Enable
		}
		if ts.OpenTracking != nil {
			open = ts.OpenTracking.Enable
		}
	}

	s.mu.Lock()
	for _, p := range m.Personalizations {
		subject := m.Subject
		if p.Subject != "" {
			subject = p.Subject
		}
		from := m.From
		if p.From != nil {
			from = p.From
		}
		args := maps.Clone(m.CustomArgs)
		if len(p.CustomArgs) > 0 {
			if args == nil {
				args = map[string]string{}
			}
			maps.Copy(args, p.CustomArgs)
		}
		for _, to := range p.To {
			s.seq++
			s.msgs = append(s.msgs, SendGridMessage{
				ID: id, To: to.Address, From: from.Address, FromName: from.Name,
				Subject: subject, Text: text, HTML: html, CustomArgs: args,
				ClickTracking: click, OpenTracking: open, ContentTypes: types,
				Raw: raw, ReceivedAt: now, seq: s.seq,
			})
		}
	}
	s.notifyLocked()
	s.mu.Unlock()

	w.Header().Set("X-Message-Id", id)
	w.WriteHeader(http.StatusAccepted)
}

// validateMail applies the Mail Send rules a real request would fail on and
// returns the offending field and message, or "" when valid.
func validateMail(m *mail.SGMailV3) (field, msg string) {
	if m.From == nil || m.From.Address == "" {
		return "from.email", "The from email does not contain a valid address."
	}
	if len(m.Personalizations) == 0 {
		return "personalizations", "The personalizations field is required and must have at least one personalization."
	}
	for i, p := range m.Personalizations {
		if p == nil || len(p.To) == 0 {
			return fmt.Sprintf("personalizations.%d.to", i), "The to array is required for all personalization objects, and must have at least one email object with a valid email address."
		}
		for j, to := range p.To {
			if to == nil || !strings.Contains(to.Address, "@") {
				return fmt.Sprintf("personalizations.%d.to.%d.email", i, j), "Does not contain a valid address."
			}
		}
		if m.Subject == "" && p.Subject == "" && m.TemplateID == "" {
			return "subject", "The subject is required. You can get around this requirement if you use a template with a subject defined or if every personalization has a subject defined."
		}
	}
	if len(m.Content) == 0 && m.TemplateID == "" {
		return "content", "Unless a valid template_id is provided, the content parameter is required. There must be at least one defined content block."
	}
	for i, c := range m.Content {
		if c == nil || c.Value == "" {
			return fmt.Sprintf("content.%d.value", i), "The content value must be a string at least one character in length."
		}
		if i > 0 && strings.EqualFold(c.Type, "text/plain") {
			return fmt.Sprintf("content.%d.type", i), "The text/plain content type must be the first content block."
		}
	}
	return "", ""
}

// messageID looks like SendGrid's X-Message-Id (22 URL-safe characters).
func messageID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
