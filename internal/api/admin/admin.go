// Package admin serves the project management API under /v1/admin/...,
// guarded by the admin credential (ADMIN_API_KEY, sent as
// "Authorization: Bearer <key>"). No project secret is accepted here and
// the admin key is no project secret. Every answer is JSON; errors are
// {"status_code", "error_type", "error_message", "field"}.
//
//	POST   /v1/admin/projects                          create (name, environment, settings) → project + one-time secret
//	GET    /v1/admin/projects                          list
//	GET    /v1/admin/projects/{project_id}             get
//	PATCH  /v1/admin/projects/{project_id}             update name and/or settings (settings replace as a whole)
//	DELETE /v1/admin/projects/{project_id}             delete with all its data
//	POST   /v1/admin/projects/{project_id}/secrets     new secret (shown once)
//	GET    /v1/admin/projects/{project_id}/secrets     list (ids, times; never a secret)
//	DELETE /v1/admin/projects/{project_id}/secrets/{secret_id}  revoke
package admin

import (
	"errors"
	"log/slog"
	"net/http"
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

// NewHandler returns the admin API. It refuses every request until
// svc.SetAdminKey has set a key.
func NewHandler(svc *auth.Service, opts Options) http.Handler {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &handler{svc: svc, log: log}
	rt := httpx.NewRouter()
	rt.HandleFunc("POST /v1/admin/projects", h.guard(h.create))
	rt.HandleFunc("GET /v1/admin/projects", h.guard(h.list))
	rt.HandleFunc("GET /v1/admin/projects/{project_id}", h.guard(h.get))
	rt.HandleFunc("PATCH /v1/admin/projects/{project_id}", h.guard(h.update))
	rt.HandleFunc("DELETE /v1/admin/projects/{project_id}", h.guard(h.delete))
	rt.HandleFunc("POST /v1/admin/projects/{project_id}/secrets", h.guard(h.createSecret))
	rt.HandleFunc("GET /v1/admin/projects/{project_id}/secrets", h.guard(h.listSecrets))
	rt.HandleFunc("DELETE /v1/admin/projects/{project_id}/secrets/{secret_id}", h.guard(h.revokeSecret))
	rt.RefuseBadURLs(func(w http.ResponseWriter, _ *http.Request, err error) { h.fail(w, err) })
	return rt.Handler(func(w http.ResponseWriter, r *http.Request, status int) {
		typ := "not_found"
		if status == http.StatusMethodNotAllowed {
			typ = "method_not_allowed"
		}
		httpx.WriteJSON(w, status, errorBody{StatusCode: status, ErrorType: typ, ErrorMessage: http.StatusText(status) + "."})
	})
}

type handler struct {
	svc *auth.Service
	log *slog.Logger
}

type errorBody struct {
	StatusCode   int    `json:"status_code"`
	ErrorType    string `json:"error_type"`
	ErrorMessage string `json:"error_message"`
	Field        string `json:"field,omitempty"`
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
		h.log.Error("admin api", "err", err)
	}
	body := errorBody{StatusCode: status, ErrorType: string(code), ErrorMessage: auth.ErrorMessage(err)}
	if ae := (*auth.Error)(nil); errors.As(err, &ae) && status != http.StatusInternalServerError {
		body.Field = ae.Field
	}
	httpx.WriteJSON(w, status, body)
}

// guard admits only the admin key, as "Authorization: Bearer <key>".
func (h *handler) guard(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		key, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok {
			h.fail(w, auth.Errorf(auth.EUnauthorized, "Missing admin credentials: use Authorization: Bearer <ADMIN_API_KEY>."))
			return
		}
		if err := h.svc.AuthenticateAdmin(strings.TrimSpace(key)); err != nil {
			h.fail(w, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		next(w, r)
	}
}

// Project is a project as the admin API and the CLI show it.
type Project struct {
	ProjectID   string        `json:"project_id"`
	Name        string        `json:"name"`
	Environment string        `json:"environment"`
	Settings    auth.Settings `json:"settings"`
	CreatedAt   time.Time     `json:"created_at"`
	UpdatedAt   time.Time     `json:"updated_at"`
}

// Secret describes a project secret; Secret is set only when it is new.
type Secret struct {
	SecretID   string     `json:"secret_id"`
	ProjectID  string     `json:"project_id"`
	Secret     string     `json:"secret,omitempty"`
	Bootstrap  bool       `json:"bootstrap"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
}

// CreatedProject is the answer to a create: the project, its first
// secret's id and the secret itself (shown once).
type CreatedProject struct {
	Project
	SecretID string `json:"secret_id"`
	Secret   string `json:"secret"`
}

// ToProject converts a project for output.
func ToProject(p *auth.ProjectInfo) Project {
	return Project{ProjectID: p.ID, Name: p.Name, Environment: p.Environment, Settings: p.Settings, CreatedAt: p.CreatedAt.UTC(), UpdatedAt: p.UpdatedAt.UTC()}
}

// ToSecret converts a secret description for output ("" secret: not shown).
func ToSecret(s *auth.ProjectSecret, secret string) Secret {
	out := Secret{SecretID: s.ID, ProjectID: s.ProjectID, Secret: secret, Bootstrap: s.Bootstrap, CreatedAt: s.CreatedAt.UTC(), LastUsedAt: s.LastUsedAt}
	if out.LastUsedAt != nil {
		t := out.LastUsedAt.UTC()
		out.LastUsedAt = &t
	}
	return out
}

type createRequest struct {
	Name        string         `json:"name"`
	Environment string         `json:"environment"`
	Settings    *auth.Settings `json:"settings"`
}

func (h *handler) create(w http.ResponseWriter, r *http.Request) {
	var req createRequest
	if err := httpx.DecodeJSON(r, &req); err != nil {
		h.fail(w, err)
		return
	}
	p, sec, secret, err := h.svc.CreateProject(r.Context(), auth.CreateProjectInput{Name: req.Name, Environment: req.Environment, Settings: req.Settings})
	if err != nil {
		h.fail(w, err)
		return
	}
	httpx.WriteJSON(w, http.StatusCreated, CreatedProject{Project: ToProject(p), SecretID: sec.ID, Secret: secret})
}

func (h *handler) list(w http.ResponseWriter, r *http.Request) {
	ps, err := h.svc.ListProjects(r.Context())
	if err != nil {
		h.fail(w, err)
		return
	}
	out := make([]Project, 0, len(ps))
	for _, p := range ps {
		out = append(out, ToProject(p))
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"projects": out})
}

func (h *handler) get(w http.ResponseWriter, r *http.Request) {
	p, err := h.svc.GetProject(r.Context(), r.PathValue("project_id"))
	if err != nil {
		h.fail(w, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, ToProject(p))
}

type updateRequest struct {
	Name     *string        `json:"name"`
	Settings *auth.Settings `json:"settings"`
}

func (h *handler) update(w http.ResponseWriter, r *http.Request) {
	var req updateRequest
	if err := httpx.DecodeJSON(r, &req); err != nil {
		h.fail(w, err)
		return
	}
	p, err := h.svc.UpdateProject(r.Context(), r.PathValue("project_id"), auth.UpdateProjectInput{Name: req.Name, Settings: req.Settings})
	if err != nil {
		h.fail(w, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, ToProject(p))
}

func (h *handler) delete(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("project_id")
	if err := h.svc.DeleteProject(r.Context(), id); err != nil {
		h.fail(w, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"project_id": id, "deleted": true})
}

func (h *handler) createSecret(w http.ResponseWriter, r *http.Request) {
	sec, secret, err := h.svc.CreateProjectSecret(r.Context(), r.PathValue("project_id"))
	if err != nil {
		h.fail(w, err)
		return
	}
	httpx.WriteJSON(w, http.StatusCreated, ToSecret(sec, secret))
}

func (h *handler) listSecrets(w http.ResponseWriter, r *http.Request) {
	list, err := h.svc.ListProjectSecrets(r.Context(), r.PathValue("project_id"))
	if err != nil {
		h.fail(w, err)
		return
	}
	out := make([]Secret, 0, len(list))
	for _, s := range list {
		out = append(out, ToSecret(s, ""))
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"secrets": out})
}

func (h *handler) revokeSecret(w http.ResponseWriter, r *http.Request) {
	pid, sid := r.PathValue("project_id"), r.PathValue("secret_id")
	if err := h.svc.RevokeProjectSecret(r.Context(), pid, sid); err != nil {
		h.fail(w, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"project_id": pid, "secret_id": sid, "revoked": true})
}
