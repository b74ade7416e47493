package stytch

// TEMPORARY: the organizations/members adapter helper implements these in
// b2b_organizations.go and b2b_members.go and deletes this file.

import (
	"net/http"

	"github.com/sesame-auth/sesame/internal/auth"
)

var errTODO = auth.Errorf(auth.EInternal, "not implemented")

func (h *handler) createOrganization(r *http.Request, p *auth.Project) (response, error) {
	return nil, errTODO
}
func (h *handler) searchOrganizations(r *http.Request, p *auth.Project) (response, error) {
	return nil, errTODO
}
func (h *handler) getOrganization(r *http.Request, p *auth.Project) (response, error) {
	return nil, errTODO
}
func (h *handler) updateOrganization(r *http.Request, p *auth.Project) (response, error) {
	return nil, errTODO
}
func (h *handler) deleteOrganization(r *http.Request, p *auth.Project) (response, error) {
	return nil, errTODO
}
func (h *handler) organizationMetrics(r *http.Request, p *auth.Project) (response, error) {
	return nil, errTODO
}
func (h *handler) createMember(r *http.Request, p *auth.Project) (response, error) {
	return nil, errTODO
}
func (h *handler) getMember(r *http.Request, p *auth.Project) (response, error) { return nil, errTODO }
func (h *handler) updateMember(r *http.Request, p *auth.Project) (response, error) {
	return nil, errTODO
}
func (h *handler) deleteMember(r *http.Request, p *auth.Project) (response, error) {
	return nil, errTODO
}
func (h *handler) reactivateMember(r *http.Request, p *auth.Project) (response, error) {
	return nil, errTODO
}
func (h *handler) deleteMemberMFAPhone(r *http.Request, p *auth.Project) (response, error) {
	return nil, errTODO
}
func (h *handler) searchMembers(r *http.Request, p *auth.Project) (response, error) {
	return nil, errTODO
}
func (h *handler) dangerouslyGetMember(r *http.Request, p *auth.Project) (response, error) {
	return nil, errTODO
}
