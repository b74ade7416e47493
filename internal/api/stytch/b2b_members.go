package stytch

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	"github.com/sesame-auth/sesame/internal/api/httpx"
	"github.com/sesame-auth/sesame/internal/auth"
)

// Member management (§C.3). Paths take the organization's id, slug or
// external id and the member's id or external id. Calls that change a
// member honour the member-session headers (the service checks that the
// caller belongs to the organization and may act on that member).

// memberResponse is the body of every call that returns one member.
type memberResponse struct {
	meta
	MemberID     string           `json:"member_id"`
	Member       memberJSON       `json:"member"`
	Organization organizationJSON `json:"organization"`
}

func newMemberResponse(m *auth.Member, o *auth.Organization) *memberResponse {
	return &memberResponse{MemberID: m.ID, Member: newMemberJSON(m, o), Organization: newOrganizationJSON(o)}
}

type createMemberRequest struct {
	EmailAddress          *string         `json:"email_address"`
	Name                  *string         `json:"name"`
	TrustedMetadata       json.RawMessage `json:"trusted_metadata"`
	UntrustedMetadata     json.RawMessage `json:"untrusted_metadata"`
	CreateMemberAsPending bool            `json:"create_member_as_pending"`
	IsBreakglass          *bool           `json:"is_breakglass"`
	MFAPhoneNumber        *string         `json:"mfa_phone_number"`
	MFAEnrolled           *bool           `json:"mfa_enrolled"`
	Roles                 []string        `json:"roles"`
	ExternalID            *string         `json:"external_id"`
}

// POST /v1/b2b/organizations/{organization_id}/members
func (h *handler) createMember(r *http.Request, p *auth.Project) (response, error) {
	var req createMemberRequest
	if err := httpx.DecodeJSON(r, &req); err != nil {
		return nil, err
	}
	if req.EmailAddress == nil || *req.EmailAddress == "" {
		return nil, auth.Invalid("email_address", "email_address is required.")
	}
	in := auth.MemberInput{
		EmailAddress: req.EmailAddress, Name: req.Name,
		TrustedMetadata: metadata(req.TrustedMetadata), UntrustedMetadata: metadata(req.UntrustedMetadata),
		CreatePending: req.CreateMemberAsPending, IsBreakglass: req.IsBreakglass,
		MFAPhoneNumber: req.MFAPhoneNumber, MFAEnrolled: req.MFAEnrolled,
		RoleIDs: req.Roles, ExternalID: req.ExternalID,
	}
	m, o, err := h.svc.CreateMember(r.Context(), p, r.PathValue("organization_id"), in, callerOf(r))
	if err != nil {
		return nil, err
	}
	return newMemberResponse(m, o), nil
}

// GET /v1/b2b/organizations/{organization_id}/member?member_id=…|email_address=…
func (h *handler) getMember(r *http.Request, p *auth.Project) (response, error) {
	q := r.URL.Query()
	memberID, email := q.Get("member_id"), q.Get("email_address")
	if memberID == "" && email == "" {
		return nil, auth.Invalid("member_id", "One of member_id or email_address is required.")
	}
	m, o, err := h.svc.GetMember(r.Context(), p, r.PathValue("organization_id"), memberID, email)
	if err != nil {
		return nil, err
	}
	return newMemberResponse(m, o), nil
}

type updateMemberRequest struct {
	Name                     *string         `json:"name"`
	TrustedMetadata          json.RawMessage `json:"trusted_metadata"`
	UntrustedMetadata        json.RawMessage `json:"untrusted_metadata"`
	IsBreakglass             *bool           `json:"is_breakglass"`
	MFAPhoneNumber           *string         `json:"mfa_phone_number"`
	MFAEnrolled              *bool           `json:"mfa_enrolled"`
	Roles                    []string        `json:"roles"`
	PreserveExistingSessions bool            `json:"preserve_existing_sessions"`
	DefaultMFAMethod         *string         `json:"default_mfa_method"`
	EmailAddress             *string         `json:"email_address"`
	ExternalID               *string         `json:"external_id"`
	UnlinkEmail              bool            `json:"unlink_email"`
}

// PUT /v1/b2b/organizations/{organization_id}/members/{member_id}. Only
// the fields present change; roles replaces the direct role assignments.
func (h *handler) updateMember(r *http.Request, p *auth.Project) (response, error) {
	var req updateMemberRequest
	if err := httpx.DecodeJSON(r, &req); err != nil {
		return nil, err
	}
	if req.UnlinkEmail {
		// A member without an email has no primary factor in Sesame
		// (no SSO or OAuth), so there is nothing to fall back on.
		return nil, auth.Invalid("unlink_email", "unlink_email is not supported: a member keeps its email address.")
	}
	in := auth.MemberInput{
		EmailAddress: req.EmailAddress, Name: req.Name,
		TrustedMetadata: metadata(req.TrustedMetadata), UntrustedMetadata: metadata(req.UntrustedMetadata),
		IsBreakglass: req.IsBreakglass, MFAPhoneNumber: req.MFAPhoneNumber, MFAEnrolled: req.MFAEnrolled,
		DefaultMFAMethod: req.DefaultMFAMethod, RoleIDs: req.Roles, ExternalID: req.ExternalID,
		PreserveExistingSessions: req.PreserveExistingSessions,
	}
	m, o, err := h.svc.UpdateMember(r.Context(), p, r.PathValue("organization_id"), r.PathValue("member_id"), in, callerOf(r))
	if err != nil {
		return nil, err
	}
	return newMemberResponse(m, o), nil
}

type memberIDResponse struct {
	meta
	MemberID string `json:"member_id"`
}

// DELETE /v1/b2b/organizations/{organization_id}/members/{member_id} (body
// {}): the member becomes deleted and its sessions end.
func (h *handler) deleteMember(r *http.Request, p *auth.Project) (response, error) {
	id, err := h.svc.DeleteMember(r.Context(), p, r.PathValue("organization_id"), r.PathValue("member_id"), callerOf(r))
	if err != nil {
		return nil, err
	}
	return &memberIDResponse{MemberID: id}, nil
}

// PUT /v1/b2b/organizations/{organization_id}/members/{member_id}/reactivate (body {})
func (h *handler) reactivateMember(r *http.Request, p *auth.Project) (response, error) {
	m, o, err := h.svc.ReactivateMember(r.Context(), p, r.PathValue("organization_id"), r.PathValue("member_id"), callerOf(r))
	if err != nil {
		return nil, err
	}
	return newMemberResponse(m, o), nil
}

// DELETE /v1/b2b/organizations/{organization_id}/members/mfa_phone_numbers/{member_id} (body {})
func (h *handler) deleteMemberMFAPhone(r *http.Request, p *auth.Project) (response, error) {
	m, o, err := h.svc.DeleteMemberMFAPhone(r.Context(), p, r.PathValue("organization_id"), r.PathValue("member_id"), callerOf(r))
	if err != nil {
		return nil, err
	}
	return newMemberResponse(m, o), nil
}

// GET /v1/b2b/organizations/members/dangerously_get/{member_id}?include_deleted=
// finds a member of any organization of the project by id.
func (h *handler) dangerouslyGetMember(r *http.Request, p *auth.Project) (response, error) {
	var includeDeleted bool
	if v := r.URL.Query().Get("include_deleted"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, auth.Invalid("include_deleted", "include_deleted must be true or false.")
		}
		includeDeleted = b
	}
	m, o, err := h.svc.DangerouslyGetMember(r.Context(), p, r.PathValue("member_id"), includeDeleted)
	if err != nil {
		return nil, err
	}
	return newMemberResponse(m, o), nil
}

type memberSearchResponse struct {
	meta
	Members         []memberJSON                `json:"members"`
	ResultsMetadata resultsMetadata             `json:"results_metadata"`
	Organizations   map[string]organizationJSON `json:"organizations"`
}

// POST /v1/b2b/organizations/members/search (filters in b2b_search.go).
// organizations holds every organization a returned member belongs to.
func (h *handler) searchMembers(r *http.Request, p *auth.Project) (response, error) {
	var req memberSearchRequest
	if err := httpx.DecodeJSON(r, &req); err != nil {
		return nil, err
	}
	q, empty, err := buildMemberQuery(&req)
	if err != nil {
		return nil, err
	}
	resp := &memberSearchResponse{Members: []memberJSON{}, Organizations: map[string]organizationJSON{}}
	if empty {
		// No member can match: nothing is read, so nothing to authorize.
		return resp, nil
	}
	page, orgs, err := h.svc.SearchMembers(r.Context(), p, q, callerOf(r))
	if err != nil {
		return nil, err
	}
	resp.ResultsMetadata = newResultsMetadata(page.Total, page.NextCursor)
	for _, m := range page.Members {
		o := orgs[m.OrganizationID]
		if o == nil {
			return nil, auth.Internal(fmt.Errorf("member search: no organization %s for member %s", m.OrganizationID, m.ID))
		}
		resp.Members = append(resp.Members, newMemberJSON(m, o))
		if _, ok := resp.Organizations[o.ID]; !ok {
			resp.Organizations[o.ID] = newOrganizationJSON(o)
		}
	}
	return resp, nil
}
