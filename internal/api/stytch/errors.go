package stytch

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/sesame-auth/sesame/internal/api/httpx"
	"github.com/sesame-auth/sesame/internal/auth"
)

// errSpec is how one error code reads in the Stytch dialect.
type errSpec struct {
	status  int
	typ     string // error_type
	message string // error_message; "" means the service's own (client-safe) message
}

// Codes of errors only this dialect raises, mapped in the same table.
const (
	codeRouteNotFound       auth.Code = "stytch_route_not_found"
	codeMethodNotAllowed    auth.Code = "stytch_method_not_allowed"
	codeNoRevokeArgs        auth.Code = "stytch_no_session_revoke_arguments"
	codeTooManyRevokeArgs   auth.Code = "stytch_too_many_session_revoke_arguments"
	codeInvalidSearchFilter auth.Code = "stytch_invalid_search_filter"
)

var (
	errRouteNotFound    = auth.Errorf(codeRouteNotFound, "The requested endpoint does not exist.")
	errMethodNotAllowed = auth.Errorf(codeMethodNotAllowed, "The HTTP method is not allowed for this endpoint.")
)

// errorTable is the one place that maps error codes to Stytch statuses,
// error types and messages (§E of the contract). Codes missing from it are
// answered as internal errors and logged.
var errorTable = map[auth.Code]errSpec{
	auth.EInternal:     {500, "internal_server_error", "Oops, something seems to have gone wrong. Try again later."},
	auth.EInvalid:      {400, "bad_request", ""},
	auth.ETooLarge:     {413, "request_too_large", ""},
	auth.EUnauthorized: {401, "unauthorized_credentials", "Unauthorized credentials."},
	auth.ERateLimited:  {429, "too_many_requests", "Too many requests have been made."},
	auth.EUnavailable:  {503, "service_unavailable", "The service is temporarily unavailable. Try again later."},
	auth.EConflict:     {400, "bad_request", ""},
	auth.ENotFound:     {404, "not_found", ""},

	auth.EUserNotFound:      {404, "user_not_found", "User could not be found."},
	auth.EEmailNotFound:     {404, "email_not_found", "Email could not be found."},
	auth.EPhoneNotFound:     {404, "phone_number_not_found", "Phone number could not be found."},
	auth.ESessionNotFound:   {404, "session_not_found", "Session could not be found."},
	auth.EDuplicateEmail:    {400, "duplicate_email", "A user with the specified email already exists for this project."},
	auth.EDuplicatePhone:    {400, "duplicate_phone_number", "A user with the specified phone number already exists for this project."},
	auth.EInvalidPhone:      {400, "invalid_phone_number", "Phone number format is invalid. Ensure the phone number is in the E.164 format."},
	auth.ECountryNotAllowed: {400, "invalid_phone_number_country_code", ""},
	auth.EInvalidEmail:      {400, "invalid_email", ""},
	auth.EInvalidUserID:     {400, "invalid_user_id", ""},
	auth.EInvalidMethodID:   {400, "invalid_method_id", ""},
	auth.EInvalidDuration:   {400, "invalid_session_duration_minutes", "session_duration_minutes must be between 5 and 527040."},
	auth.EInvalidExpiration: {400, "bad_request", ""},
	auth.EInvalidClaims:     {400, "invalid_session_custom_claims", ""},

	auth.EOTPWrong:    {404, "otp_code_not_found", "The passcode was incorrect and could not be authenticated, encourage the user to try inputting the passcode again or send another passcode."},
	auth.EOTPNotFound: {404, "otp_code_not_found", "The passcode was incorrect and could not be authenticated, encourage the user to try inputting the passcode again or send another passcode."},
	auth.EOTPExpired:  {401, "unable_to_auth_otp_code", "The passcode could not be authenticated because it was either already used or expired. Send another passcode to this user."},

	auth.EMagicLinkNotFound: {404, "magic_link_not_found", "The magic link could not be authenticated, try sending another magic link."},
	auth.EMagicLinkUsed:     {401, "unable_to_auth_magic_link", "The magic link could not be authenticated because it was either already used or expired. Send another magic link to this user."},
	auth.EPKCEMismatch:      {400, "pkce_mismatch", "The code_verifier does not match the code_challenge the magic link was sent with."},
	auth.EInviteNotFound:    {404, "invite_not_found", "No pending invite was found for this email."},

	auth.ETooManySessionArgs: {400, "too_many_session_arguments", ""}, // the service names the arguments of each route
	auth.ENoSessionArgs:      {400, "no_session_arguments", ""},
	auth.EJWTInvalid:         {401, "unable_to_parse_session_jwt", "The session JWT could not be parsed or verified."},
	auth.EIPMismatch:         {401, "attribute_mismatch", "Unable to authenticate because attributes on request don't match stored attributes."},
	auth.EUserAgentMismatch:  {401, "attribute_mismatch", "Unable to authenticate because attributes on request don't match stored attributes."},
	auth.EUserMismatch:       {400, "bad_request", ""},

	// B2B (§C, §E). Types are Stytch's where its API has one.
	auth.EOrganizationNotFound:    {404, "organization_not_found", "Organization could not be found."},
	auth.EMemberNotFound:          {404, "member_not_found", "Member could not be found."},
	auth.EDuplicateSlug:           {400, "organization_slug_already_used", "The provided organization_slug is already used in another organization."},
	auth.EDuplicateExternalID:     {400, "duplicate_external_id", ""},
	auth.EDuplicateMemberEmail:    {400, "duplicate_member_email", "A member with the specified email address already exists in this organization."},
	auth.EForbidden:               {403, "unauthorized_action", ""},
	auth.EISTNotFound:             {404, "intermediate_session_not_found", "Intermediate session could not be found."},
	auth.EISTOrgMismatch:          {400, "invalid_intermediate_session_token_for_organization", "The intermediate session token is not valid for this organization or member."},
	auth.EPrimaryRequired:         {400, "action_available_only_once_primary_authentication_is_met", "You must complete the primary authentication requirements for an organization before completing an MFA flow."},
	auth.EInactiveMember:          {400, "action_available_only_for_active_members", "You may not attach an MFA factor to a member that is not active."},
	auth.EMFAPhoneMismatch:        {400, "mfa_phone_number_mismatch", ""},
	auth.EMemberPhoneNotFound:     {404, "member_phone_number_not_found", "The member has no MFA phone number: pass mfa_phone_number."},
	auth.EMFABypass:               {400, "no_associated_session_passed_in", ""},
	auth.EJITNotAllowed:           {403, "email_jit_provisioning_not_allowed", ""},
	auth.EInviteNotAllowed:        {403, "invalid_email_for_invites", ""},
	auth.EAuthMethodNotAllowed:    {403, "operation_restricted_by_organization_auth_methods", ""},
	auth.EMFAMethodNotAllowed:     {403, "operation_restricted_by_organization_mfa_methods", ""},
	auth.EMemberAlreadyActive:     {400, "member_already_active", ""},
	auth.EMemberDeleted:           {400, "action_available_only_for_active_members", ""},
	auth.EInsufficientFactors:     {400, "insufficient_factors", ""},
	auth.EInvalidOrganizationSlug: {400, "invalid_organization_slug", ""},
	auth.ECommonDomain:            {400, "organization_settings_domain_too_common", ""},

	// TOTP and recovery codes. A locked registration (too many wrong
	// codes) is a 429: waiting, or a recovery code, is the way out.
	auth.ETOTPNotFound:      {404, "totp_not_found", "No usable TOTP registration was found: create one, or the unverified one expired."},
	auth.ETOTPExists:        {400, "active_totp_exists", "An active TOTP registration already exists: delete it before creating another."},
	auth.ETOTPWrong:         {401, "unable_to_authenticate_totp", "The TOTP code could not be authenticated."},
	auth.ETOTPUsed:          {401, "totp_code_already_authenticated", "This TOTP code was already used: wait for the next code."},
	auth.ETOTPLocked:        {429, "too_many_requests", "Too many wrong TOTP codes: wait before trying again, or use a recovery code."},
	auth.ERecoveryCodeWrong: {401, "unable_to_authenticate_recovery_code", "The recovery code could not be authenticated: it is wrong or was already used."},

	codeRouteNotFound:       {404, "not_found", ""},
	codeMethodNotAllowed:    {405, "method_not_allowed", ""},
	codeNoRevokeArgs:        {400, "no_session_revoke_arguments", "One of session_id, session_token or session_jwt is required."},
	codeTooManyRevokeArgs:   {400, "too_many_session_revoke_arguments", "Only one of session_id, session_token or session_jwt may be given."},
	codeInvalidSearchFilter: {400, "invalid_search_filter", ""},
}

// fieldTypes refine the error_type of a code by the field the error names,
// where Stytch has a more precise type than the table's.
var fieldTypes = map[auth.Code]map[string]string{
	auth.EDuplicateExternalID: {"external_id": "duplicate_member_external_id"},
}

// errorBody is a Stytch error response. It has no "error" key on purpose.
type errorBody struct {
	StatusCode   int    `json:"status_code"`
	RequestID    string `json:"request_id"`
	ErrorType    string `json:"error_type"`
	ErrorMessage string `json:"error_message"`
	ErrorURL     string `json:"error_url"`
}

// writeError answers err as a Stytch error body.
func (h *handler) writeError(w http.ResponseWriter, r *http.Request, requestID string, err error) {
	code := auth.ErrorCode(err)
	spec, ok := errorTable[code]
	if !ok {
		spec = errorTable[auth.EInternal]
	}
	var e *auth.Error
	if errors.As(err, &e) {
		if typ, ok := fieldTypes[code][e.Field]; ok {
			spec.typ = typ
		}
	}
	msg := spec.message
	if msg == "" {
		msg = auth.ErrorMessage(err)
	}
	if spec.status >= 500 {
		h.log.Error("stytch api error", "request_id", requestID, "method", r.Method, "path", r.URL.Path, "code", string(code), "err", err)
	}
	if ra := auth.RetryAfterSeconds(err); ra != "" {
		w.Header().Set("Retry-After", ra)
	}
	httpx.WriteJSON(w, spec.status, errorBody{
		StatusCode:   spec.status,
		RequestID:    requestID,
		ErrorType:    spec.typ,
		ErrorMessage: msg,
		ErrorURL:     "https://stytch.com/docs/api/errors/" + strconv.Itoa(spec.status) + "#" + spec.typ,
	})
}
