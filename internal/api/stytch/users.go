package stytch

import (
	"encoding/json"
	"net/http"

	"github.com/sesame-auth/sesame/internal/api/httpx"
	"github.com/sesame-auth/sesame/internal/auth"
	"github.com/sesame-auth/sesame/internal/jwt"
)

// metadata returns a metadata field for the service: nil when absent or
// null (unchanged / empty), else the raw JSON (the service checks it is an
// object).
func metadata(raw json.RawMessage) json.RawMessage {
	if absent(raw) {
		return nil
	}
	return raw
}

// checkRoles accepts only the built-in role: Sesame has no custom roles,
// and silently dropping a requested role would hide it from the caller.
func checkRoles(roles []string) error {
	for _, r := range roles {
		if r != jwt.StytchUserRole {
			return auth.Invalid("roles", "Unknown role %q: only %q is supported.", r, jwt.StytchUserRole)
		}
	}
	return nil
}

type createUserRequest struct {
	Email               string          `json:"email"`
	PhoneNumber         string          `json:"phone_number"`
	Name                *auth.Name      `json:"name"`
	Attributes          *attributesJSON `json:"attributes"`
	CreateUserAsPending bool            `json:"create_user_as_pending"`
	TrustedMetadata     json.RawMessage `json:"trusted_metadata"`
	UntrustedMetadata   json.RawMessage `json:"untrusted_metadata"`
	ExternalID          string          `json:"external_id"`
	Roles               []string        `json:"roles"`
}

type createUserResponse struct {
	meta
	UserID  string   `json:"user_id"`
	EmailID string   `json:"email_id"`
	Status  string   `json:"status"`
	PhoneID string   `json:"phone_id"`
	User    userJSON `json:"user"`
}

// POST /v1/users
func (h *handler) createUser(r *http.Request, p *auth.Project) (response, error) {
	var req createUserRequest
	if err := httpx.DecodeJSON(r, &req); err != nil {
		return nil, err
	}
	if err := checkRoles(req.Roles); err != nil {
		return nil, err
	}
	in := auth.CreateUserInput{
		Email: req.Email, Phone: req.PhoneNumber, Pending: req.CreateUserAsPending, ExternalID: req.ExternalID,
		TrustedMetadata: metadata(req.TrustedMetadata), UntrustedMetadata: metadata(req.UntrustedMetadata),
	}
	if req.Name != nil {
		in.Name = *req.Name
	}
	u, err := h.svc.CreateUser(r.Context(), p, in)
	if err != nil {
		return nil, err
	}
	resp := &createUserResponse{UserID: u.ID, Status: string(u.Status), User: newUserJSON(u)}
	if len(u.Emails) > 0 {
		resp.EmailID = u.Emails[0].ID
	}
	if len(u.Phones) > 0 {
		resp.PhoneID = u.Phones[0].ID
	}
	return resp, nil
}

// getUserResponse is the flattened user: every User field at the top level.
type getUserResponse struct {
	meta
	userJSON
}

// GET /v1/users/{user_id}
func (h *handler) getUser(r *http.Request, p *auth.Project) (response, error) {
	u, err := h.svc.GetUser(r.Context(), p, r.PathValue("user_id"))
	if err != nil {
		return nil, err
	}
	return &getUserResponse{userJSON: newUserJSON(u)}, nil
}

type updateUserRequest struct {
	Name              *auth.Name      `json:"name"`
	Attributes        *attributesJSON `json:"attributes"`
	TrustedMetadata   json.RawMessage `json:"trusted_metadata"`
	UntrustedMetadata json.RawMessage `json:"untrusted_metadata"`
	ExternalID        *string         `json:"external_id"`
	Roles             []string        `json:"roles"`
	// Emails and PhoneNumbers (Stytch's older update API) attach new,
	// unverified methods.
	Emails []struct {
		Email string `json:"email"`
	} `json:"emails"`
	PhoneNumbers []struct {
		PhoneNumber string `json:"phone_number"`
	} `json:"phone_numbers"`
}

type updateUserResponse struct {
	meta
	UserID        string      `json:"user_id"`
	Emails        []emailJSON `json:"emails"`
	PhoneNumbers  []phoneJSON `json:"phone_numbers"`
	CryptoWallets none        `json:"crypto_wallets"`
	User          userJSON    `json:"user"`
}

// PUT /v1/users/{user_id}. A given name replaces the whole name.
func (h *handler) updateUser(r *http.Request, p *auth.Project) (response, error) {
	var req updateUserRequest
	if err := httpx.DecodeJSON(r, &req); err != nil {
		return nil, err
	}
	if err := checkRoles(req.Roles); err != nil {
		return nil, err
	}
	in := auth.UpdateUserInput{
		Name: req.Name, ExternalID: req.ExternalID,
		TrustedMetadata: metadata(req.TrustedMetadata), UntrustedMetadata: metadata(req.UntrustedMetadata),
	}
	for _, e := range req.Emails {
		in.AddEmails = append(in.AddEmails, e.Email)
	}
	for _, ph := range req.PhoneNumbers {
		in.AddPhones = append(in.AddPhones, ph.PhoneNumber)
	}
	u, err := h.svc.UpdateUser(r.Context(), p, r.PathValue("user_id"), in)
	if err != nil {
		return nil, err
	}
	uj := newUserJSON(u)
	return &updateUserResponse{UserID: u.ID, Emails: uj.Emails, PhoneNumbers: uj.PhoneNumbers, CryptoWallets: none{}, User: uj}, nil
}

type userIDResponse struct {
	meta
	UserID string `json:"user_id"`
}

// DELETE /v1/users/{user_id}
func (h *handler) deleteUser(r *http.Request, p *auth.Project) (response, error) {
	id := r.PathValue("user_id")
	if err := h.svc.DeleteUser(r.Context(), p, id); err != nil {
		return nil, err
	}
	return &userIDResponse{UserID: id}, nil
}

type userResponse struct {
	meta
	UserID string   `json:"user_id"`
	User   userJSON `json:"user"`
}

// DELETE /v1/users/emails/{email_id}
func (h *handler) deleteEmail(r *http.Request, p *auth.Project) (response, error) {
	u, err := h.svc.DeleteEmail(r.Context(), p, r.PathValue("email_id"))
	if err != nil {
		return nil, err
	}
	return &userResponse{UserID: u.ID, User: newUserJSON(u)}, nil
}

// DELETE /v1/users/phone_numbers/{phone_id}
func (h *handler) deletePhone(r *http.Request, p *auth.Project) (response, error) {
	u, err := h.svc.DeletePhone(r.Context(), p, r.PathValue("phone_id"))
	if err != nil {
		return nil, err
	}
	return &userResponse{UserID: u.ID, User: newUserJSON(u)}, nil
}
