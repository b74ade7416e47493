package fakeprovider

import (
	"encoding/json"
	"io"
	"net/http"
	"time"

	"github.com/sesame-auth/sesame/internal/smshook"
)

// WebhookMessage is one message the fake SMS gateway accepted.
type WebhookMessage struct {
	ID             string // the gateway id it answered ("GW…")
	IdempotencyKey string
	smshook.Payload
	ReceivedAt time.Time
}

// Webhook is a fake of an operator's signed-HTTP SMS gateway
// (SMS_PROVIDER=webhook): it checks X-Sesame-Signature with the shared
// secret (401 when wrong or older than 5 minutes), records the message and
// answers 200 {"id":"GW…"}. Failures and latency work as for the other
// fakes (FailNextWith, SetLatency).
type Webhook struct {
	*server
	secret []byte
	msgs   []WebhookMessage
}

// NewWebhook starts a fake gateway verifying with secret. Close it when done.
func NewWebhook(secret string, opts ...Option) *Webhook {
	wh := &Webhook{secret: []byte(secret)}
	wh.server = newServer(http.HandlerFunc(wh.serveAPI), opts)
	return wh
}

// Messages returns a copy of the accepted messages, oldest first.
func (wh *Webhook) Messages() []WebhookMessage {
	wh.mu.Lock()
	defer wh.mu.Unlock()
	return append([]WebhookMessage(nil), wh.msgs...)
}

func (wh *Webhook) serveAPI(w http.ResponseWriter, r *http.Request) {
	f, ok := wh.begin(r)
	if !ok {
		return
	}
	if f != nil {
		writeFailure(w, f, func() { writeJSON(w, f.Status, map[string]string{"error": http.StatusText(f.Status)}) })
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil || r.Method != http.MethodPost {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "bad request"})
		return
	}
	if smshook.Verify(wh.secret, r.Header.Get(smshook.TimestampHeader), r.Header.Get(smshook.SignatureHeader), body, time.Now(), 5*time.Minute) != nil {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "bad signature"})
		return
	}
	var p smshook.Payload
	if err := json.Unmarshal(body, &p); err != nil || p.To == "" || p.Text == "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "to and text are required"})
		return
	}
	m := WebhookMessage{ID: "GW" + randomHex(16), IdempotencyKey: r.Header.Get("Idempotency-Key"), Payload: p, ReceivedAt: time.Now()}
	wh.mu.Lock()
	wh.msgs = append(wh.msgs, m)
	wh.notifyLocked()
	wh.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]string{"id": m.ID})
}
