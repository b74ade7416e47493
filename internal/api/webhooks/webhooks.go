// Package webhooks receives delivery reports from the providers and records
// them on the message (auth.Service.RecordDeliveryStatus):
//
//   - POST /v1/webhooks/twilio: Twilio's message status callback (form
//     fields MessageSid, MessageStatus, ErrorCode), signed with the account's
//     auth token in X-Twilio-Signature. delivered → delivered; undelivered
//     and failed → undelivered ("twilio <ErrorCode>"); other statuses
//     (queued, sending, sent, ...) are acknowledged and ignored.
//   - POST /v1/webhooks/sendgrid: SendGrid's signed Event Webhook (a JSON
//     array of events), verified with the webhook's ECDSA public key.
//     delivered → delivered; bounce and dropped → undelivered ("sendgrid
//     <event>"); other events are ignored. An event names its message by
//     the custom arg message_id Sesame sets on every email, else by
//     sg_message_id, whose part before the first '.' is the X-Message-Id
//     Sesame stored as the provider id.
//
// A request without a valid signature gets 403 and changes nothing; so
// does a SendGrid batch whose signed timestamp is more than MaxEventAge
// (5 minutes) from now, and an event whose sg_event_id was already applied
// within that window is skipped (per process). Unknown paths and methods
// answer 404/405 in JSON. A
// report for a message Sesame does not know (another application on the
// same account, a message pruned after 30 days) is acknowledged with 200,
// since a retry cannot help, and counted in sesame_delivery_status_total
// with status "unknown". Only a storage failure answers 500, so that the
// provider retries; reports are idempotent.
//
// Provider ids are globally unique, so no project credential is involved:
// the provider's signature is the authentication. Nothing here logs a
// signature, token or message content.
package webhooks

import (
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sendgrid/sendgrid-go/helpers/eventwebhook"
	"github.com/twilio/twilio-go/client"

	"github.com/sesame-auth/sesame/internal/api/httpx"
	"github.com/sesame-auth/sesame/internal/auth"
)

// Body limits. Twilio posts a few hundred bytes; SendGrid batches events up
// to about 768 KB.
const (
	maxTwilioBody   = 64 << 10
	maxSendGridBody = 4 << 20
)

// Options configures the handler.
type Options struct {
	// PublicURL is the external base URL of the api as Twilio calls it
	// (PUBLIC_URL, e.g. https://auth.example.com), without a trailing
	// slash. Twilio signs the exact URL it posted to, so the signature is
	// checked against PublicURL + the request path (and query, if any).
	// Required for the Twilio route.
	PublicURL string
	// TwilioAuthToken is the auth token of the Twilio account
	// (TWILIO_AUTH_TOKEN) that signs status callbacks. Default empty,
	// which disables POST /v1/webhooks/twilio (404). Never logged.
	TwilioAuthToken string
	// SendGridVerificationKey is the Signed Event Webhook's verification
	// key as SendGrid shows it: a base64 DER (PKIX) ECDSA P-256 public key
	// (SENDGRID_WEBHOOK_VERIFICATION_KEY). Default empty, which disables
	// POST /v1/webhooks/sendgrid (404). An invalid key makes the route
	// answer 500; check it first with ParseVerificationKey.
	SendGridVerificationKey string
	// MaxEventAge is how far the signed timestamp of a SendGrid batch may
	// be from now, either way. An older batch is refused with 403, so a
	// captured batch cannot be replayed later. Default 5 minutes
	// (DefaultMaxEventAge).
	MaxEventAge time.Duration
	// Now returns the current time. Default time.Now.
	Now func() time.Time
	// Logger receives storage errors and a debug line per ignored report.
	// Default: discard.
	Logger *slog.Logger
}

// DefaultMaxEventAge is the default of Options.MaxEventAge.
const DefaultMaxEventAge = 5 * time.Minute

// maxSeenEvents bounds the memory of applied SendGrid event ids.
const maxSeenEvents = 100_000

// ParseVerificationKey parses a SendGrid Event Webhook verification key
// (base64 DER PKIX ECDSA public key). Unlike eventwebhook's converter, it
// returns an error instead of panicking on a key of another type.
func ParseVerificationKey(b64 string) (*ecdsa.PublicKey, error) {
	der, err := base64.StdEncoding.DecodeString(strings.TrimSpace(b64))
	if err != nil {
		return nil, errors.New("verification key is not base64")
	}
	pub, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, errors.New("verification key is not a DER public key")
	}
	k, ok := pub.(*ecdsa.PublicKey)
	if !ok {
		return nil, errors.New("verification key is not an ECDSA public key")
	}
	return k, nil
}

// NewHandler returns the webhook routes under /v1/webhooks/.
func NewHandler(svc *auth.Service, opts Options) http.Handler {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opts.MaxEventAge <= 0 {
		opts.MaxEventAge = DefaultMaxEventAge
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	h := &handler{svc: svc, log: log, publicURL: strings.TrimRight(opts.PublicURL, "/"),
		maxAge: opts.MaxEventAge, now: opts.Now, seen: map[string]time.Time{}}
	mux := httpx.NewRouter()
	if opts.TwilioAuthToken != "" {
		h.twilioValidator = client.NewRequestValidator(opts.TwilioAuthToken)
		mux.HandleFunc("POST /v1/webhooks/twilio", h.twilio)
	}
	if opts.SendGridVerificationKey != "" {
		k, err := ParseVerificationKey(opts.SendGridVerificationKey)
		if err != nil {
			log.Error("SendGrid event webhook disabled: invalid verification key", "err", err)
		}
		h.sendgridKey = k
		mux.HandleFunc("POST /v1/webhooks/sendgrid", h.sendgrid)
	}
	mux.LimitBody(max(maxTwilioBody, maxSendGridBody)) // each route caps its own body below
	mux.RefuseBadURLs(func(w http.ResponseWriter, _ *http.Request, err error) {
		if auth.ErrorCode(err) == auth.ETooLarge {
			writeStatus(w, http.StatusRequestEntityTooLarge)
			return
		}
		writeStatus(w, http.StatusBadRequest)
	})
	return mux.Handler(func(w http.ResponseWriter, _ *http.Request, status int) { writeStatus(w, status) })
}

type handler struct {
	svc             *auth.Service
	log             *slog.Logger
	publicURL       string
	twilioValidator client.RequestValidator
	sendgridKey     *ecdsa.PublicKey
	maxAge          time.Duration
	now             func() time.Time

	mu   sync.Mutex
	seen map[string]time.Time // sg_event_id → when applied (within maxAge)
}

// fresh reports whether a signed unix timestamp is within maxAge of now.
func (h *handler) fresh(ts string) bool {
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return false
	}
	d := h.now().Sub(time.Unix(sec, 0))
	return d <= h.maxAge && d >= -h.maxAge
}

// seenEvent reports whether an event id was applied within the replay
// window. Older ids are forgotten: a batch that old is refused anyway.
func (h *handler) seenEvent(id string) bool {
	if id == "" {
		return false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	at, ok := h.seen[id]
	return ok && h.now().Sub(at) <= 2*h.maxAge
}

// markEvent remembers an applied event id.
func (h *handler) markEvent(id string) {
	if id == "" {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	now := h.now()
	if len(h.seen) >= maxSeenEvents {
		for k, at := range h.seen {
			if now.Sub(at) > 2*h.maxAge {
				delete(h.seen, k)
			}
		}
		if len(h.seen) >= maxSeenEvents {
			clear(h.seen)
		}
	}
	h.seen[id] = now
}

// writeStatus answers with a small JSON body naming the status. Providers
// only look at the status; people and scanners get JSON like every other
// route.
func writeStatus(w http.ResponseWriter, status int) {
	httpx.WriteJSON(w, status, map[string]any{"status_code": status, "status": http.StatusText(status)})
}

// bodyError answers a body that could not be read: 413 beyond the limit,
// else 400.
func bodyError(w http.ResponseWriter, err error) {
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		writeStatus(w, http.StatusRequestEntityTooLarge)
		return
	}
	writeStatus(w, http.StatusBadRequest)
}

// record applies one report. It returns false only on a storage failure
// (the provider should retry); unknown messages and invalid ids are
// acknowledged.
func (h *handler) record(r *http.Request, provider, id string, status auth.MessageStatus, reason string) bool {
	err := h.svc.RecordDeliveryStatus(r.Context(), provider, id, status, reason)
	switch code := auth.ErrorCode(err); {
	case err == nil:
		return true
	case code == auth.ENotFound || code == auth.EInvalid:
		h.log.Debug("delivery report ignored", "provider", provider, "provider_id", safeID(id), "reason", code)
		return true
	default:
		h.log.Error("delivery report not recorded", "provider", provider, "err", err)
		return false
	}
}

// safeID bounds an id for logging (ids from a signed request, never secrets).
func safeID(id string) string {
	if len(id) > 64 {
		id = id[:64]
	}
	return strings.ToValidUTF8(id, "?")
}

// ---- Twilio ----

// twilioReport maps a status callback's form to a report; ok is false for a
// status that is not a final outcome (queued, sending, sent, ...).
func twilioReport(form map[string][]string) (sid string, status auth.MessageStatus, reason string, ok bool) {
	get := func(k string) string {
		if v := form[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	sid = get("MessageSid")
	switch ms := get("MessageStatus"); ms {
	case "delivered":
		return sid, auth.MessageDelivered, "", true
	case "undelivered", "failed":
		reason = "twilio " + ms
		if code := get("ErrorCode"); code != "" && len(code) <= 10 && strings.Trim(code, "0123456789") == "" {
			reason = "twilio " + code
		}
		return sid, auth.MessageUndelivered, reason, true
	default:
		return sid, "", "", false
	}
}

func (h *handler) twilio(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxTwilioBody)
	if err := r.ParseForm(); err != nil {
		bodyError(w, err)
		return
	}
	sig := r.Header.Get("X-Twilio-Signature")
	if sig == "" {
		writeStatus(w, http.StatusForbidden)
		return
	}
	params := make(map[string]string, len(r.PostForm))
	for k, v := range r.PostForm {
		params[k] = v[0]
	}
	if !h.twilioValidator.Validate(h.publicURL+r.URL.RequestURI(), params, sig) {
		writeStatus(w, http.StatusForbidden)
		return
	}
	if !cleanForm(r.PostForm) {
		writeStatus(w, http.StatusBadRequest) // NUL or invalid UTF-8: refused whole, nothing recorded
		return
	}
	sid, status, reason, ok := twilioReport(r.PostForm)
	if !ok {
		writeStatus(w, http.StatusOK)
		return
	}
	if sid == "" {
		writeStatus(w, http.StatusBadRequest)
		return
	}
	if !h.record(r, "twilio", sid, status, reason) {
		writeStatus(w, http.StatusInternalServerError)
		return
	}
	writeStatus(w, http.StatusOK)
}

// cleanForm reports whether every key and value of a form is valid UTF-8
// without NUL characters.
func cleanForm(form map[string][]string) bool {
	for k, vs := range form {
		if !httpx.CleanText(k) {
			return false
		}
		for _, v := range vs {
			if !httpx.CleanText(v) {
				return false
			}
		}
	}
	return true
}

// ---- SendGrid ----

// sendgridReport is one event that carries a final outcome.
type sendgridReport struct {
	eventID string // sg_event_id, unique per event; "" if absent
	id      string // Sesame's message id or SendGrid's X-Message-Id
	status  auth.MessageStatus
	reason  string
}

// sendgridReports parses an Event Webhook batch and keeps the events that
// carry a final outcome and name a message. A body that is not a JSON
// array is an error; events of an unexpected shape are skipped.
func sendgridReports(body []byte) ([]sendgridReport, error) {
	var events []map[string]json.RawMessage
	if err := json.Unmarshal(body, &events); err != nil {
		// Not an array of objects: retry leniently, one event at a time.
		var raw []json.RawMessage
		if err := json.Unmarshal(body, &raw); err != nil {
			return nil, err
		}
		events = make([]map[string]json.RawMessage, 0, len(raw))
		for _, e := range raw {
			var ev map[string]json.RawMessage
			if json.Unmarshal(e, &ev) == nil {
				events = append(events, ev)
			}
		}
	}
	str := func(ev map[string]json.RawMessage, k string) string {
		var s string
		if v, ok := ev[k]; ok && json.Unmarshal(v, &s) == nil {
			return s
		}
		return ""
	}
	var out []sendgridReport
	for _, ev := range events {
		var rep sendgridReport
		switch e := str(ev, "event"); e {
		case "delivered":
			rep.status = auth.MessageDelivered
		case "bounce", "dropped":
			rep.status, rep.reason = auth.MessageUndelivered, "sendgrid "+e
		default:
			continue
		}
		if id := str(ev, "message_id"); strings.HasPrefix(id, auth.PrefixMessage+"-") {
			rep.id = id
		} else {
			rep.id, _, _ = strings.Cut(str(ev, "sg_message_id"), ".")
		}
		rep.eventID = str(ev, "sg_event_id")
		if len(rep.eventID) > 128 {
			rep.eventID = ""
		}
		if rep.id != "" {
			out = append(out, rep)
		}
	}
	return out, nil
}

func (h *handler) sendgrid(w http.ResponseWriter, r *http.Request) {
	if h.sendgridKey == nil {
		writeStatus(w, http.StatusInternalServerError) // invalid key, logged by NewHandler
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxSendGridBody))
	if err != nil {
		bodyError(w, err)
		return
	}
	sig := r.Header.Get(eventwebhook.VerificationHTTPHeader)
	ts := r.Header.Get(eventwebhook.TimestampHTTPHeader)
	if sig == "" || ts == "" {
		writeStatus(w, http.StatusForbidden)
		return
	}
	if ok, err := eventwebhook.VerifySignature(h.sendgridKey, body, sig, ts); err != nil || !ok {
		writeStatus(w, http.StatusForbidden)
		return
	}
	if !h.fresh(ts) {
		// Signed, but long ago (or far ahead): a captured batch replayed.
		writeStatus(w, http.StatusForbidden)
		return
	}
	if httpx.CheckStrings(body) != nil {
		// NUL, invalid UTF-8 (json.Unmarshal would silently replace it),
		// lone surrogates or oversize strings: the whole batch is refused.
		writeStatus(w, http.StatusBadRequest)
		return
	}
	reports, err := sendgridReports(body)
	if err != nil {
		writeStatus(w, http.StatusBadRequest)
		return
	}
	failed := false
	for _, rep := range reports {
		if h.seenEvent(rep.eventID) {
			continue // a repeated event: applied already, not counted twice
		}
		if !h.record(r, "sendgrid", rep.id, rep.status, rep.reason) {
			failed = true
			continue
		}
		h.markEvent(rep.eventID)
	}
	if failed {
		// SendGrid retries the whole batch; reports already applied are
		// no-ops the second time.
		writeStatus(w, http.StatusInternalServerError)
		return
	}
	writeStatus(w, http.StatusOK)
}
