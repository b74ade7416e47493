package streambird

import (
	"net/http"

	"github.com/sesame-auth/sesame/internal/auth"
)

type magicLinkRequest struct {
	Email                   string             `json:"email"`
	LoginRedirectURL        string             `json:"login_redirect_url"`
	RegistrationRedirectURL string             `json:"registration_redirect_url"`
	LoginExpiresIn          optInt             `json:"login_expires_in"`
	RegistrationExpiresIn   optInt             `json:"registration_expires_in"`
	RequiresVerification    *bool              `json:"requires_verification"`
	RequiesVerification     *bool              `json:"requies_verification"`
	DeviceFingerprint       *deviceFingerprint `json:"device_fingerprint"`
}

type magicLinkResponse struct {
	UserID      string `json:"user_id"`
	Status      string `json:"status"`
	UserCreated bool   `json:"user_created"`
	UpdatedAt   int64  `json:"updated_at"`
	CreatedAt   int64  `json:"created_at"`
	EmailID     string `json:"email_id"`
}

func (h *handler) magicLinkLoginOrCreate(w http.ResponseWriter, r *http.Request, p *auth.Project) error {
	var req magicLinkRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if err := required("email", req.Email); err != nil {
		return err
	}
	in := auth.SendMagicLinkInput{Email: req.Email, LoginOrCreate: true, CreatePending: pending(req.RequiresVerification, req.RequiesVerification)}
	var err error
	if in.LoginURL, err = redirectURL("login_redirect_url", req.LoginRedirectURL); err != nil {
		return err
	}
	if in.SignupURL, err = redirectURL("registration_redirect_url", req.RegistrationRedirectURL); err != nil {
		return err
	}
	if in.LoginExpiration, err = req.LoginExpiresIn.minutes(auth.EInvalidExpiration, "login_expires_in", linkExpiresMin, linkExpiresMax, linkExpiresDefault); err != nil {
		return err
	}
	if in.SignupExpiration, err = req.RegistrationExpiresIn.minutes(auth.EInvalidExpiration, "registration_expires_in", linkExpiresMin, linkExpiresMax, linkExpiresDefault); err != nil {
		return err
	}
	if _, err := h.attributes(r, req.DeviceFingerprint); err != nil {
		return err
	}
	res, err := h.svc.SendMagicLink(r.Context(), p, in)
	if err != nil {
		return err
	}
	u, err := h.svc.GetUser(r.Context(), p, res.UserID)
	if err != nil {
		return err
	}
	writeOK(w, magicLinkResponse{UserID: res.UserID, Status: string(u.Status), UserCreated: res.UserCreated,
		UpdatedAt: epoch(u.UpdatedAt), CreatedAt: epoch(u.CreatedAt), EmailID: res.MethodID})
	return nil
}

type inviteRequest struct {
	Email             string `json:"email"`
	FirstName         string `json:"first_name"`
	MiddleName        string `json:"middle_name"`
	LastName          string `json:"last_name"`
	InviteRedirectURL string `json:"invite_redirect_url"`
	InviteExpiresIn   optInt `json:"invite_expires_in"`
}

type inviteResponse struct {
	UserID      string `json:"user_id"`
	Status      string `json:"status"`
	UserCreated bool   `json:"user_created"`
	EmailID     string `json:"email_id"`
}

// magicLinkInvite invites a new (or still pending) user. invite_expires_in
// is 5–10080 minutes, default 10080 (a week).
func (h *handler) magicLinkInvite(w http.ResponseWriter, r *http.Request, p *auth.Project) error {
	var req inviteRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if err := required("email", req.Email); err != nil {
		return err
	}
	in := auth.InviteInput{Email: req.Email, Name: auth.Name{First: req.FirstName, Middle: req.MiddleName, Last: req.LastName}}
	var err error
	if in.URL, err = redirectURL("invite_redirect_url", req.InviteRedirectURL); err != nil {
		return err
	}
	if in.Expiration, err = req.InviteExpiresIn.minutes(auth.EInvalidExpiration, "invite_expires_in", linkExpiresMin, linkExpiresMax, inviteExpiresDefault); err != nil {
		return err
	}
	res, err := h.svc.InviteMagicLink(r.Context(), p, in)
	if err != nil {
		return err
	}
	u, err := h.svc.GetUser(r.Context(), p, res.UserID)
	if err != nil {
		return err
	}
	writeOK(w, inviteResponse{UserID: res.UserID, Status: string(u.Status), UserCreated: res.UserCreated, EmailID: res.MethodID})
	return nil
}

type createLinkRequest struct {
	UserID    string `json:"user_id"`
	ExpiresIn optInt `json:"expires_in"`
}

type createLinkResponse struct {
	UserID string `json:"user_id"`
	Token  string `json:"token"`
}

// magicLinkCreate returns an embeddable magic link token for an existing
// user; the caller delivers it. expires_in is 5–10080 minutes, default 60.
func (h *handler) magicLinkCreate(w http.ResponseWriter, r *http.Request, p *auth.Project) error {
	var req createLinkRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if err := required("user_id", req.UserID); err != nil {
		return err
	}
	exp, err := req.ExpiresIn.minutes(auth.EInvalidExpiration, "expires_in", linkExpiresMin, linkExpiresMax, linkExpiresDefault)
	if err != nil {
		return err
	}
	token, err := h.svc.CreateEmbeddedMagicLink(r.Context(), p, req.UserID, exp)
	if err != nil {
		return err
	}
	writeOK(w, createLinkResponse{UserID: req.UserID, Token: token})
	return nil
}

// magicLinkVerify consumes a magic link token (once). Sessions work as in
// /otps/verify.
func (h *handler) magicLinkVerify(w http.ResponseWriter, r *http.Request, p *auth.Project) error {
	var req verifyRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if req.Token == "" {
		return &auth.Error{Code: auth.EMagicLinkNotFound, Field: "token", Message: "token is required."}
	}
	sr, err := h.sessionRequest(r, &req)
	if err != nil {
		return err
	}
	res, err := h.svc.AuthenticateMagicLink(r.Context(), p, auth.AuthenticateMagicLinkInput{Token: req.Token, Session: sr})
	if err != nil {
		return err
	}
	writeOK(w, renderAuth(res, "email"))
	return nil
}
