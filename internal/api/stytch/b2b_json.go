package stytch

import "github.com/sesame-auth/sesame/internal/auth"

// organizationJSON is the Organization object (§C.2). Every required
// array is non-nil. (TEMPORARY shape: the organizations adapter helper
// fills in every field.)
type organizationJSON struct {
	OrganizationID string `json:"organization_id"`
}

func newOrganizationJSON(o *auth.Organization) organizationJSON {
	return organizationJSON{OrganizationID: o.ID}
}

// memberJSON is the Member object (§C.3). (TEMPORARY shape, as above.)
type memberJSON struct {
	MemberID string `json:"member_id"`
}

func newMemberJSON(m *auth.Member, o *auth.Organization) memberJSON {
	return memberJSON{MemberID: m.ID}
}
