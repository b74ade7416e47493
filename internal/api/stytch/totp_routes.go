package stytch

import "net/http"

// routeTOTP registers the TOTP and recovery-code routes of both the
// consumer and the B2B API.
func (h *handler) routeTOTP(route func(pattern string, fn http.HandlerFunc)) {}
