package stytch

// TEMPORARY: the B2B flows adapter helper implements these in
// b2b_magiclinks.go, b2b_otps.go, b2b_sessions.go and b2b_discovery.go and
// deletes this file.

import (
	"net/http"

	"github.com/sesame-auth/sesame/internal/auth"
)

func (h *handler) b2bLoginOrSignup(r *http.Request, p *auth.Project) (response, error) {
	return nil, errTODO
}
func (h *handler) b2bInvite(r *http.Request, p *auth.Project) (response, error) { return nil, errTODO }
func (h *handler) b2bAuthenticateMagicLink(r *http.Request, p *auth.Project) (response, error) {
	return nil, errTODO
}
func (h *handler) discoverySend(r *http.Request, p *auth.Project) (response, error) {
	return nil, errTODO
}
func (h *handler) discoveryAuthenticate(r *http.Request, p *auth.Project) (response, error) {
	return nil, errTODO
}
func (h *handler) b2bSendSMS(r *http.Request, p *auth.Project) (response, error) { return nil, errTODO }
func (h *handler) b2bAuthenticateSMS(r *http.Request, p *auth.Project) (response, error) {
	return nil, errTODO
}
func (h *handler) b2bEmailOTPLoginOrSignup(r *http.Request, p *auth.Project) (response, error) {
	return nil, errTODO
}
func (h *handler) b2bAuthenticateEmailOTP(r *http.Request, p *auth.Project) (response, error) {
	return nil, errTODO
}
func (h *handler) listMemberSessions(r *http.Request, p *auth.Project) (response, error) {
	return nil, errTODO
}
func (h *handler) authenticateMemberSession(r *http.Request, p *auth.Project) (response, error) {
	return nil, errTODO
}
func (h *handler) revokeMemberSession(r *http.Request, p *auth.Project) (response, error) {
	return nil, errTODO
}
func (h *handler) exchangeMemberSession(r *http.Request, p *auth.Project) (response, error) {
	return nil, errTODO
}
func (h *handler) discoveryListOrganizations(r *http.Request, p *auth.Project) (response, error) {
	return nil, errTODO
}
func (h *handler) discoveryCreateOrganization(r *http.Request, p *auth.Project) (response, error) {
	return nil, errTODO
}
func (h *handler) discoveryExchange(r *http.Request, p *auth.Project) (response, error) {
	return nil, errTODO
}
