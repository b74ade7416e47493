package stytch

import (
	"net/http"

	"github.com/sesame-auth/sesame/internal/api/httpx"
	"github.com/sesame-auth/sesame/internal/auth"
)

// B2B TOTP and recovery codes: totps.create, authenticate and migrate,
// recoveryCodes.recover, get and rotate, and
// organizations.members.deleteTOTP. A TOTP code or a recovery code is the
// second factor of a member exactly like an SMS code: it completes an
// intermediate session token (IST) or extends a member session.

type b2bCreateTOTPRequest struct {
	OrganizationID    string `json:"organization_id"`
	MemberID          string `json:"member_id"`
	ExpirationMinutes *int   `json:"expiration_minutes"`
	IST               string `json:"intermediate_session_token"`
	SessionToken      string `json:"session_token"`
	SessionJWT        string `json:"session_jwt"`
}

type b2bCreateTOTPResponse struct {
	meta
	MemberID           string           `json:"member_id"`
	TOTPRegistrationID string           `json:"totp_registration_id"`
	Secret             string           `json:"secret"`
	QRCode             string           `json:"qr_code"`
	RecoveryCodes      []string         `json:"recovery_codes"`
	Member             memberJSON       `json:"member"`
	Organization       organizationJSON `json:"organization"`
}

// POST /v1/b2b/totp: a new authenticator-app registration for an active
// member of an organization that allows totp. A member who already has a
// second factor must prove it with (at most one of) an IST, a session
// token or a session JWT of its own. expiration_minutes: 5–1440, default 60.
func (h *handler) b2bCreateTOTP(r *http.Request, p *auth.Project) (response, error) {
	var req b2bCreateTOTPRequest
	if err := httpx.DecodeJSON(r, &req); err != nil {
		return nil, err
	}
	if err := checkMemberRef(req.OrganizationID, req.MemberID); err != nil {
		return nil, err
	}
	if err := checkBounds(
		bounded{"intermediate_session_token", req.IST, maxTokenLen},
		bounded{"session_token", req.SessionToken, maxTokenLen},
		bounded{"session_jwt", req.SessionJWT, maxJWTLen},
	); err != nil {
		return nil, err
	}
	if err := oneSessionArgument(false, req.IST, req.SessionToken, req.SessionJWT); err != nil {
		return nil, err
	}
	res, err := h.svc.B2BCreateTOTP(r.Context(), p, auth.B2BCreateTOTPInput{
		OrganizationID: req.OrganizationID,
		MemberID:       req.MemberID,
		Expiration:     minutes(req.ExpirationMinutes),
		IST:            req.IST,
		SessionToken:   req.SessionToken,
		SessionJWT:     req.SessionJWT,
	})
	if err != nil {
		return nil, err
	}
	return &b2bCreateTOTPResponse{
		MemberID:           res.Member.ID,
		TOTPRegistrationID: res.TOTPID,
		Secret:             res.Secret,
		QRCode:             res.QRCode,
		RecoveryCodes:      strs(res.RecoveryCodes),
		Member:             newMemberJSON(res.Member, res.Organization),
		Organization:       newOrganizationJSON(res.Organization),
	}, nil
}

type b2bMigrateTOTPRequest struct {
	OrganizationID string   `json:"organization_id"`
	MemberID       string   `json:"member_id"`
	Secret         string   `json:"secret"`
	RecoveryCodes  []string `json:"recovery_codes"`
}

type b2bMigrateTOTPResponse struct {
	meta
	MemberID           string           `json:"member_id"`
	Member             memberJSON       `json:"member"`
	Organization       organizationJSON `json:"organization"`
	TOTPRegistrationID string           `json:"totp_registration_id"`
	RecoveryCodes      []string         `json:"recovery_codes"`
}

// POST /v1/b2b/totp/migrate: imports a member's existing authenticator-app
// secret (base32) as a verified registration, with the recovery codes
// given (at most 50) or 10 new ones. The secret is not returned.
func (h *handler) b2bMigrateTOTP(r *http.Request, p *auth.Project) (response, error) {
	var req b2bMigrateTOTPRequest
	if err := httpx.DecodeJSON(r, &req); err != nil {
		return nil, err
	}
	if err := checkMemberRef(req.OrganizationID, req.MemberID); err != nil {
		return nil, err
	}
	res, err := h.svc.B2BMigrateTOTP(r.Context(), p, auth.B2BMigrateTOTPInput{
		OrganizationID: req.OrganizationID,
		MemberID:       req.MemberID,
		Secret:         req.Secret,
		RecoveryCodes:  req.RecoveryCodes,
	})
	if err != nil {
		return nil, err
	}
	return &b2bMigrateTOTPResponse{
		MemberID:           res.Member.ID,
		Member:             newMemberJSON(res.Member, res.Organization),
		Organization:       newOrganizationJSON(res.Organization),
		TOTPRegistrationID: res.TOTPID,
		RecoveryCodes:      strs(res.RecoveryCodes),
	}, nil
}

type b2bAuthenticateTOTPRequest struct {
	OrganizationID   string `json:"organization_id"`
	MemberID         string `json:"member_id"`
	Code             string `json:"code"`
	SetMFAEnrollment string `json:"set_mfa_enrollment"`
	SetDefaultMFA    bool   `json:"set_default_mfa"`
	b2bSessionFields
}

// POST /v1/b2b/totp/authenticate: the member's TOTP code as the second
// factor, with exactly one of intermediate_session_token (consumed with
// the code in one statement), session_token and session_jwt. The first
// good code verifies the registration; set_mfa_enrollment and
// set_default_mfa change the member as for SMS codes.
func (h *handler) b2bAuthenticateTOTP(r *http.Request, p *auth.Project) (response, error) {
	var req b2bAuthenticateTOTPRequest
	if err := httpx.DecodeJSON(r, &req); err != nil {
		return nil, err
	}
	if err := checkMemberRef(req.OrganizationID, req.MemberID); err != nil {
		return nil, err
	}
	if err := checkCode("code", req.Code); err != nil {
		return nil, err
	}
	switch req.SetMFAEnrollment {
	case "", mfaEnroll, mfaUnenroll:
	default:
		return nil, auth.Invalid("set_mfa_enrollment", "set_mfa_enrollment must be %q or %q.", mfaEnroll, mfaUnenroll)
	}
	sr, err := h.b2bSessionRequest(r, req.b2bSessionFields)
	if err != nil {
		return nil, err
	}
	if err := oneSessionArgument(true, req.IST, req.SessionToken, req.SessionJWT); err != nil {
		return nil, err
	}
	res, err := h.svc.B2BAuthenticateTOTP(r.Context(), p, auth.B2BAuthenticateTOTPInput{
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
	return newSecondFactorResponse(res), nil
}

// newSecondFactorResponse shapes the answer of a second factor that
// completed: the same body as otps.sms.authenticate.
func newSecondFactorResponse(res *auth.MemberAuthResult) *b2bAuthenticateSMSResponse {
	return &b2bAuthenticateSMSResponse{
		MemberID:      res.Member.ID,
		Member:        newMemberJSON(res.Member, res.Organization),
		Organization:  newOrganizationJSON(res.Organization),
		SessionToken:  res.SessionToken,
		SessionJWT:    res.SessionJWT,
		MemberSession: newMemberSessionJSON(res.Session),
	}
}

type b2bRecoverRequest struct {
	OrganizationID string `json:"organization_id"`
	MemberID       string `json:"member_id"`
	RecoveryCode   string `json:"recovery_code"`
	b2bSessionFields
}

type b2bRecoverResponse struct {
	*b2bAuthenticateSMSResponse
	RecoveryCodesRemaining int `json:"recovery_codes_remaining"`
}

// POST /v1/b2b/recovery_codes/recover: one recovery code (usable once) in
// place of the second factor, with exactly one of
// intermediate_session_token, session_token and session_jwt.
func (h *handler) b2bRecover(r *http.Request, p *auth.Project) (response, error) {
	var req b2bRecoverRequest
	if err := httpx.DecodeJSON(r, &req); err != nil {
		return nil, err
	}
	if err := checkMemberRef(req.OrganizationID, req.MemberID); err != nil {
		return nil, err
	}
	if err := checkCode("recovery_code", req.RecoveryCode); err != nil {
		return nil, err
	}
	sr, err := h.b2bSessionRequest(r, req.b2bSessionFields)
	if err != nil {
		return nil, err
	}
	if err := oneSessionArgument(true, req.IST, req.SessionToken, req.SessionJWT); err != nil {
		return nil, err
	}
	res, err := h.svc.B2BRecover(r.Context(), p, auth.B2BRecoverInput{
		OrganizationID: req.OrganizationID,
		MemberID:       req.MemberID,
		RecoveryCode:   req.RecoveryCode,
		Session:        sr,
	})
	if err != nil {
		return nil, err
	}
	return &b2bRecoverResponse{
		b2bAuthenticateSMSResponse: newSecondFactorResponse(res.MemberAuthResult),
		RecoveryCodesRemaining:     res.RecoveryCodesRemaining,
	}, nil
}

type b2bRecoveryCodesResponse struct {
	meta
	MemberID      string           `json:"member_id"`
	Member        memberJSON       `json:"member"`
	Organization  organizationJSON `json:"organization"`
	RecoveryCodes []string         `json:"recovery_codes"`
}

func newB2BRecoveryCodesResponse(res *auth.B2BRecoveryCodesResult) *b2bRecoveryCodesResponse {
	return &b2bRecoveryCodesResponse{
		MemberID:      res.Member.ID,
		Member:        newMemberJSON(res.Member, res.Organization),
		Organization:  newOrganizationJSON(res.Organization),
		RecoveryCodes: strs(res.RecoveryCodes),
	}
}

// GET /v1/b2b/recovery_codes/{organization_id}/{member_id}: the member's
// unused recovery codes.
func (h *handler) b2bGetRecoveryCodes(r *http.Request, p *auth.Project) (response, error) {
	orgRef, memberRef := r.PathValue("organization_id"), r.PathValue("member_id")
	if err := checkMemberRef(orgRef, memberRef); err != nil {
		return nil, err
	}
	res, err := h.svc.B2BGetRecoveryCodes(r.Context(), p, orgRef, memberRef)
	if err != nil {
		return nil, err
	}
	return newB2BRecoveryCodesResponse(res), nil
}

type b2bMemberRefRequest struct {
	OrganizationID string `json:"organization_id"`
	MemberID       string `json:"member_id"`
}

// POST /v1/b2b/recovery_codes/rotate: new recovery codes for the member's
// registration; the old ones stop working.
func (h *handler) b2bRotateRecoveryCodes(r *http.Request, p *auth.Project) (response, error) {
	var req b2bMemberRefRequest
	if err := httpx.DecodeJSON(r, &req); err != nil {
		return nil, err
	}
	if err := checkMemberRef(req.OrganizationID, req.MemberID); err != nil {
		return nil, err
	}
	res, err := h.svc.B2BRotateRecoveryCodes(r.Context(), p, req.OrganizationID, req.MemberID)
	if err != nil {
		return nil, err
	}
	return newB2BRecoveryCodesResponse(res), nil
}

// DELETE /v1/b2b/organizations/{organization_id}/members/{member_id}/totp
// (body {}): the member's registration and its recovery codes are deleted.
// Honours the member-session headers (an admin, or the member itself).
func (h *handler) deleteMemberTOTP(r *http.Request, p *auth.Project) (response, error) {
	orgRef, memberRef := r.PathValue("organization_id"), r.PathValue("member_id")
	if err := checkMemberRef(orgRef, memberRef); err != nil {
		return nil, err
	}
	m, o, err := h.svc.DeleteMemberTOTP(r.Context(), p, orgRef, memberRef, callerOf(r))
	if err != nil {
		return nil, err
	}
	return newMemberResponse(m, o), nil
}

// checkMemberRef requires and bounds an organization and a member reference.
func checkMemberRef(orgRef, memberRef string) error {
	if orgRef == "" {
		return auth.Invalid("organization_id", "organization_id is required.")
	}
	if memberRef == "" {
		return auth.Invalid("member_id", "member_id is required.")
	}
	return checkBounds(bounded{"organization_id", orgRef, maxRefLen}, bounded{"member_id", memberRef, maxRefLen})
}
