package fakeprovider

import (
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Message is the provider-neutral view of a recorded message served by
// AdminHandler.
type Message struct {
	Provider   string            `json:"provider"` // "twilio" or "sendgrid"
	ID         string            `json:"id"`       // Twilio sid or SendGrid X-Message-Id
	Channel    string            `json:"channel"`  // "sms", "whatsapp" or "email"
	To         string            `json:"to"`       // as sent ("whatsapp:+1…" for WhatsApp)
	From       string            `json:"from"`
	Subject    string            `json:"subject,omitempty"`
	Body       string            `json:"body,omitempty"` // Twilio Body
	Text       string            `json:"text"`           // SMS body or email text/plain part
	HTML       string            `json:"html,omitempty"`
	CustomArgs map[string]string `json:"custom_args,omitempty"`
	Code       string            `json:"code"`  // first standalone 6-digit group, "" if none
	Token      string            `json:"token"` // token= query value of the first link, "" if none
	ReceivedAt time.Time         `json:"received_at"`
}

var (
	codeRE = regexp.MustCompile(`\b[0-9]{6}\b`)
	urlRE  = regexp.MustCompile(`https?://[^\s"'<>]+`)
)

// ExtractCode returns the first group of exactly six digits in s that is not
// part of a longer word or number, ignoring digits inside URLs. It returns ""
// when there is none.
func ExtractCode(s string) string {
	return codeRE.FindString(urlRE.ReplaceAllString(s, " "))
}

// ExtractToken returns the token query parameter of the first http(s) URL in
// s that has one. HTML entities are decoded first, so an href with &amp;
// works.
func ExtractToken(s string) string {
	for _, raw := range urlRE.FindAllString(html.UnescapeString(s), -1) {
		u, err := url.Parse(raw)
		if err != nil {
			continue
		}
		if tok := u.Query().Get("token"); tok != "" {
			return tok
		}
	}
	return ""
}

func (m TwilioMessage) message() Message {
	ch := "sms"
	if strings.HasPrefix(m.To, "whatsapp:") {
		ch = "whatsapp"
	}
	from := m.From
	if from == "" {
		from = m.MessagingServiceSID
	}
	return Message{
		Provider: "twilio", ID: m.SID, Channel: ch, To: m.To, From: from,
		Body: m.Body, Text: m.Body,
		Code: ExtractCode(m.Body), Token: ExtractToken(m.Body),
		ReceivedAt: m.ReceivedAt,
	}
}

// emailCodeAndToken extracts the code and token of an email, text part first.
func emailCodeAndToken(text, html string) (code, tok string) {
	code = ExtractCode(text)
	if code == "" {
		code = ExtractCode(stripTags(html))
	}
	tok = ExtractToken(text)
	if tok == "" {
		tok = ExtractToken(html)
	}
	return code, tok
}

func (m SendGridMessage) message() Message {
	code, tok := emailCodeAndToken(m.Text, m.HTML)
	return Message{
		Provider: "sendgrid", ID: m.ID, Channel: "email", To: m.To, From: m.From,
		Subject: m.Subject, Text: m.Text, HTML: m.HTML, CustomArgs: m.CustomArgs,
		Code: code, Token: tok, ReceivedAt: m.ReceivedAt,
	}
}

var tagRE = regexp.MustCompile(`<[^>]*>`)

func stripTags(s string) string { return html.UnescapeString(tagRE.ReplaceAllString(s, " ")) }

// matchTo reports whether a recorded recipient matches a query: exact, with
// or without "whatsapp:", or case-insensitively (emails).
func matchTo(got, want string) bool {
	return matchPhone(got, want) || strings.EqualFold(got, want)
}

// AllMessages returns the messages of both fakes (either may be nil), oldest
// first, filtered by recipient when to is not empty.
func AllMessages(tw *Twilio, sg *SendGrid, to string) []Message {
	out := []Message{}
	if tw != nil {
		for _, m := range tw.Messages() {
			if to == "" || matchTo(m.To, to) {
				out = append(out, m.message())
			}
		}
	}
	if sg != nil {
		for _, m := range sg.Messages() {
			if to == "" || matchTo(m.To, to) {
				out = append(out, m.message())
			}
		}
	}
	slices.SortStableFunc(out, func(a, b Message) int { return a.ReceivedAt.Compare(b.ReceivedAt) })
	return out
}

// AdminHandler serves the fakes' state over HTTP for out-of-band test
// suites (either fake may be nil):
//
//	GET    /messages[?to=R][&provider=twilio|sendgrid][&wait=5s]
//	       JSON array of Message, oldest first. With wait (a Go duration or
//	       milliseconds, at most 60s) and no match yet, waits for one.
//	DELETE /messages                  forget messages and queued failures
//	POST   /fail     {"provider":"twilio","n":1,"status":500,"code":20500,
//	                  "body":"","content_type":"","headers":{"K":"V"}}
//	POST   /latency  {"provider":"sendgrid","ms":250}
//	GET    /healthz
func AdminHandler(tw *Twilio, sg *SendGrid) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /messages", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		to, provider := q.Get("to"), q.Get("provider")
		t, s := tw, sg
		switch provider {
		case "":
		case "twilio":
			s = nil
		case "sendgrid":
			t = nil
		default:
			http.Error(w, "provider must be twilio or sendgrid", http.StatusBadRequest)
			return
		}
		wait, err := parseWait(q.Get("wait"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		msgs := AllMessages(t, s, to)
		if len(msgs) == 0 && wait > 0 {
			msgs = waitMessages(r, t, s, to, wait)
		}
		writeJSON(w, http.StatusOK, msgs)
	})
	mux.HandleFunc("DELETE /messages", func(w http.ResponseWriter, r *http.Request) {
		if tw != nil {
			tw.Reset()
		}
		if sg != nil {
			sg.Reset()
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /fail", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Provider    string            `json:"provider"`
			N           int               `json:"n"`
			Status      int               `json:"status"`
			Code        int               `json:"code"`
			Body        string            `json:"body"`
			ContentType string            `json:"content_type"`
			Headers     map[string]string `json:"headers"`
		}
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if req.N <= 0 {
			req.N = 1
		}
		if req.Status < 100 || req.Status > 599 {
			http.Error(w, "status must be an HTTP status", http.StatusBadRequest)
			return
		}
		f := Failure{Status: req.Status, TwilioCode: req.Code, Body: req.Body, ContentType: req.ContentType}
		if len(req.Headers) > 0 {
			f.Header = http.Header{}
			for k, v := range req.Headers {
				f.Header.Set(k, v)
			}
		}
		srv := pick(tw, sg, req.Provider)
		if srv == nil {
			http.Error(w, "unknown or absent provider", http.StatusBadRequest)
			return
		}
		if req.Provider == "sendgrid" && f.Status == http.StatusTooManyRequests && f.Header == nil && f.Body == "" {
			sg.FailNext(req.N, f.Status)
		} else {
			srv.FailNextWith(req.N, f)
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /latency", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Provider string `json:"provider"`
			MS       int    `json:"ms"`
		}
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		srv := pick(tw, sg, req.Provider)
		if srv == nil {
			http.Error(w, "unknown or absent provider", http.StatusBadRequest)
			return
		}
		srv.SetLatency(time.Duration(req.MS) * time.Millisecond)
		w.WriteHeader(http.StatusNoContent)
	})
	return mux
}

// MountAdmin mounts AdminHandler(tw, sg) at /messages, /fail, /latency and
// /healthz on both fakes (either may be nil).
func MountAdmin(tw *Twilio, sg *SendGrid) {
	h := AdminHandler(tw, sg)
	for _, p := range []string{"/messages", "/fail", "/latency", "/healthz"} {
		if tw != nil {
			tw.Handle(p, h)
		}
		if sg != nil {
			sg.Handle(p, h)
		}
	}
}

func pick(tw *Twilio, sg *SendGrid, provider string) *server {
	switch {
	case provider == "twilio" && tw != nil:
		return tw.server
	case provider == "sendgrid" && sg != nil:
		return sg.server
	}
	return nil
}

const maxWait = 60 * time.Second

func parseWait(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		ms, err2 := strconv.Atoi(s)
		if err2 != nil {
			return 0, err
		}
		d = time.Duration(ms) * time.Millisecond
	}
	return min(max(d, 0), maxWait), nil
}

func waitMessages(r *http.Request, tw *Twilio, sg *SendGrid, to string, wait time.Duration) []Message {
	t := time.NewTimer(wait)
	defer t.Stop()
	for {
		// Take the change channels before looking, so a message recorded
		// in between still wakes us.
		var twCh, sgCh, twClosed, sgClosed <-chan struct{}
		if tw != nil {
			twCh, twClosed = tw.changedCh(), tw.closed
		}
		if sg != nil {
			sgCh, sgClosed = sg.changedCh(), sg.closed
		}
		if msgs := AllMessages(tw, sg, to); len(msgs) > 0 {
			return msgs
		}
		select {
		case <-twCh:
		case <-sgCh:
		case <-t.C:
			return []Message{}
		case <-r.Context().Done():
			return []Message{}
		case <-twClosed:
			return []Message{}
		case <-sgClosed:
			return []Message{}
		}
	}
}
