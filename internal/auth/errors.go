package auth

import (
	"errors"
	"fmt"
)

// Code classifies an Error. Dialect adapters map each Code to a status and an
// error body in one table per dialect.
type Code string

// Error codes returned by the services. Every exported service method documents
// the codes it can return.
const (
	EInternal     Code = "internal"     // unexpected failure; never a client mistake
	EInvalid      Code = "invalid"      // malformed or out-of-range input
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
)

// Error is the domain's typed error. Message is safe to show to API clients.
type Error struct {
	Code    Code
	Message string
	// Field names the offending input field for EInvalid errors, if any.
	Field string
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
