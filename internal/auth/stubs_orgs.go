package auth

// TEMPORARY: the organization and member services live in
// organizations.go, members.go and rbac.go. errB2BNotImplemented stays
// until stubs_flows.go, its last user, is gone; delete this file with it.

var errB2BNotImplemented = Errorf(EInternal, "not implemented")
