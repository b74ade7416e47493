package streambird

import (
	"net/http"

	"github.com/sesame-auth/sesame/internal/auth"
)

// TOTP (Streambird beta): /v1/auth/totps/create and /v1/auth/totps/verify
// over the same core calls as Stytch's totps.create and
// totps.authenticate. A code is the "totp" field; sessions follow
// /otps/verify (session_expires_in 5–525600 starts one, session_token or
// session_jwt extends one).

type createTOTPRequest struct {
	UserID string `json:"user_id"`
}

type createTOTPResponse struct {
	TOTPID        string   `json:"totp_id"`
	UserID        string   `json:"user_id"`
	Secret        string   `json:"secret"`
	QRCode        string   `json:"qr_code"`
	RecoveryCodes []string `json:"recovery_codes"`
}

// createTOTP registers an authenticator app for the user: the secret, a
// QR code (PNG data URL) and the recovery codes, returned once. The
// registration is verified by its first good code.
func (h *handler) createTOTP(w http.ResponseWriter, r *http.Request, p *auth.Project) error {
	var req createTOTPRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if err := required("user_id", req.UserID); err != nil {
		return err
	}
	res, err := h.svc.CreateTOTP(r.Context(), p, auth.CreateTOTPInput{UserID: req.UserID})
	if err != nil {
		return err
	}
	codes := res.RecoveryCodes
	if codes == nil {
		codes = []string{}
	}
	writeOK(w, createTOTPResponse{TOTPID: res.TOTPID, UserID: res.User.ID, Secret: res.Secret, QRCode: res.QRCode, RecoveryCodes: codes})
	return nil
}

type verifyTOTPRequest struct {
	UserID            string             `json:"user_id"`
	TOTP              string             `json:"totp"`
	SessionExpiresIn  optInt             `json:"session_expires_in"`
	SessionToken      string             `json:"session_token"`
	SessionJWT        string             `json:"session_jwt"`
	DeviceFingerprint *deviceFingerprint `json:"device_fingerprint"`
}

type verifyTOTPResponse struct {
	TOTPID       string       `json:"totp_id"`
	UserID       string       `json:"user_id"`
	SessionToken string       `json:"session_token,omitempty"`
	SessionJWT   string       `json:"session_jwt,omitempty"`
	Session      *sessionJSON `json:"session,omitempty"`
}

// verifyTOTP checks a code of the user's registration (±1 30-second step,
// each step once, attempts capped).
func (h *handler) verifyTOTP(w http.ResponseWriter, r *http.Request, p *auth.Project) error {
	var req verifyTOTPRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if err := required("user_id", req.UserID); err != nil {
		return err
	}
	if err := required("totp", req.TOTP); err != nil {
		return err
	}
	sr, err := h.sessionRequest(r, &verifyRequest{
		SessionExpiresIn: req.SessionExpiresIn, SessionToken: req.SessionToken,
		SessionJWT: req.SessionJWT, DeviceFingerprint: req.DeviceFingerprint,
	})
	if err != nil {
		return err
	}
	res, err := h.svc.AuthenticateTOTP(r.Context(), p, auth.AuthenticateTOTPInput{UserID: req.UserID, Code: req.TOTP, Session: sr})
	if err != nil {
		return err
	}
	out := verifyTOTPResponse{TOTPID: res.MethodID, UserID: res.User.ID, SessionToken: res.SessionToken, SessionJWT: res.SessionJWT}
	if res.Session != nil {
		out.Session = renderSession(res.Session, res.SessionToken)
	}
	writeOK(w, out)
	return nil
}
