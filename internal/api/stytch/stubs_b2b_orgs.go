package stytch

// TEMPORARY: the organization and member handlers live in
// b2b_organizations.go and b2b_members.go. errTODO stays only while
// stubs_b2b_flows.go uses it; this file goes with that one.

import "github.com/sesame-auth/sesame/internal/auth"

var errTODO = auth.Errorf(auth.EInternal, "not implemented")
