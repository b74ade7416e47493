// Package operator serves the project-scoped API operators use to watch
// and act on deliveries and abuse:
//   - messages: GET /v1/messages, GET /v1/messages/{message_id} and
//     POST /v1/messages/{message_id}/replay (delivery metadata only, never
//     a code or a link);
//   - the SMS-pumping guard (pumping.go): GET /v1/pumping lists throttled
//     and blocked number prefixes and calling codes, POST /v1/pumping/lift
//     sets one back to ok.
//
// It accepts either dialect's project credentials (Bearer secret or Basic
// project_id:secret), never the admin key, and answers in a neutral JSON
// shape ({"status_code", "error_type", "error_message"} for errors) with
// RFC 3339 timestamps. Bodies go through the shared strict decoder
// (httpx.DecodeJSON): trailing data, NUL, invalid UTF-8 and oversize
// strings are 400, a body over httpx.MaxBodyBytes 413; unknown paths and
// methods are 404/405, all in JSON.
package operator

import (
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sesame-auth/sesame/internal/api/httpx"
	"github.com/sesame-auth/sesame/internal/auth"
)

// Options configures the handler.
type Options struct {
	// Logger receives internal errors. Default: discard.
	Logger *slog.Logger
}

// NewHandler returns the operator message API.
func NewHandler(svc *auth.Service, opts Options) http.Handler {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &handler{svc: svc, log: log}
	rt := httpx.NewRouter()
	rt.HandleFunc("GET /v1/messages", h.list)
	rt.HandleFunc("GET /v1/messages/{message_id}", h.get)
	rt.HandleFunc("POST /v1/messages/{message_id}/replay", h.replay)
	rt.HandleFunc("GET /v1/pumping", h.listGuards)
	rt.HandleFunc("POST /v1/pumping/lift", h.liftGuard)
	rt.RefuseBadURLs(func(w http.ResponseWriter, _ *http.Request, err error) { h.fail(w, err) })
	return rt.Handler(func(w http.ResponseWriter, r *http.Request, status int) {
		typ := "not_found"
		if status == http.StatusMethodNotAllowed {
			typ = "method_not_allowed"
		}
		httpx.WriteJSON(w, status, map[string]any{"status_code": status, "error_type": typ, "error_message": http.StatusText(status) + "."})
	})
}

type handler struct {
	svc *auth.Service
	log *slog.Logger
}

var statusByCode = map[auth.Code]int{
	auth.EUnauthorized: http.StatusUnauthorized,
	auth.EInvalid:      http.StatusBadRequest,
	auth.ETooLarge:     http.StatusRequestEntityTooLarge,
	auth.ENotFound:     http.StatusNotFound,
	auth.EConflict:     http.StatusConflict,
	auth.EUnavailable:  http.StatusServiceUnavailable,
}

func (h *handler) fail(w http.ResponseWriter, err error) {
	code := auth.ErrorCode(err)
	status, ok := statusByCode[code]
	if !ok {
		status = http.StatusInternalServerError
		code = auth.EInternal
		h.log.Error("operator api", "err", err)
	}
	httpx.WriteJSON(w, status, map[string]any{"status_code": status, "error_type": string(code), "error_message": auth.ErrorMessage(err)})
}

func (h *handler) project(r *http.Request) (*auth.Project, error) {
	a := r.Header.Get("Authorization")
	if id, secret, ok := r.BasicAuth(); ok {
		return h.svc.AuthenticateBasic(r.Context(), id, secret)
	}
	if t, ok := strings.CutPrefix(a, "Bearer "); ok {
		return h.svc.AuthenticateBearer(r.Context(), strings.TrimSpace(t))
	}
	return nil, auth.Errorf(auth.EUnauthorized, "Missing credentials: use Bearer <secret> or Basic project_id:secret.")
}

type message struct {
	MessageID   string     `json:"message_id"`
	Kind        string     `json:"kind"`
	Channel     string     `json:"channel"`
	Recipient   string     `json:"recipient"`
	Status      string     `json:"status"`
	ProviderID  string     `json:"provider_id"`
	Attempts    int        `json:"attempts"`
	LastError   string     `json:"last_error"`
	ChallengeID string     `json:"challenge_id"`
	ExpiresAt   time.Time  `json:"expires_at"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
	SentAt      *time.Time `json:"sent_at"`
	DeliveredAt *time.Time `json:"delivered_at"`
	// Provider accepted the message; ProvidersTried lists every attempt's
	// provider in order (SMS routes and failover).
	Provider       string   `json:"provider"`
	ProvidersTried []string `json:"providers_tried"`
}

func toJSON(m *auth.Message) message {
	return message{MessageID: m.ID, Kind: string(m.Kind), Channel: string(m.Channel), Recipient: m.Recipient,
		Status: string(m.Status), ProviderID: m.ProviderID, Attempts: m.Attempts, LastError: m.LastError,
		ChallengeID: m.ChallengeID, ExpiresAt: m.ExpiresAt.UTC(), CreatedAt: m.CreatedAt.UTC(), UpdatedAt: m.UpdatedAt.UTC(), SentAt: m.SentAt, DeliveredAt: m.DeliveredAt,
		Provider: m.Provider, ProvidersTried: m.ProvidersTried}
}

func (h *handler) list(w http.ResponseWriter, r *http.Request) {
	p, err := h.project(r)
	if err != nil {
		h.fail(w, err)
		return
	}
	f := auth.MessageFilter{Status: auth.MessageStatus(r.URL.Query().Get("status"))}
	switch f.Status {
	case "", auth.MessageQueued, auth.MessagePublished, auth.MessageSending, auth.MessageRetrying, auth.MessageSent, auth.MessageDelivered, auth.MessageUndelivered, auth.MessageFailed, auth.MessageSkipped:
	default:
		h.fail(w, auth.Invalid("status", "status must be one of queued, published, sending, retrying, sent, delivered, undelivered, failed, skipped."))
		return
	}
	if l := r.URL.Query().Get("limit"); l != "" {
		if f.Limit, err = strconv.Atoi(l); err != nil {
			h.fail(w, auth.Invalid("limit", "limit must be a number between 1 and 1000."))
			return
		}
	}
	list, err := h.svc.ListMessages(r.Context(), p, f)
	if err != nil {
		h.fail(w, err)
		return
	}
	out := make([]message, 0, len(list))
	for _, m := range list {
		out = append(out, toJSON(m))
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"status_code": 200, "messages": out})
}

func (h *handler) get(w http.ResponseWriter, r *http.Request) {
	p, err := h.project(r)
	if err != nil {
		h.fail(w, err)
		return
	}
	m, err := h.svc.GetMessage(r.Context(), p, r.PathValue("message_id"))
	if err != nil {
		h.fail(w, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"status_code": 200, "message": toJSON(m)})
}

func (h *handler) replay(w http.ResponseWriter, r *http.Request) {
	p, err := h.project(r)
	if err != nil {
		h.fail(w, err)
		return
	}
	if err := h.svc.ReplayMessage(r.Context(), p, r.PathValue("message_id")); err != nil {
		h.fail(w, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"status_code": 200, "message_id": r.PathValue("message_id"), "status": string(auth.MessageQueued)})
}
