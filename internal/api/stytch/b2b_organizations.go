package stytch

import (
	"net/http"

	"github.com/sesame-auth/sesame/internal/api/httpx"
	"github.com/sesame-auth/sesame/internal/auth"
)

// Organization management (§C.2). Wherever a path takes organization_id,
// the organization's slug or external id works too (the service resolves
// the reference). Update and delete honour the member-session headers: the
// caller must be an admin of that organization.

type organizationResponse struct {
	meta
	Organization organizationJSON `json:"organization"`
}

// POST /v1/b2b/organizations
func (h *handler) createOrganization(r *http.Request, p *auth.Project) (response, error) {
	var body organizationBody
	if err := httpx.DecodeJSON(r, &body); err != nil {
		return nil, err
	}
	if body.OrganizationName == nil {
		return nil, auth.Invalid("organization_name", "organization_name is required.")
	}
	o, err := h.svc.CreateOrganization(r.Context(), p, body.toInput())
	if err != nil {
		return nil, err
	}
	return &organizationResponse{Organization: newOrganizationJSON(o)}, nil
}

// GET /v1/b2b/organizations/{organization_id}
func (h *handler) getOrganization(r *http.Request, p *auth.Project) (response, error) {
	o, err := h.svc.GetOrganization(r.Context(), p, r.PathValue("organization_id"))
	if err != nil {
		return nil, err
	}
	return &organizationResponse{Organization: newOrganizationJSON(o)}, nil
}

// PUT (SDK) or POST (seed 004) /v1/b2b/organizations/{organization_id}.
// Only the fields present change.
func (h *handler) updateOrganization(r *http.Request, p *auth.Project) (response, error) {
	var body organizationBody
	if err := httpx.DecodeJSON(r, &body); err != nil {
		return nil, err
	}
	o, err := h.svc.UpdateOrganization(r.Context(), p, r.PathValue("organization_id"), body.toInput(), callerOf(r))
	if err != nil {
		return nil, err
	}
	return &organizationResponse{Organization: newOrganizationJSON(o)}, nil
}

type organizationIDResponse struct {
	meta
	OrganizationID string `json:"organization_id"`
}

// DELETE /v1/b2b/organizations/{organization_id} (body {}): deletes the
// organization with its members and their sessions.
func (h *handler) deleteOrganization(r *http.Request, p *auth.Project) (response, error) {
	id, err := h.svc.DeleteOrganization(r.Context(), p, r.PathValue("organization_id"), callerOf(r))
	if err != nil {
		return nil, err
	}
	return &organizationIDResponse{OrganizationID: id}, nil
}

type metricsResponse struct {
	meta
	MemberCount int `json:"member_count"`
}

// GET /v1/b2b/organizations/{organization_id}/metrics
func (h *handler) organizationMetrics(r *http.Request, p *auth.Project) (response, error) {
	n, err := h.svc.OrganizationMetrics(r.Context(), p, r.PathValue("organization_id"))
	if err != nil {
		return nil, err
	}
	return &metricsResponse{MemberCount: n}, nil
}

// resultsMetadata is B2B search paging: the total number of matches and
// the cursor of the next page (null on the last).
type resultsMetadata struct {
	Total      int     `json:"total"`
	NextCursor *string `json:"next_cursor"`
}

func newResultsMetadata(total int, next string) resultsMetadata {
	m := resultsMetadata{Total: total}
	if next != "" {
		m.NextCursor = &next
	}
	return m
}

type organizationSearchResponse struct {
	meta
	Organizations   []organizationJSON `json:"organizations"`
	ResultsMetadata resultsMetadata    `json:"results_metadata"`
}

// POST /v1/b2b/organizations/search (filters in b2b_search.go).
func (h *handler) searchOrganizations(r *http.Request, p *auth.Project) (response, error) {
	var req searchRequest
	if err := httpx.DecodeJSON(r, &req); err != nil {
		return nil, err
	}
	q, empty, err := buildOrganizationQuery(&req)
	if err != nil {
		return nil, err
	}
	resp := &organizationSearchResponse{Organizations: []organizationJSON{}}
	if empty {
		return resp, nil
	}
	page, err := h.svc.SearchOrganizations(r.Context(), p, q)
	if err != nil {
		return nil, err
	}
	for _, o := range page.Organizations {
		resp.Organizations = append(resp.Organizations, newOrganizationJSON(o))
	}
	resp.ResultsMetadata = newResultsMetadata(page.Total, page.NextCursor)
	return resp, nil
}
