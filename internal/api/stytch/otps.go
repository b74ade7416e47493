package stytch

import (
	"net/http"

	"github.com/sesame-auth/sesame/internal/api/httpx"
	"github.com/sesame-auth/sesame/internal/auth"
)

type sendOTPRequest struct {
	PhoneNumber         string          `json:"phone_number"`
	Email               string          `json:"email"`
	ExpirationMinutes   *int            `json:"expiration_minutes"`
	Attributes          *attributesJSON `json:"attributes"`
	Locale              string          `json:"locale"`
	CreateUserAsPending bool            `json:"create_user_as_pending"`
	UserID              string          `json:"user_id"`
	SessionToken        string          `json:"session_token"`
	SessionJWT          string          `json:"session_jwt"`
}

type sendResponse struct {
	meta
	UserID      string `json:"user_id"`
	PhoneID     string `json:"phone_id,omitempty"`
	EmailID     string `json:"email_id,omitempty"`
	UserCreated *bool  `json:"user_created,omitempty"`
}

// newSendResponse shapes a send result: phone_id or email_id by channel,
// and user_created for the login_or_create calls.
func newSendResponse(res *auth.SendResult, email, loginOrCreate bool) *sendResponse {
	resp := &sendResponse{UserID: res.UserID}
	if email {
		resp.EmailID = res.MethodID
	} else {
		resp.PhoneID = res.MethodID
	}
	if loginOrCreate {
		resp.UserCreated = &res.UserCreated
	}
	return resp
}

// POST /v1/otps/{sms,whatsapp,email}/{send,login_or_create}
//
// send delivers to a known phone number or email, or attaches a new one to
// the user named by user_id, session_token or session_jwt;
// login_or_create creates the user (pending with create_user_as_pending)
// when the recipient is unknown. expiration_minutes: 1–10, default 2.
func (h *handler) sendOTP(ch auth.Channel, loginOrCreate bool) endpoint {
	return func(r *http.Request, p *auth.Project) (response, error) {
		var req sendOTPRequest
		if err := httpx.DecodeJSON(r, &req); err != nil {
			return nil, err
		}
		in := auth.SendOTPInput{
			Channel:       ch,
			To:            req.PhoneNumber,
			LoginOrCreate: loginOrCreate,
			Expiration:    minutes(req.ExpirationMinutes),
			Locale:        req.Locale,
		}
		if ch == auth.ChannelEmail {
			in.To = req.Email
		}
		if loginOrCreate {
			in.CreatePending = req.CreateUserAsPending
		} else {
			in.UserID, in.SessionToken, in.SessionJWT = req.UserID, req.SessionToken, req.SessionJWT
		}
		res, err := h.svc.SendOTP(r.Context(), p, in)
		if err != nil {
			return nil, err
		}
		return newSendResponse(res, ch == auth.ChannelEmail, loginOrCreate), nil
	}
}

type authenticateOTPRequest struct {
	MethodID string `json:"method_id"`
	Code     string `json:"code"`
	sessionFields
}

// POST /v1/otps/authenticate
func (h *handler) authenticateOTP(r *http.Request, p *auth.Project) (response, error) {
	var req authenticateOTPRequest
	if err := httpx.DecodeJSON(r, &req); err != nil {
		return nil, err
	}
	res, err := h.svc.AuthenticateOTP(r.Context(), p, auth.AuthenticateOTPInput{
		MethodID: req.MethodID,
		Code:     req.Code,
		Session:  h.sessionRequest(r, req.sessionFields),
	})
	if err != nil {
		return nil, err
	}
	return newAuthResponse(res), nil
}
