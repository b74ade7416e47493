package operator

import (
	"net/http"
	"strconv"
	"time"

	"github.com/sesame-auth/sesame/internal/api/httpx"
	"github.com/sesame-auth/sesame/internal/auth"
)

// The SMS-pumping guard's records: GET /v1/pumping lists the project's
// throttled and blocked subjects (?all=true: every subject with a record;
// ?limit=1..1000, default 100) and POST /v1/pumping/lift with
// {"kind":"prefix"|"country","subject":"+447400"} sets one back to ok.
// Subjects are number prefixes and country calling codes, never numbers.

type guard struct {
	Kind         string     `json:"kind"`
	Subject      string     `json:"subject"`
	Region       string     `json:"region"`
	State        string     `json:"state"`
	Sent         int        `json:"sent"`
	Verified     int        `json:"verified"`
	Since        time.Time  `json:"since"`
	ChangedAt    *time.Time `json:"changed_at"`
	BlockedUntil *time.Time `json:"blocked_until"`
	LiftedAt     *time.Time `json:"lifted_at"`
	UpdatedAt    time.Time  `json:"updated_at"`
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func guardJSON(g *auth.SMSGuard) guard {
	return guard{Kind: g.Kind, Subject: g.Subject, Region: g.Region, State: string(g.State), Sent: g.Sent, Verified: g.Verified,
		Since: g.Since.UTC(), ChangedAt: utcPtr(g.ChangedAt), BlockedUntil: utcPtr(g.BlockedUntil), LiftedAt: utcPtr(g.LiftedAt), UpdatedAt: g.UpdatedAt.UTC()}
}

func (h *handler) listGuards(w http.ResponseWriter, r *http.Request) {
	p, err := h.project(r)
	if err != nil {
		h.fail(w, err)
		return
	}
	var f auth.GuardFilter
	q := r.URL.Query()
	if a := q.Get("all"); a != "" {
		if f.All, err = strconv.ParseBool(a); err != nil {
			h.fail(w, auth.Invalid("all", "all must be true or false."))
			return
		}
	}
	if l := q.Get("limit"); l != "" {
		if f.Limit, err = strconv.Atoi(l); err != nil || f.Limit < 1 {
			h.fail(w, auth.Invalid("limit", "limit must be a number between 1 and 1000."))
			return
		}
	}
	list, err := h.svc.ListSMSGuards(r.Context(), p, f)
	if err != nil {
		h.fail(w, err)
		return
	}
	out := make([]guard, 0, len(list))
	for _, g := range list {
		out = append(out, guardJSON(g))
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"status_code": 200, "guards": out})
}

func (h *handler) liftGuard(w http.ResponseWriter, r *http.Request) {
	p, err := h.project(r)
	if err != nil {
		h.fail(w, err)
		return
	}
	var in struct {
		Kind    string `json:"kind"`
		Subject string `json:"subject"`
	}
	if err := httpx.DecodeJSON(r, &in); err != nil {
		h.fail(w, err)
		return
	}
	g, err := h.svc.LiftSMSGuard(r.Context(), p, in.Kind, in.Subject)
	if err != nil {
		h.fail(w, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"status_code": 200, "guard": guardJSON(g)})
}
