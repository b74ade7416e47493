package stytch

import (
	"net/http"
	"strings"

	"github.com/sesame-auth/sesame/internal/api/httpx"
	"github.com/sesame-auth/sesame/internal/auth"
)

// Consumer TOTP (authenticator apps) and recovery codes: totps.create,
// authenticate, recoveryCodes, recover and users.deleteTOTP. The TOTP
// algorithm, the secret's encryption and the recovery codes live in the
// core (internal/auth/totp.go); these handlers only shape requests and
// answers.

// Bounds of TOTP request strings.
const (
	maxUserRefLen = 128 // user ids and external ids
	maxTOTPCode   = 32  // a TOTP code is 6 digits; a recovery code "xxxx-xxxx"
)

type createTOTPRequest struct {
	UserID            string `json:"user_id"`
	ExpirationMinutes *int   `json:"expiration_minutes"`
}

type createTOTPResponse struct {
	meta
	TOTPID        string   `json:"totp_id"`
	Secret        string   `json:"secret"`
	QRCode        string   `json:"qr_code"`
	RecoveryCodes []string `json:"recovery_codes"`
	User          userJSON `json:"user"`
	UserID        string   `json:"user_id"`
}

// POST /v1/totps: a new authenticator-app registration for an active user
// (by id or external id). The secret, its QR code (a PNG data URL of the
// otpauth:// URL) and the recovery codes are returned here; the
// registration becomes verified by its first good code.
// expiration_minutes: 5–1440, default 1440.
func (h *handler) createTOTP(r *http.Request, p *auth.Project) (response, error) {
	var req createTOTPRequest
	if err := httpx.DecodeJSON(r, &req); err != nil {
		return nil, err
	}
	if err := requireUserID(req.UserID); err != nil {
		return nil, err
	}
	res, err := h.svc.CreateTOTP(r.Context(), p, auth.CreateTOTPInput{UserID: req.UserID, Expiration: minutes(req.ExpirationMinutes)})
	if err != nil {
		return nil, err
	}
	return &createTOTPResponse{
		TOTPID:        res.TOTPID,
		Secret:        res.Secret,
		QRCode:        res.QRCode,
		RecoveryCodes: strs(res.RecoveryCodes),
		User:          newUserJSON(res.User),
		UserID:        res.User.ID,
	}, nil
}

type authenticateTOTPRequest struct {
	UserID      string `json:"user_id"`
	TOTPCode    string `json:"totp_code"`
	TelemetryID string `json:"telemetry_id"` // accepted, ignored
	sessionFields
}

// totpAuthResponse is the body of totps.authenticate and totps.recover.
type totpAuthResponse struct {
	meta
	UserID       string       `json:"user_id"`
	TOTPID       string       `json:"totp_id"`
	SessionToken string       `json:"session_token"`
	SessionJWT   string       `json:"session_jwt"`
	User         userJSON     `json:"user"`
	Session      *sessionJSON `json:"session,omitempty"`
	UserDevice   *struct{}    `json:"user_device,omitempty"` // no device fingerprinting
}

func newTOTPAuthResponse(res *auth.AuthResult) *totpAuthResponse {
	return &totpAuthResponse{
		UserID:       res.User.ID,
		TOTPID:       res.MethodID,
		SessionToken: res.SessionToken,
		SessionJWT:   res.SessionJWT,
		User:         newUserJSON(res.User),
		Session:      newSessionJSON(res.Session),
	}
}

// POST /v1/totps/authenticate: a code of the user's registration (±1
// 30-second step, each step once, attempts capped). A first good code
// verifies the registration. Sessions as for otps.authenticate: none
// without session_duration_minutes, session_token/session_jwt extend one
// with the factor totp/authenticator_app added.
func (h *handler) authenticateTOTP(r *http.Request, p *auth.Project) (response, error) {
	var req authenticateTOTPRequest
	if err := httpx.DecodeJSON(r, &req); err != nil {
		return nil, err
	}
	if err := requireUserID(req.UserID); err != nil {
		return nil, err
	}
	if err := checkCode("totp_code", req.TOTPCode); err != nil {
		return nil, err
	}
	if err := checkSessionFields(req.sessionFields, req.TelemetryID); err != nil {
		return nil, err
	}
	res, err := h.svc.AuthenticateTOTP(r.Context(), p, auth.AuthenticateTOTPInput{
		UserID:  req.UserID,
		Code:    req.TOTPCode,
		Session: h.sessionRequest(r, req.sessionFields),
	})
	if err != nil {
		return nil, err
	}
	return newTOTPAuthResponse(res), nil
}

type userRefRequest struct {
	UserID string `json:"user_id"`
}

type totpWithCodesJSON struct {
	TOTPID        string   `json:"totp_id"`
	Verified      bool     `json:"verified"`
	RecoveryCodes []string `json:"recovery_codes"`
}

type recoveryCodesResponse struct {
	meta
	UserID string              `json:"user_id"`
	TOTPs  []totpWithCodesJSON `json:"totps"`
}

// POST /v1/totps/recovery_codes: the user's registrations with their
// unused recovery codes.
func (h *handler) totpRecoveryCodes(r *http.Request, p *auth.Project) (response, error) {
	var req userRefRequest
	if err := httpx.DecodeJSON(r, &req); err != nil {
		return nil, err
	}
	if err := requireUserID(req.UserID); err != nil {
		return nil, err
	}
	list, err := h.svc.TOTPRecoveryCodes(r.Context(), p, req.UserID)
	if err != nil {
		return nil, err
	}
	resp := &recoveryCodesResponse{UserID: req.UserID, TOTPs: make([]totpWithCodesJSON, 0, len(list))}
	if !strings.HasPrefix(req.UserID, "user-test-") && !strings.HasPrefix(req.UserID, "user-live-") {
		// An external id: answer with the user's own id.
		u, err := h.svc.GetUser(r.Context(), p, req.UserID)
		if err != nil {
			return nil, err
		}
		resp.UserID = u.ID
	}
	for _, t := range list {
		resp.TOTPs = append(resp.TOTPs, totpWithCodesJSON{TOTPID: t.TOTPID, Verified: t.Verified, RecoveryCodes: strs(t.RecoveryCodes)})
	}
	return resp, nil
}

type recoverTOTPRequest struct {
	UserID       string `json:"user_id"`
	RecoveryCode string `json:"recovery_code"`
	TelemetryID  string `json:"telemetry_id"` // accepted, ignored
	sessionFields
}

// POST /v1/totps/recover: one recovery code of the user's registration,
// usable once, in place of a TOTP code; sessions as for authenticate, with
// the factor recovery_codes/recovery_code.
func (h *handler) recoverTOTP(r *http.Request, p *auth.Project) (response, error) {
	var req recoverTOTPRequest
	if err := httpx.DecodeJSON(r, &req); err != nil {
		return nil, err
	}
	if err := requireUserID(req.UserID); err != nil {
		return nil, err
	}
	if err := checkCode("recovery_code", req.RecoveryCode); err != nil {
		return nil, err
	}
	if err := checkSessionFields(req.sessionFields, req.TelemetryID); err != nil {
		return nil, err
	}
	res, err := h.svc.RecoverTOTP(r.Context(), p, auth.RecoverTOTPInput{
		UserID:       req.UserID,
		RecoveryCode: req.RecoveryCode,
		Session:      h.sessionRequest(r, req.sessionFields),
	})
	if err != nil {
		return nil, err
	}
	return newTOTPAuthResponse(res), nil
}

// DELETE /v1/users/totps/{totp_id}: the registration and its recovery
// codes are deleted; the answer is the user.
func (h *handler) deleteTOTP(r *http.Request, p *auth.Project) (response, error) {
	id := r.PathValue("totp_id")
	if err := checkBounds(bounded{"totp_id", id, maxRefLen}); err != nil {
		return nil, err
	}
	u, err := h.svc.DeleteTOTP(r.Context(), p, id)
	if err != nil {
		return nil, err
	}
	return &userResponse{UserID: u.ID, User: newUserJSON(u)}, nil
}

// requireUserID checks the user_id of a TOTP call.
func requireUserID(id string) error {
	if id == "" {
		return auth.Invalid("user_id", "user_id is required.")
	}
	return checkBounds(bounded{"user_id", id, maxUserRefLen})
}

// checkCode checks that a code field is present and bounded.
func checkCode(field, code string) error {
	if code == "" {
		return auth.Invalid(field, "%s is required.", field)
	}
	return checkBounds(bounded{field, code, maxTOTPCode})
}

// checkSessionFields bounds the session strings of a consumer call.
func checkSessionFields(f sessionFields, telemetryID string) error {
	return checkBounds(
		bounded{"session_token", f.SessionToken, maxTokenLen},
		bounded{"session_jwt", f.SessionJWT, maxJWTLen},
		bounded{"telemetry_id", telemetryID, maxExtraLen},
	)
}
