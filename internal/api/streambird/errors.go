package streambird

import (
	"net/http"

	"github.com/sesame-auth/sesame/internal/api/httpx"
	"github.com/sesame-auth/sesame/internal/auth"
)

// apiError is one row of the dialect's error table. An empty message means
// "use the error's own client-safe message" (which names the offending
// field for validation errors).
type apiError struct {
	status  int
	typ     string
	message string
}

// errorTable maps every domain code to the Streambird error body. It is the
// only place where statuses and error types are chosen; codes missing here
// are answered as internal errors (and logged).
var errorTable = map[auth.Code]apiError{
	// Generic.
	auth.EInvalid:      {http.StatusBadRequest, "invalid_request", ""},
	auth.ETooLarge:     {http.StatusRequestEntityTooLarge, "request_too_large", ""},
	auth.EUnauthorized: {http.StatusUnauthorized, "unauthorized", ""},
	auth.ERateLimited:  {http.StatusTooManyRequests, "too_many_requests", "Too many requests have been made. Try again later."},
	auth.EUnavailable:  {http.StatusServiceUnavailable, "service_unavailable", "The service is temporarily unavailable. Try again later."},
	auth.EInternal:     {http.StatusInternalServerError, "internal_server_error", "An internal error occurred. Try again later."},
	auth.EConflict:     {http.StatusBadRequest, "conflict", ""}, // Streambird answers client conflicts with 400
	auth.ENotFound:     {http.StatusNotFound, "not_found", ""},

	// Users and their methods.
	auth.EUserNotFound:      {http.StatusNotFound, "user_not_found", "User could not be found."},
	auth.EEmailNotFound:     {http.StatusNotFound, "email_not_found", "Email could not be found."},
	auth.EPhoneNotFound:     {http.StatusNotFound, "phone_number_not_found", "Phone number could not be found."},
	auth.EDuplicateEmail:    {http.StatusBadRequest, "duplicate_email", "A user with the specified email already exists for this app."},
	auth.EDuplicatePhone:    {http.StatusBadRequest, "duplicate_phone_number", "A user with the specified phone number already exists for this app."},
	auth.EInvalidPhone:      {http.StatusBadRequest, "invalid_phone_number", ""},
	auth.ECountryNotAllowed: {http.StatusBadRequest, "unsupported_phone_number_country", ""},
	auth.EInvalidEmail:      {http.StatusBadRequest, "invalid_email", ""},
	auth.EInvalidUserID:     {http.StatusBadRequest, "invalid_user_id", "user_id format is invalid."},
	auth.EInvalidMethodID:   {http.StatusBadRequest, "invalid_method_id", ""},

	// Durations. The dialect validates its own minute ranges first and
	// words the message itself, naming the field.
	auth.EInvalidDuration:   {http.StatusBadRequest, "invalid_session_expires_in", ""},
	auth.EInvalidExpiration: {http.StatusBadRequest, "invalid_expires_in", ""},
	auth.EInvalidClaims:     {http.StatusBadRequest, "invalid_request", ""},

	// One-time codes.
	auth.EOTPWrong:    {http.StatusBadRequest, "invalid_otp", "Invalid OTP Code."},
	auth.EOTPExpired:  {http.StatusBadRequest, "otp_expired", "OTP Code is expired, already used or locked after too many attempts. Request a new code."},
	auth.EOTPNotFound: {http.StatusNotFound, "otp_not_found", "No OTP Code was sent to this method_id. Send a code first."},

	// TOTP (beta).
	auth.ETOTPNotFound:      {http.StatusNotFound, "totp_not_found", "No usable TOTP registration was found for this user: create one, or the unverified one expired."},
	auth.ETOTPExists:        {http.StatusBadRequest, "totp_already_exists", "The user already has a verified TOTP registration."},
	auth.ETOTPWrong:         {http.StatusBadRequest, "invalid_totp", "Invalid TOTP Code."},
	auth.ETOTPUsed:          {http.StatusBadRequest, "totp_already_used", "This TOTP code was already used; wait for the next one."},
	auth.ETOTPLocked:        {http.StatusTooManyRequests, "too_many_requests", "Too many wrong TOTP codes. Try again later."},
	auth.ERecoveryCodeWrong: {http.StatusBadRequest, "invalid_recovery_code", "The recovery code is wrong or was already used."},

	// Magic links.
	auth.EMagicLinkNotFound: {http.StatusBadRequest, "invalid_magic_token", "Invalid magic link format, magic link missing or invalid."},
	auth.EMagicLinkUsed:     {http.StatusBadRequest, "magic_link_expired", "Magic link is expired or was already used. Send a new magic link."},
	auth.EPKCEMismatch:      {http.StatusBadRequest, "pkce_mismatch", "The code verifier does not match the magic link's code challenge."},
	auth.EInviteNotFound:    {http.StatusNotFound, "invite_not_found", "Invite could not be found."},

	// Sessions.
	auth.ESessionNotFound:    {http.StatusNotFound, "session_not_found", "Session could not be found."},
	auth.ETooManySessionArgs: {http.StatusBadRequest, "too_many_session_arguments", ""},
	auth.ENoSessionArgs:      {http.StatusBadRequest, "no_session_arguments", ""},
	auth.EJWTInvalid:         {http.StatusBadRequest, "invalid_session_jwt", "session_jwt is invalid: it is malformed, not signed by this app or not a session JWT."},
	auth.EIPMismatch:         {http.StatusUnauthorized, "session_ip_mismatch", "The session's IP address does not match."},
	auth.EUserAgentMismatch:  {http.StatusUnauthorized, "session_user_agent_mismatch", "The session's user agent does not match."},
	auth.EUserMismatch:       {http.StatusBadRequest, "session_user_mismatch", "The session belongs to another user."},
}

// errorBody is Streambird's error body: no request_id, no error_url.
type errorBody struct {
	StatusCode   int    `json:"status_code"`
	ErrorType    string `json:"error_type"`
	ErrorMessage string `json:"error_message"`
}

// lookupError returns the table row for err and the message to send.
func lookupError(err error) (code auth.Code, row apiError, msg string) {
	code = auth.ErrorCode(err)
	row, ok := errorTable[code]
	if !ok {
		row = errorTable[auth.EInternal]
	}
	msg = row.message
	if msg == "" {
		msg = auth.ErrorMessage(err)
	}
	if msg == "" {
		msg = http.StatusText(row.status) + "."
	}
	return code, row, msg
}

// writeError maps err through errorTable and writes the body. 5xx answers
// are logged with the cause; the request body never is.
func (h *handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code, row, msg := lookupError(err)
	if row.status >= 500 {
		h.log.ErrorContext(r.Context(), "streambird: request failed",
			"method", r.Method, "route", r.Pattern, "code", string(code), "status", row.status, "error", err.Error())
	}
	if ra := auth.RetryAfterSeconds(err); ra != "" {
		w.Header().Set("Retry-After", ra)
	}
	writeErrorBody(w, row.status, row.typ, msg)
}

func writeErrorBody(w http.ResponseWriter, status int, typ, msg string) {
	httpx.WriteJSON(w, status, errorBody{StatusCode: status, ErrorType: typ, ErrorMessage: msg})
}
