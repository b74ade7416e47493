package stytch

import (
	"net/http"

	"github.com/sesame-auth/sesame/internal/api/httpx"
	"github.com/sesame-auth/sesame/internal/auth"
)

// Values of set_mfa_enrollment.
const (
	mfaEnroll   = "enroll"
	mfaUnenroll = "unenroll"
)

type b2bSendSMSRequest struct {
	OrganizationID string `json:"organization_id"`
	MemberID       string `json:"member_id"`
	MFAPhoneNumber string `json:"mfa_phone_number"`
	Locale         string `json:"locale"`
	IST            string `json:"intermediate_session_token"`
	SessionToken   string `json:"session_token"`
	SessionJWT     string `json:"session_jwt"`
}

// POST /v1/b2b/otps/sms/send: an SMS code (2 minutes; a new send
// supersedes the last) to the member's MFA phone, or to mfa_phone_number
// when the member has none yet. A member who already has a second factor
// must prove a primary factor (an IST or a session) first.
func (h *handler) b2bSendSMS(r *http.Request, p *auth.Project) (response, error) {
	var req b2bSendSMSRequest
	if err := httpx.DecodeJSON(r, &req); err != nil {
		return nil, err
	}
	if err := checkBounds(
		bounded{"organization_id", req.OrganizationID, maxRefLen},
		bounded{"member_id", req.MemberID, maxRefLen},
		bounded{"mfa_phone_number", req.MFAPhoneNumber, 32},
		bounded{"locale", req.Locale, maxLocaleLen},
		bounded{"intermediate_session_token", req.IST, maxTokenLen},
		bounded{"session_token", req.SessionToken, maxTokenLen},
		bounded{"session_jwt", req.SessionJWT, maxJWTLen},
	); err != nil {
		return nil, err
	}
	if err := oneSessionArgument(false, req.IST, req.SessionToken, req.SessionJWT); err != nil {
		return nil, err
	}
	res, err := h.svc.B2BSendSMS(r.Context(), p, auth.B2BSendSMSInput{
		OrganizationID: req.OrganizationID,
		MemberID:       req.MemberID,
		MFAPhoneNumber: req.MFAPhoneNumber,
		Locale:         req.Locale,
		IST:            req.IST,
		SessionToken:   req.SessionToken,
		SessionJWT:     req.SessionJWT,
	})
	if err != nil {
		return nil, err
	}
	return newB2BSendResponse(res, false), nil
}

type b2bAuthenticateSMSRequest struct {
	OrganizationID   string `json:"organization_id"`
	MemberID         string `json:"member_id"`
	Code             string `json:"code"`
	SetMFAEnrollment string `json:"set_mfa_enrollment"`
	SetDefaultMFA    bool   `json:"set_default_mfa"`
	b2bSessionFields
}

type b2bAuthenticateSMSResponse struct {
	meta
	MemberID      string             `json:"member_id"`
	Member        memberJSON         `json:"member"`
	Organization  organizationJSON   `json:"organization"`
	SessionToken  string             `json:"session_token"`
	SessionJWT    string             `json:"session_jwt"`
	MemberSession *memberSessionJSON `json:"member_session"`
	MemberDevice  *struct{}          `json:"member_device"` // always null
}

// POST /v1/b2b/otps/sms/authenticate: the second factor, with exactly one
// of intermediate_session_token (consumed on success), session_token and
// session_jwt. Verifies the member's MFA phone; set_mfa_enrollment
// ("enroll" or "unenroll") and set_default_mfa change the member.
func (h *handler) b2bAuthenticateSMS(r *http.Request, p *auth.Project) (response, error) {
	var req b2bAuthenticateSMSRequest
	if err := httpx.DecodeJSON(r, &req); err != nil {
		return nil, err
	}
	if err := checkBounds(
		bounded{"organization_id", req.OrganizationID, maxRefLen},
		bounded{"member_id", req.MemberID, maxRefLen},
		bounded{"code", req.Code, maxTokenLen},
	); err != nil {
		return nil, err
	}
	switch req.SetMFAEnrollment {
	case "", mfaEnroll, mfaUnenroll:
	default:
		return nil, auth.Invalid("set_mfa_enrollment", "set_mfa_enrollment must be %q or %q.", mfaEnroll, mfaUnenroll)
	}
	if err := oneSessionArgument(true, req.IST, req.SessionToken, req.SessionJWT); err != nil {
		return nil, err
	}
	sr, err := h.b2bSessionRequest(r, req.b2bSessionFields)
	if err != nil {
		return nil, err
	}
	res, err := h.svc.B2BAuthenticateSMS(r.Context(), p, auth.B2BAuthenticateSMSInput{
		OrganizationID:   req.OrganizationID,
		MemberID:         req.MemberID,
		Code:             req.Code,
		Session:          sr,
		SetMFAEnrollment: req.SetMFAEnrollment,
		SetDefaultMFA:    req.SetDefaultMFA,
	})
	if err != nil {
		return nil, err
	}
	return &b2bAuthenticateSMSResponse{
		MemberID:      res.Member.ID,
		Member:        newMemberJSON(res.Member, res.Organization),
		Organization:  newOrganizationJSON(res.Organization),
		SessionToken:  res.SessionToken,
		SessionJWT:    res.SessionJWT,
		MemberSession: newMemberSessionJSON(res.Session),
	}, nil
}

type b2bEmailOTPLoginOrSignupRequest struct {
	OrganizationID          string `json:"organization_id"`
	EmailAddress            string `json:"email_address"`
	LoginTemplateID         string `json:"login_template_id"`  // accepted, ignored
	SignupTemplateID        string `json:"signup_template_id"` // accepted, ignored
	Locale                  string `json:"locale"`
	LoginExpirationMinutes  *int   `json:"login_expiration_minutes"`
	SignupExpirationMinutes *int   `json:"signup_expiration_minutes"`
}

// POST /v1/b2b/otps/email/login_or_signup: an email code as the primary
// factor, to a member or a member signed up by JIT.
func (h *handler) b2bEmailOTPLoginOrSignup(r *http.Request, p *auth.Project) (response, error) {
	var req b2bEmailOTPLoginOrSignupRequest
	if err := httpx.DecodeJSON(r, &req); err != nil {
		return nil, err
	}
	if err := checkBounds(
		bounded{"organization_id", req.OrganizationID, maxRefLen},
		bounded{"email_address", req.EmailAddress, maxEmailLen},
		bounded{"login_template_id", req.LoginTemplateID, maxExtraLen},
		bounded{"signup_template_id", req.SignupTemplateID, maxExtraLen},
		bounded{"locale", req.Locale, maxLocaleLen},
	); err != nil {
		return nil, err
	}
	res, err := h.svc.B2BEmailOTPLoginOrSignup(r.Context(), p, auth.B2BEmailLoginInput{
		OrganizationID:   req.OrganizationID,
		EmailAddress:     req.EmailAddress,
		Locale:           req.Locale,
		LoginExpiration:  minutes(req.LoginExpirationMinutes),
		SignupExpiration: minutes(req.SignupExpirationMinutes),
	})
	if err != nil {
		return nil, err
	}
	return newB2BSendResponse(res, true), nil
}

type b2bAuthenticateEmailOTPRequest struct {
	OrganizationID string `json:"organization_id"`
	EmailAddress   string `json:"email_address"`
	Code           string `json:"code"`
	Locale         string `json:"locale"`
	b2bSessionFields
}

// POST /v1/b2b/otps/email/authenticate: the email code as the primary
// factor; answers like magic_links/authenticate.
func (h *handler) b2bAuthenticateEmailOTP(r *http.Request, p *auth.Project) (response, error) {
	var req b2bAuthenticateEmailOTPRequest
	if err := httpx.DecodeJSON(r, &req); err != nil {
		return nil, err
	}
	if err := checkBounds(
		bounded{"organization_id", req.OrganizationID, maxRefLen},
		bounded{"email_address", req.EmailAddress, maxEmailLen},
		bounded{"code", req.Code, maxTokenLen},
		bounded{"locale", req.Locale, maxLocaleLen},
	); err != nil {
		return nil, err
	}
	sr, err := h.b2bSessionRequest(r, req.b2bSessionFields)
	if err != nil {
		return nil, err
	}
	res, err := h.svc.B2BAuthenticateEmailOTP(r.Context(), p, auth.B2BAuthenticateEmailOTPInput{
		OrganizationID: req.OrganizationID,
		EmailAddress:   req.EmailAddress,
		Code:           req.Code,
		Session:        sr,
	})
	if err != nil {
		return nil, err
	}
	return newMemberAuthResponse(res, true), nil
}
