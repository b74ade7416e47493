package streambird

import (
	"net/http"

	"github.com/sesame-auth/sesame/internal/auth"
)

type sendOTPRequest struct {
	PhoneNumber          string             `json:"phone_number"`
	Email                string             `json:"email"`
	ExpiresIn            optInt             `json:"expires_in"`
	RequiresVerification *bool              `json:"requires_verification"`
	RequiesVerification  *bool              `json:"requies_verification"` // streambird-node typo
	DeviceFingerprint    *deviceFingerprint `json:"device_fingerprint"`
}

// sendResponse covers the four send bodies; the fields a route does not
// return are omitted.
type sendResponse struct {
	PhoneNumberID *string `json:"phone_number_id,omitempty"`
	EmailID       *string `json:"email_id,omitempty"`
	UserID        string  `json:"user_id"`
	UserActive    *bool   `json:"user_active,omitempty"`
	UserCreated   *bool   `json:"user_created,omitempty"`
	Status        string  `json:"status,omitempty"`
}

// sendOTP serves /otps/{sms,email}/{send,login_or_create}.
func (h *handler) sendOTP(ch auth.Channel, loginOrCreate bool) apiFunc {
	return func(w http.ResponseWriter, r *http.Request, p *auth.Project) error {
		var req sendOTPRequest
		if err := decode(r, &req); err != nil {
			return err
		}
		in := auth.SendOTPInput{Channel: ch, LoginOrCreate: loginOrCreate}
		if ch == auth.ChannelEmail {
			if err := required("email", req.Email); err != nil {
				return err
			}
			in.To = req.Email
		} else {
			if err := required("phone_number", req.PhoneNumber); err != nil {
				return err
			}
			in.To = req.PhoneNumber
		}
		exp, err := req.ExpiresIn.minutes(auth.EInvalidExpiration, "expires_in", otpExpiresMin, otpExpiresMax, otpExpiresDefault)
		if err != nil {
			return err
		}
		in.Expiration = exp
		if _, err := h.attributes(r, req.DeviceFingerprint); err != nil {
			return err // validated for the client's sake; sends record no attributes
		}
		if loginOrCreate {
			in.CreatePending = pending(req.RequiresVerification, req.RequiesVerification)
		}
		res, err := h.svc.SendOTP(r.Context(), p, in)
		if err != nil {
			return err
		}
		out := sendResponse{UserID: res.UserID}
		methodID := res.MethodID
		if ch == auth.ChannelEmail {
			out.EmailID = &methodID
		} else {
			out.PhoneNumberID = &methodID
		}
		status := res.UserStatus
		if status == "" {
			u, err := h.svc.GetUser(r.Context(), p, res.UserID)
			if err != nil {
				return err
			}
			status = u.Status
		}
		if loginOrCreate {
			created := res.UserCreated
			out.UserCreated, out.Status = &created, string(status)
		} else {
			active := status == auth.UserActive
			out.UserActive = &active
		}
		writeOK(w, out)
		return nil
	}
}

type verifyRequest struct {
	MethodID          string             `json:"method_id"`
	OTP               string             `json:"otp"`
	Token             string             `json:"token"`
	SessionExpiresIn  optInt             `json:"session_expires_in"`
	SessionToken      string             `json:"session_token"`
	SessionJWT        string             `json:"session_jwt"`
	DeviceFingerprint *deviceFingerprint `json:"device_fingerprint"`
}

// sessionRequest builds the domain's session request of a verify call.
func (h *handler) sessionRequest(r *http.Request, req *verifyRequest) (auth.SessionRequest, error) {
	var sr auth.SessionRequest
	d, err := sessionMinutes(req.SessionExpiresIn)
	if err != nil {
		return sr, err
	}
	if req.SessionToken != "" && req.SessionJWT != "" {
		return sr, &auth.Error{Code: auth.ETooManySessionArgs, Message: "Provide only one of session_token and session_jwt."}
	}
	attrs, err := h.attributes(r, req.DeviceFingerprint)
	if err != nil {
		return sr, err
	}
	return auth.SessionRequest{Duration: d, Token: req.SessionToken, JWT: req.SessionJWT, Attributes: attrs}, nil
}

// verifyOTP checks a code. A session is created when session_expires_in is
// given, or the session named by session_token/session_jwt is extended.
func (h *handler) verifyOTP(w http.ResponseWriter, r *http.Request, p *auth.Project) error {
	var req verifyRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if err := required("method_id", req.MethodID); err != nil {
		return err
	}
	if err := required("otp", req.OTP); err != nil {
		return err
	}
	if !isCode(req.OTP) {
		// Not a 6-digit code: the end user mistyped it. Answer like a wrong
		// code (without counting an attempt: it cannot match).
		return auth.Errorf(auth.EOTPWrong, "Invalid OTP Code.")
	}
	sr, err := h.sessionRequest(r, &req)
	if err != nil {
		return err
	}
	res, err := h.svc.AuthenticateOTP(r.Context(), p, auth.AuthenticateOTPInput{MethodID: req.MethodID, Code: req.OTP, Session: sr})
	if err != nil {
		return err
	}
	writeOK(w, renderAuth(res, ""))
	return nil
}

// isCode reports whether s has the shape of a one-time code.
func isCode(s string) bool {
	if len(s) != auth.CodeLength {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
