package fakeprovider

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// TwilioMessage is one message the Twilio fake accepted.
type TwilioMessage struct {
	SID                 string    `json:"sid"`
	AccountSID          string    `json:"account_sid"` // from the URL path
	Username            string    `json:"username"`    // basic auth user
	To                  string    `json:"to"`          // as sent, e.g. "whatsapp:+1555…"
	From                string    `json:"from"`
	MessagingServiceSID string    `json:"messaging_service_sid,omitempty"`
	Body                string    `json:"body"`
	StatusCallback      string    `json:"status_callback,omitempty"`
	Status              string    `json:"status"`
	ReceivedAt          time.Time `json:"received_at"`
	seq                 int64
}

// Twilio is a fake of Twilio's Programmable Messaging API.
type Twilio struct {
	*server
	msgs      []TwilioMessage
	authSID   string
	authToken string
}

// NewTwilio starts a fake Twilio API. Close it when done.
func NewTwilio(opts ...Option) *Twilio {
	t := &Twilio{}
	t.server = newServer(http.HandlerFunc(t.serveAPI), opts)
	return t
}

// RequireAuth makes the fake answer 401 (code 20003) unless basic auth is
// exactly accountSID:authToken, and 404 (code 20404) for another account's
// path. Without it any non-empty basic auth is accepted.
func (t *Twilio) RequireAuth(accountSID, authToken string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.authSID, t.authToken = accountSID, authToken
}

// FailNext makes the next n requests answer status with a Twilio error JSON
// carrying twilioCode (0 leaves the code out).
func (t *Twilio) FailNext(n, status, twilioCode int) {
	t.FailNextWith(n, Failure{Status: status, TwilioCode: twilioCode})
}

// Messages returns a copy of the accepted messages, oldest first.
func (t *Twilio) Messages() []TwilioMessage {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]TwilioMessage(nil), t.msgs...)
}

// WaitFor waits up to timeout until a message to `to` was accepted and
// returns the newest one. `to` matches with or without the "whatsapp:"
// prefix.
func (t *Twilio) WaitFor(to string, timeout time.Duration) (TwilioMessage, error) {
	var m TwilioMessage
	ok := t.wait(timeout, func() bool {
		for i := len(t.msgs) - 1; i >= 0; i-- {
			if matchPhone(t.msgs[i].To, to) {
				m = t.msgs[i]
				return true
			}
		}
		return false
	})
	if !ok {
		return TwilioMessage{}, fmt.Errorf("fakeprovider: no Twilio message to %q within %s", to, timeout)
	}
	return m, nil
}

// Reset forgets recorded messages and queued failures and zeroes Requests.
func (t *Twilio) Reset() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.msgs = nil
	t.resetLocked()
}

func matchPhone(got, want string) bool {
	return got == want || strings.TrimPrefix(got, "whatsapp:") == strings.TrimPrefix(want, "whatsapp:")
}

var (
	messagesPath = regexp.MustCompile(`^/2010-04-01/Accounts/([^/]+)/Messages\.json$`)
	messagePath  = regexp.MustCompile(`^/2010-04-01/Accounts/([^/]+)/Messages/([^/]+)\.json$`)
	e164         = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
)

// Twilio's magic test "To" numbers and the errors they trigger.
var magicTo = map[string]int{
	"+15005550001": 21211,
	"+15005550002": 21612,
	"+15005550003": 21408,
	"+15005550004": 21610,
	"+15005550009": 21614,
}

var twilioMessages = map[int]string{
	20003: "Authenticate",
	20404: "The requested resource was not found",
	20429: "Too Many Requests",
	20500: "An internal server error has occurred",
	20503: "Service is unavailable. Please try again",
	21211: "Invalid 'To' Phone Number",
	21408: "Permission to send an SMS has not been enabled for the region indicated by the 'To' number",
	21602: "Message body is required.",
	21603: "A 'From' phone number is required.",
	21604: "A 'To' phone number is required.",
	21610: "Attempt to send to unsubscribed recipient",
	21612: "The 'To' phone number is not currently reachable via SMS",
	21614: "'To' number is not a valid mobile number",
	21617: "The concatenated message body exceeds the 1600 character limit.",
	21910: "Invalid From and To pair. From and To should be of the same channel",
}

func writeTwilioError(w http.ResponseWriter, status, code int) {
	msg := twilioMessages[code]
	if msg == "" {
		msg = http.StatusText(status)
	}
	body := map[string]any{"message": msg, "status": status}
	if code != 0 {
		body["code"] = code
		body["more_info"] = "https://www.twilio.com/docs/errors/" + strconv.Itoa(code)
	}
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeFailure(w http.ResponseWriter, f *Failure, providerError func()) {
	for k, vs := range f.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	if f.Body != "" {
		ct := f.ContentType
		if ct == "" {
			ct = "text/html; charset=utf-8"
		}
		w.Header().Set("Content-Type", ct)
		w.WriteHeader(f.Status)
		_, _ = w.Write([]byte(f.Body))
		return
	}
	providerError()
}

func (t *Twilio) serveAPI(w http.ResponseWriter, r *http.Request) {
	f, ok := t.begin(r)
	if !ok {
		return
	}
	if f != nil {
		writeFailure(w, f, func() { writeTwilioError(w, f.Status, f.TwilioCode) })
		return
	}

	user, pass, hasAuth := r.BasicAuth()
	t.mu.Lock()
	wantSID, wantToken := t.authSID, t.authToken
	t.mu.Unlock()
	if !hasAuth || user == "" || pass == "" || (wantSID != "" && (user != wantSID || pass != wantToken)) {
		w.Header().Set("WWW-Authenticate", `Basic realm="Twilio API"`)
		writeTwilioError(w, http.StatusUnauthorized, 20003)
		return
	}

	if m := messagePath.FindStringSubmatch(r.URL.Path); m != nil && r.Method == http.MethodGet {
		t.fetch(w, m[1], m[2])
		return
	}
	m := messagesPath.FindStringSubmatch(r.URL.Path)
	if m == nil {
		writeTwilioError(w, http.StatusNotFound, 20404)
		return
	}
	if r.Method != http.MethodPost {
		writeTwilioError(w, http.StatusMethodNotAllowed, 0)
		return
	}
	account := m[1]
	if wantSID != "" && account != wantSID {
		writeTwilioError(w, http.StatusNotFound, 20404)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	if err := r.ParseForm(); err != nil {
		writeTwilioError(w, http.StatusBadRequest, 0)
		return
	}
	to, from := r.PostForm.Get("To"), r.PostForm.Get("From")
	mss, body := r.PostForm.Get("MessagingServiceSid"), r.PostForm.Get("Body")
	bareTo := strings.TrimPrefix(to, "whatsapp:")
	code := 0
	switch {
	case to == "":
		code = 21604
	case from == "" && mss == "":
		code = 21603
	case body == "" && r.PostForm.Get("ContentSid") == "" && len(r.PostForm["MediaUrl"]) == 0:
		code = 21602
	case !e164.MatchString(bareTo):
		code = 21211
	case magicTo[bareTo] != 0:
		code = magicTo[bareTo]
	case from != "" && strings.HasPrefix(to, "whatsapp:") != strings.HasPrefix(from, "whatsapp:"):
		code = 21910
	case utf8.RuneCountInString(body) > 1600:
		code = 21617
	}
	if code != 0 {
		writeTwilioError(w, http.StatusBadRequest, code)
		return
	}

	status := "queued"
	if from == "" {
		status = "accepted"
	}
	now := time.Now().UTC()
	msg := TwilioMessage{
		SID:                 "SM" + randomHex(16),
		AccountSID:          account,
		Username:            user,
		To:                  to,
		From:                from,
		MessagingServiceSID: mss,
		Body:                body,
		StatusCallback:      r.PostForm.Get("StatusCallback"),
		Status:              status,
		ReceivedAt:          now,
	}
	t.mu.Lock()
	t.seq++
	msg.seq = t.seq
	t.msgs = append(t.msgs, msg)
	t.notifyLocked()
	t.mu.Unlock()

	writeJSON(w, http.StatusCreated, twilioResource(msg))
}

func (t *Twilio) fetch(w http.ResponseWriter, account, sid string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, m := range t.msgs {
		if m.SID == sid && m.AccountSID == account {
			writeJSON(w, http.StatusOK, twilioResource(m))
			return
		}
	}
	writeTwilioError(w, http.StatusNotFound, 20404)
}

// twilioResource is the Message resource JSON the real API returns.
func twilioResource(m TwilioMessage) map[string]any {
	uri := "/2010-04-01/Accounts/" + m.AccountSID + "/Messages/" + m.SID
	date := m.ReceivedAt.Format(time.RFC1123Z)
	var mss any
	if m.MessagingServiceSID != "" {
		mss = m.MessagingServiceSID
	}
	var from any
	if m.From != "" {
		from = m.From
	}
	segments := "1"
	if m.From == "" {
		segments = "0" // no sender assigned yet
	}
	return map[string]any{
		"account_sid":           m.AccountSID,
		"api_version":           "2010-04-01",
		"body":                  m.Body,
		"date_created":          date,
		"date_sent":             nil,
		"date_updated":          date,
		"direction":             "outbound-api",
		"error_code":            nil,
		"error_message":         nil,
		"from":                  from,
		"messaging_service_sid": mss,
		"num_media":             "0",
		"num_segments":          segments,
		"price":                 nil,
		"price_unit":            "USD",
		"sid":                   m.SID,
		"status":                m.Status,
		"subresource_uris":      map[string]any{"media": uri + "/Media.json"},
		"to":                    m.To,
		"uri":                   uri + ".json",
	}
}
