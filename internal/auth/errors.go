package auth

import (
	"errors"
	"fmt"
	"time"
)

// Code classifies an Error. Dialect adapters map each Code to a status and an
// error body in one table per dialect.
type Code string

// Error codes returned by the services. Every exported service method documents
// the codes it can return.
const (
	EInternal     Code = "internal"     // unexpected failure; never a client mistake
	EInvalid      Code = "invalid"      // malformed or out-of-range input
	ETooLarge     Code = "too_large"    // the request body exceeds the size cap (HTTP 413)
	EUnauthorized Code = "unauthorized" // missing or wrong project credentials
	ERateLimited  Code = "rate_limited" // too many requests for a key
	EUnavailable  Code = "unavailable"  // a dependency is down; retry later
	EConflict     Code = "conflict"     // generic conflict
	ENotFound     Code = "not_found"    // generic not found

	EUserNotFound    Code = "user_not_found"
	EEmailNotFound   Code = "email_not_found"
	EPhoneNotFound   Code = "phone_not_found"
	ESessionNotFound Code = "session_not_found"
	EDuplicateEmail  Code = "duplicate_email"
	EDuplicatePhone  Code = "duplicate_phone"
	EInvalidPhone    Code = "invalid_phone"
	// ECountryNotAllowed: the number's country is not in the SMS allow-list.
	ECountryNotAllowed Code = "country_not_allowed"
	EInvalidEmail      Code = "invalid_email"
	EInvalidUserID     Code = "invalid_user_id"
	EInvalidMethodID   Code = "invalid_method_id"
	EInvalidDuration   Code = "invalid_session_duration"
	EInvalidExpiration Code = "invalid_expiration"
	EInvalidClaims     Code = "invalid_custom_claims"

	// EOTPWrong: the code did not match a live challenge (attempt counted).
	EOTPWrong Code = "otp_wrong"
	// EOTPExpired: the challenge exists but is expired, consumed, superseded
	// or locked after too many attempts.
	EOTPExpired Code = "otp_expired"
	// EOTPNotFound: no challenge was ever issued for that method.
	EOTPNotFound Code = "otp_not_found"

	EMagicLinkNotFound Code = "magic_link_not_found"
	EMagicLinkUsed     Code = "magic_link_used" // consumed or expired
	EPKCEMismatch      Code = "pkce_mismatch"
	EInviteNotFound    Code = "invite_not_found"

	ETooManySessionArgs Code = "too_many_session_arguments"
	ENoSessionArgs      Code = "no_session_arguments"
	EJWTInvalid         Code = "jwt_invalid"
	EIPMismatch         Code = "ip_mismatch"
	EUserAgentMismatch  Code = "user_agent_mismatch"
	EUserMismatch       Code = "session_user_mismatch"

	// B2B.
	EOrganizationNotFound Code = "organization_not_found"
	EMemberNotFound       Code = "member_not_found"
	EDuplicateSlug        Code = "duplicate_organization_slug"
	EDuplicateExternalID  Code = "duplicate_external_id"
	EDuplicateMemberEmail Code = "duplicate_member_email"
	// EForbidden: the member named by a session header may not do this
	// (another organization, or not an admin), or an authorization check
	// failed.
	EForbidden Code = "forbidden"
	// EISTNotFound: the intermediate session token is unknown, expired or used.
	EISTNotFound Code = "intermediate_session_not_found"
	// EISTOrgMismatch: the IST belongs to another organization or member.
	EISTOrgMismatch Code = "intermediate_session_org_mismatch"
	// EPrimaryRequired: an MFA step before the primary factor was met.
	EPrimaryRequired Code = "primary_authentication_required"
	// EInactiveMember: an MFA factor for a member that is not active.
	EInactiveMember Code = "inactive_member"
	// EMFAPhoneMismatch: a phone other than the member's MFA phone.
	EMFAPhoneMismatch Code = "mfa_phone_mismatch"
	// EMemberPhoneNotFound: an SMS send for a member without a phone.
	EMemberPhoneNotFound Code = "member_phone_number_not_found"
	// EMFABypass: a send to a new phone by a member who already has an
	// MFA factor and did not prove it (IST or session).
	EMFABypass Code = "mfa_factor_unproven"
	// EJITNotAllowed: the email may not join the organization (JIT off,
	// domain not allowed, or not a member).
	EJITNotAllowed Code = "email_jit_not_allowed"
	// EInviteNotAllowed: the organization's email_invites forbids it.
	EInviteNotAllowed Code = "email_invite_not_allowed"
	// EAuthMethodNotAllowed: the organization restricts primary factors.
	EAuthMethodNotAllowed Code = "auth_method_not_allowed"
	// EMFAMethodNotAllowed: the organization restricts MFA methods.
	EMFAMethodNotAllowed Code = "mfa_method_not_allowed"
	// EMemberAlreadyActive: invite of an active member.
	EMemberAlreadyActive Code = "member_already_active"
	// EMemberDeleted: an action on a deleted member.
	EMemberDeleted Code = "member_deleted"
	// EInsufficientFactors: a session exchange without the factors the
	// target organization demands (answered with an IST instead, except
	// where no IST can be given).
	EInsufficientFactors Code = "insufficient_factors"
	// EInvalidOrganizationSlug: the slug breaks the character rules.
	EInvalidOrganizationSlug Code = "invalid_organization_slug"
	// ECommonDomain: a common consumer domain in email_allowed_domains.
	ECommonDomain Code = "common_email_domain"
)

// Error is the domain's typed error. Message is safe to show to API clients.
type Error struct {
	Code    Code
	Message string
	// Field names the offending input field for EInvalid errors, if any.
	Field string
	// RetryAfter, for ERateLimited and ETOTPLocked, is how long the client should wait
	// (the dialects send it as a Retry-After header); 0 when unknown.
	RetryAfter time.Duration
	// Err is the wrapped cause (never shown to clients).
	Err error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the code and a formatted client-safe message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid returns an EInvalid error about one input field.
func Invalid(field, format string, args ...any) *Error {
	return &Error{Code: EInvalid, Field: field, Message: fmt.Sprintf(format, args...)}
}

// Internal wraps an unexpected error as EInternal.
func Internal(err error) *Error {
	return &Error{Code: EInternal, Message: "Internal error.", Err: err}
}

// ErrorCode returns the code of err, EInternal for non-domain errors and "" for nil.
func ErrorCode(err error) Code {
	var e *Error
	if err == nil {
		return ""
	}
	if errors.As(err, &e) {
		return e.Code
	}
	return EInternal
}

// ErrorMessage returns the client-safe message of err.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "Internal error."
}
