package stytch_test

import (
	"net/url"
	"strings"
	"testing"
)

// memberStrings and memberBools are the Member's required scalar fields (§C.3).
var (
	memberStrings = []string{
		"organization_id", "member_id", "email_address", "status", "name", "member_password_id",
		"totp_registration_id", "mfa_phone_number", "default_mfa_method",
	}
	memberBools = []string{
		"is_breakglass", "email_address_verified", "mfa_phone_number_verified", "is_admin", "is_locked", "mfa_enrolled",
	}
)

// checkMemberObject checks the Member object shape of §C.3: every required
// field present with its type, arrays never null, roles with sources.
func checkMemberObject(t testing.TB, m obj) {
	t.Helper()
	if m == nil {
		t.Fatal("member is missing")
	}
	for _, k := range memberStrings {
		if _, ok := m[k].(string); !ok {
			t.Errorf("member.%s = %#v, want a string", k, m[k])
		}
	}
	for _, k := range memberBools {
		if _, ok := m[k].(bool); !ok {
			t.Errorf("member.%s = %#v, want a boolean", k, m[k])
		}
	}
	for _, k := range []string{"sso_registrations", "oauth_registrations", "retired_email_addresses"} {
		if a := checkArray(t, m, k); len(a) != 0 {
			t.Errorf("member.%s = %v, want []", k, a)
		}
	}
	if id := str(m, "member_id"); !strings.HasPrefix(id, "member-test-") {
		t.Errorf("member_id = %q", id)
	}
	for _, k := range []string{"trusted_metadata", "untrusted_metadata"} {
		if _, ok := m[k].(obj); !ok {
			t.Errorf("member.%s = %#v, want an object", k, m[k])
		}
	}
	roles := checkArray(t, m, "roles")
	if len(roles) == 0 || roles[0].(obj)["role_id"] != "stytch_member" {
		t.Errorf("roles = %v, want stytch_member first", roles)
	}
	for _, r := range roles {
		ro, _ := r.(obj)
		if str(ro, "role_id") == "" {
			t.Errorf("role without role_id: %v", r)
		}
		srcs := checkArray(t, ro, "sources")
		if len(srcs) == 0 {
			t.Errorf("role %v has no sources", r)
		}
		for _, s := range srcs {
			so, _ := s.(obj)
			if str(so, "type") == "" {
				t.Errorf("source without type: %v", s)
			}
			if _, ok := so["details"].(obj); !ok {
				t.Errorf("source details = %#v, want an object", so["details"])
			}
		}
	}
	if m["member_password_id"] != "" || m["totp_registration_id"] != "" || m["is_locked"] != false {
		t.Errorf("password/totp/lock fields: %v %v %v", m["member_password_id"], m["totp_registration_id"], m["is_locked"])
	}
	checkTime(t, "created_at", m["created_at"])
	checkTime(t, "updated_at", m["updated_at"])
}

// roleSources returns the source types of each of the member's roles.
func roleSources(m obj) map[string][]string {
	out := map[string][]string{}
	for _, r := range checkArrayQuiet(m, "roles") {
		ro := r.(obj)
		for _, s := range checkArrayQuiet(ro, "sources") {
			out[str(ro, "role_id")] = append(out[str(ro, "role_id")], str(s.(obj), "type"))
		}
	}
	return out
}

// memberPath is the path of a member route of the organization.
func memberPath(orgRef, memberRef string) string {
	return "/v1/b2b/organizations/" + url.PathEscape(orgRef) + "/members/" + url.PathEscape(memberRef)
}

func TestMemberLifecycleReturnsStytchShapes(t *testing.T) {
	f := newFixture(t)
	c := f.c
	o := mgmtOrg(t, c, "Initech", obj{"organization_slug": "initech"})
	orgID := str(o, "organization_id")
	email, phone := uniqueEmail("Peter"), uniquePhone()

	created := c.ok("POST", "/v1/b2b/organizations/initech/members", obj{
		"email_address": email, "name": "Peter Gibbons",
		"trusted_metadata": obj{"desk": 7}, "untrusted_metadata": obj{"theme": "dark"},
		"mfa_phone_number": phone, "mfa_enrolled": true, "external_id": "emp-7",
	})
	checkOrganizationObject(t, sub(created, "organization"))
	m := sub(created, "member")
	checkMemberObject(t, m)
	memberID := str(created, "member_id")
	if m["member_id"] != memberID || m["organization_id"] != orgID || m["email_address"] != strings.ToLower(email) ||
		m["status"] != "active" || m["name"] != "Peter Gibbons" || m["mfa_phone_number"] != phone ||
		m["mfa_phone_number_verified"] != false || m["mfa_enrolled"] != true || m["email_address_verified"] != false ||
		m["is_admin"] != false || m["is_breakglass"] != false || m["external_id"] != "emp-7" ||
		sub(m, "trusted_metadata")["desk"] != float64(7) || sub(m, "untrusted_metadata")["theme"] != "dark" {
		t.Errorf("create: %v", m)
	}
	if rs := roleSources(m); len(rs) != 1 || len(rs["stytch_member"]) != 1 || rs["stytch_member"][0] != "direct_assignment" {
		t.Errorf("roles = %v, want only stytch_member by direct_assignment", m["roles"])
	}

	t.Run("get by member_id, external id or email, on an id or a slug path", func(t *testing.T) {
		for _, path := range []string{
			"/v1/b2b/organizations/" + orgID + "/member?member_id=" + memberID,
			"/v1/b2b/organizations/initech/member?member_id=emp-7",
			"/v1/b2b/organizations/initech/member?email_address=" + url.QueryEscape(strings.ToUpper(email)),
		} {
			got := c.ok("GET", path, nil)
			checkMemberObject(t, sub(got, "member"))
			checkOrganizationObject(t, sub(got, "organization"))
			if got["member_id"] != memberID || sub(got, "organization")["organization_id"] != orgID {
				t.Errorf("GET %s: %v", path, got)
			}
		}
	})

	t.Run("update changes only the fields given", func(t *testing.T) {
		got := c.ok("PUT", memberPath("initech", memberID), obj{"name": "Peter G.", "untrusted_metadata": obj{"theme": "light"}})
		um := sub(got, "member")
		checkMemberObject(t, um)
		if got["member_id"] != memberID || um["name"] != "Peter G." || sub(um, "untrusted_metadata")["theme"] != "light" ||
			sub(um, "trusted_metadata")["desk"] != float64(7) || um["mfa_phone_number"] != phone || um["external_id"] != "emp-7" {
			t.Errorf("update: %v", um)
		}
	})

	t.Run("delete MFA phone number", func(t *testing.T) {
		got := c.ok("DELETE", "/v1/b2b/organizations/"+orgID+"/members/mfa_phone_numbers/"+memberID, nil)
		um := sub(got, "member")
		checkMemberObject(t, um)
		if got["member_id"] != memberID || um["mfa_phone_number"] != "" || um["mfa_phone_number_verified"] != false || um["mfa_enrolled"] != false {
			t.Errorf("delete MFA phone: %v", um)
		}
		checkOrganizationObject(t, sub(got, "organization"))
	})

	t.Run("delete, then only dangerously_get with include_deleted finds it", func(t *testing.T) {
		got := c.ok("DELETE", memberPath(orgID, memberID), nil)
		if got["member_id"] != memberID || len(got) != 3 {
			t.Errorf("delete: %v", got)
		}
		c.fail("GET", "/v1/b2b/organizations/"+orgID+"/member?member_id="+memberID, nil, 404, "member_not_found")
		c.fail("GET", "/v1/b2b/organizations/members/dangerously_get/"+memberID, nil, 404, "member_not_found")
		dg := c.ok("GET", "/v1/b2b/organizations/members/dangerously_get/"+memberID+"?include_deleted=true", nil)
		checkMemberObject(t, sub(dg, "member"))
		if dg["member_id"] != memberID || sub(dg, "member")["status"] != "deleted" || sub(dg, "organization")["organization_id"] != orgID {
			t.Errorf("dangerously_get: %v", dg)
		}
		c.fail("PUT", memberPath(orgID, memberID), obj{"name": "Ghost"}, 400, "action_available_only_for_active_members")
		c.fail("DELETE", memberPath(orgID, memberID), nil, 400, "action_available_only_for_active_members")
	})

	t.Run("reactivate", func(t *testing.T) {
		got := c.ok("PUT", memberPath(orgID, memberID)+"/reactivate", nil)
		checkMemberObject(t, sub(got, "member"))
		checkOrganizationObject(t, sub(got, "organization"))
		if got["member_id"] != memberID || sub(got, "member")["status"] != "active" {
			t.Errorf("reactivate: %v", got)
		}
		c.fail("PUT", memberPath(orgID, memberID)+"/reactivate", nil, 400, "bad_request")
		dg := c.ok("GET", "/v1/b2b/organizations/members/dangerously_get/"+memberID, nil)
		if sub(dg, "member")["status"] != "active" {
			t.Errorf("dangerously_get after reactivate: %v", dg)
		}
	})
}

func TestMemberRolesAndIsAdmin(t *testing.T) {
	f := newFixture(t)
	c := f.c
	orgID := str(mgmtOrg(t, c, "Roles Inc", obj{
		"rbac_email_implicit_role_assignments": []obj{{"domain": "admins.test", "role_id": "stytch_admin"}},
	}), "organization_id")

	for _, tc := range []struct {
		name    string
		email   string
		extra   obj
		admin   bool
		sources map[string][]string
	}{
		{"a plain member", "plain-" + uniqueEmail("r"), nil, false,
			map[string][]string{"stytch_member": {"direct_assignment"}}},
		{"a direct admin", uniqueEmail("direct"), obj{"roles": []string{"stytch_admin"}}, true,
			map[string][]string{"stytch_member": {"direct_assignment"}, "stytch_admin": {"direct_assignment"}}},
		{"an admin by email domain", "boss@admins.test", nil, true,
			map[string][]string{"stytch_member": {"direct_assignment"}, "stytch_admin": {"email_assignment"}}},
		{"an admin by both", "chief@admins.test", obj{"roles": []string{"stytch_member", "stytch_admin"}}, true,
			map[string][]string{"stytch_member": {"direct_assignment"}, "stytch_admin": {"direct_assignment", "email_assignment"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := mgmtMember(t, c, orgID, tc.email, tc.extra)
			if m["is_admin"] != tc.admin {
				t.Errorf("is_admin = %v, want %v", m["is_admin"], tc.admin)
			}
			got := roleSources(m)
			if len(got) != len(tc.sources) {
				t.Fatalf("roles = %v, want %v", m["roles"], tc.sources)
			}
			for role, want := range tc.sources {
				if strings.Join(got[role], ",") != strings.Join(want, ",") {
					t.Errorf("%s sources = %v, want %v", role, got[role], want)
				}
			}
			for _, r := range checkArrayQuiet(m, "roles") {
				for _, s := range checkArrayQuiet(r.(obj), "sources") {
					so := s.(obj)
					if so["type"] == "email_assignment" && sub(so, "details")["email_domain"] != "admins.test" {
						t.Errorf("email_assignment details = %v", so["details"])
					}
				}
			}
		})
	}

	t.Run("removing the admin role", func(t *testing.T) {
		id := str(mgmtMember(t, c, orgID, uniqueEmail("demoted"), obj{"roles": []string{"stytch_admin"}}), "member_id")
		m := sub(c.ok("PUT", memberPath(orgID, id), obj{"roles": []string{}}), "member")
		if m["is_admin"] != false || len(roleSources(m)) != 1 {
			t.Errorf("after demotion: %v", m)
		}
	})
}

func TestMemberRejectsBadInput(t *testing.T) {
	f := newFixture(t)
	c := f.c
	orgID := str(mgmtOrg(t, c, "Strict", nil), "organization_id")
	email := uniqueEmail("dup")
	memberID := str(mgmtMember(t, c, orgID, email, obj{"external_id": "ext-1"}), "member_id")
	members := "/v1/b2b/organizations/" + orgID + "/members"

	for _, tc := range []struct {
		name, method, path string
		body               any
		status             int
		errorType          string
	}{
		{"create without an email", "POST", members, obj{"name": "Nobody"}, 400, "bad_request"},
		{"create with a malformed email", "POST", members, obj{"email_address": "not-an-email"}, 400, "invalid_email"},
		{"create with the email of a member", "POST", members, obj{"email_address": strings.ToUpper(email)}, 400, "duplicate_member_email"},
		{"create with the external id of a member", "POST", members, obj{"email_address": uniqueEmail("x"), "external_id": "ext-1"}, 400, "duplicate_member_external_id"},
		{"create with a malformed phone", "POST", members, obj{"email_address": uniqueEmail("x"), "mfa_phone_number": "12"}, 400, "invalid_phone_number"},
		{"create with an unknown role", "POST", members, obj{"email_address": uniqueEmail("x"), "roles": []string{"root"}}, 400, "bad_request"},
		{"create with metadata not an object", "POST", members, obj{"email_address": uniqueEmail("x"), "trusted_metadata": "x"}, 400, "bad_request"},
		{"create with a name of the wrong type", "POST", members, `{"email_address": "a@strict.test", "name": {"first": "A"}}`, 400, "bad_request"},
		{"create with a name too long", "POST", members, obj{"email_address": uniqueEmail("x"), "name": strings.Repeat("n", 300)}, 400, "bad_request"},
		{"get without member_id or email", "GET", "/v1/b2b/organizations/" + orgID + "/member", nil, 400, "bad_request"},
		{"get with a malformed email", "GET", "/v1/b2b/organizations/" + orgID + "/member?email_address=nope", nil, 400, "invalid_email"},
		{"update with an unknown default MFA method", "PUT", memberPath(orgID, memberID), obj{"default_mfa_method": "pigeon"}, 400, "bad_request"},
		{"update with a malformed phone", "PUT", memberPath(orgID, memberID), obj{"mfa_phone_number": "+1"}, 400, "invalid_phone_number"},
		{"update with unlink_email", "PUT", memberPath(orgID, memberID), obj{"unlink_email": true}, 400, "bad_request"},
		{"reactivate an active member", "PUT", memberPath(orgID, memberID) + "/reactivate", nil, 400, "bad_request"},
		{"dangerously_get with a bad include_deleted", "GET", "/v1/b2b/organizations/members/dangerously_get/" + memberID + "?include_deleted=maybe", nil, 400, "bad_request"},
	} {
		t.Run(tc.name, func(t *testing.T) { c.fail(tc.method, tc.path, tc.body, tc.status, tc.errorType) })
	}

	// The same email may be a member of another organization.
	other := str(mgmtOrg(t, c, "Other", nil), "organization_id")
	if m := mgmtMember(t, c, other, email, nil); m["member_id"] == memberID || m["organization_id"] != other {
		t.Errorf("same email in another organization: %v", m)
	}
}

func TestUnknownMemberIsNotFound(t *testing.T) {
	f := newFixture(t)
	c := f.c
	orgID := str(mgmtOrg(t, c, "Sparse", nil), "organization_id")
	other := str(mgmtOrg(t, c, "Elsewhere", nil), "organization_id")
	// A member of another organization is not a member of this one.
	foreign := str(mgmtMember(t, c, other, uniqueEmail("foreign"), nil), "member_id")
	for _, ref := range []string{"member-test-00000000-0000-0000-0000-000000000000", foreign} {
		for _, tc := range []struct {
			name, method, path string
			body               any
		}{
			{"get", "GET", "/v1/b2b/organizations/" + orgID + "/member?member_id=" + ref, nil},
			{"update", "PUT", memberPath(orgID, ref), obj{"name": "X"}},
			{"delete", "DELETE", memberPath(orgID, ref), nil},
			{"reactivate", "PUT", memberPath(orgID, ref) + "/reactivate", nil},
			{"delete MFA phone", "DELETE", "/v1/b2b/organizations/" + orgID + "/members/mfa_phone_numbers/" + ref, nil},
		} {
			t.Run(tc.name+" "+ref[:20], func(t *testing.T) { c.fail(tc.method, tc.path, tc.body, 404, "member_not_found") })
		}
	}
	c.fail("GET", "/v1/b2b/organizations/"+orgID+"/member?email_address=nobody%40sparse.test", nil, 404, "member_not_found")
	c.fail("GET", "/v1/b2b/organizations/members/dangerously_get/member-test-00000000-0000-0000-0000-000000000000", nil, 404, "member_not_found")
}

// searchMemberIDs runs a member search and returns the member ids found
// and the body.
func searchMemberIDs(t testing.TB, c *client, body any) ([]string, obj) {
	t.Helper()
	m := c.ok("POST", "/v1/b2b/organizations/members/search", body)
	var ids []string
	orgs := sub(m, "organizations")
	if orgs == nil {
		t.Fatalf("organizations = %#v, want an object", m["organizations"])
	}
	for _, mem := range checkArray(t, m, "members") {
		mo := mem.(obj)
		checkMemberObject(t, mo)
		ids = append(ids, str(mo, "member_id"))
		o := sub(orgs, str(mo, "organization_id"))
		checkOrganizationObject(t, o)
	}
	if _, ok := sub(m, "results_metadata")["total"].(float64); !ok {
		t.Errorf("results_metadata = %v", m["results_metadata"])
	}
	return ids, m
}

func TestMemberSearchFilters(t *testing.T) {
	f := newFixture(t)
	c := f.c
	a := str(mgmtOrg(t, c, "Search A", nil), "organization_id")
	b := str(mgmtOrg(t, c, "Search B", nil), "organization_id")
	phone := uniquePhone()
	ann := str(mgmtMember(t, c, a, "ann-"+uniqueEmail("s"), obj{"mfa_phone_number": phone}), "member_id")
	bob := str(mgmtMember(t, c, a, "bob-"+uniqueEmail("s"), obj{"is_breakglass": true, "create_member_as_pending": true}), "member_id")
	cid := str(mgmtMember(t, c, b, "cid-"+uniqueEmail("s"), nil), "member_id")
	annEmail := str(c.ok("GET", "/v1/b2b/organizations/"+a+"/member?member_id="+ann, nil)["member"].(obj), "email_address")

	q := func(orgs []string, op string, operands ...obj) obj {
		body := obj{"organization_ids": orgs}
		if operands != nil {
			body["query"] = obj{"operator": op, "operands": operands}
		}
		return body
	}
	fl := func(name string, value any) obj { return obj{"filter_name": name, "filter_value": value} }
	ab := []string{a, b}

	for _, tc := range []struct {
		name string
		body any
		want []string
	}{
		{"every member of one organization", q([]string{a}, ""), []string{ann, bob}},
		{"every member of two organizations", q(ab, ""), []string{ann, bob, cid}},
		{"member_ids", q(ab, "AND", fl("member_ids", []string{cid})), []string{cid}},
		{"member_emails", q(ab, "AND", fl("member_emails", []string{strings.ToUpper(annEmail)})), []string{ann}},
		{"member_email_fuzzy", q(ab, "AND", fl("member_email_fuzzy", "bob-")), []string{bob}},
		{"statuses", q(ab, "AND", fl("statuses", []string{"pending"})), []string{bob}},
		{"member_is_breakglass", q(ab, "AND", fl("member_is_breakglass", false)), []string{ann, cid}},
		{"member_phone_numbers", q(ab, "AND", fl("member_phone_numbers", []string{phone})), []string{ann}},
		{"member_mfa_phone_numbers", q(ab, "AND", fl("member_mfa_phone_numbers", []string{phone})), []string{ann}},
		{"member_phone_number_fuzzy", q(ab, "AND", fl("member_phone_number_fuzzy", phone[len(phone)-6:])), []string{ann}},
		{"OR", q(ab, "OR", fl("member_ids", []string{cid}), fl("statuses", []string{"pending"})), []string{bob, cid}},
		{"AND", q(ab, "AND", fl("member_email_fuzzy", "-s-"), fl("statuses", []string{"active"})), []string{ann, cid}},
		{"an empty list matches nothing", q(ab, "AND", fl("member_ids", []string{})), nil},
		{"the search stays inside organization_ids", q([]string{b}, "AND", fl("member_ids", []string{ann, cid})), []string{cid}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ids, m := searchMemberIDs(t, c, tc.body)
			if !sameIDs(ids, tc.want...) {
				t.Errorf("found %v, want %v", ids, tc.want)
			}
			orgs := sub(m, "organizations")
			for id := range orgs {
				if id != a && id != b {
					t.Errorf("organizations has %s", id)
				}
			}
			if len(tc.want) == 0 && len(orgs) != 0 {
				t.Errorf("organizations = %v, want {}", orgs)
			}
		})
	}

	for _, tc := range []struct {
		name      string
		body      any
		status    int
		errorType string
	}{
		{"no organization_ids", obj{}, 400, "bad_request"},
		{"empty organization_ids", q([]string{}, ""), 400, "bad_request"},
		{"an unknown organization", q([]string{"organization-test-00000000-0000-0000-0000-000000000000"}, ""), 404, "organization_not_found"},
		{"an unknown filter", q(ab, "AND", fl("member_shoe_size", []string{"9"})), 400, "invalid_search_filter"},
		{"an unknown status", q(ab, "AND", fl("statuses", []string{"retired"})), 400, "invalid_search_filter"},
		{"a flag given a list", q(ab, "AND", fl("member_is_breakglass", []bool{true})), 400, "invalid_search_filter"},
		{"both names of the phone filter", q(ab, "OR", fl("member_phone_numbers", []string{phone}), fl("member_mfa_phone_numbers", []string{phone})), 400, "invalid_search_filter"},
	} {
		t.Run("refuses "+tc.name, func(t *testing.T) {
			c.fail("POST", "/v1/b2b/organizations/members/search", tc.body, tc.status, tc.errorType)
		})
	}
}

func TestMemberChangesNeedTheRightSession(t *testing.T) {
	f := newFixture(t)
	c := f.c
	a := str(mgmtOrg(t, c, "Team A", nil), "organization_id")
	b := str(mgmtOrg(t, c, "Team B", nil), "organization_id")
	admin := str(mgmtMember(t, c, a, uniqueEmail("admin"), obj{"roles": []string{"stytch_admin"}}), "member_id")
	plain := str(mgmtMember(t, c, a, uniqueEmail("plain"), obj{"mfa_phone_number": uniquePhone()}), "member_id")
	peer := str(mgmtMember(t, c, a, uniqueEmail("peer"), obj{"mfa_phone_number": uniquePhone()}), "member_id")
	outsider := str(mgmtMember(t, c, b, uniqueEmail("outsider"), obj{"roles": []string{"stytch_admin"}}), "member_id")
	adminTok, _ := mgmtSession(t, f, a, admin)
	plainTok, plainJWT := mgmtSession(t, f, a, plain)
	outsiderTok, _ := mgmtSession(t, f, b, outsider)
	asAdmin := withHeader(c, "X-Stytch-Member-Session", adminTok)
	asPlain := withHeader(c, "X-Stytch-Member-Session", plainTok)
	asPlainJWT := withHeader(c, "X-Stytch-Member-SessionJWT", plainJWT)
	asOutsider := withHeader(c, "X-Stytch-Member-Session", outsiderTok)
	search := obj{"organization_ids": []string{a}}

	for _, tc := range []struct {
		name         string
		as           *client
		method, path string
		body         any
	}{
		{"outsider creates a member", asOutsider, "POST", "/v1/b2b/organizations/" + a + "/members", obj{"email_address": uniqueEmail("x")}},
		{"outsider updates a member", asOutsider, "PUT", memberPath(a, plain), obj{"name": "Hacked"}},
		{"outsider deletes a member", asOutsider, "DELETE", memberPath(a, plain), nil},
		{"outsider deletes an MFA phone", asOutsider, "DELETE", "/v1/b2b/organizations/" + a + "/members/mfa_phone_numbers/" + plain, nil},
		{"outsider searches the organization", asOutsider, "POST", "/v1/b2b/organizations/members/search", search},
		{"non-admin creates a member", asPlain, "POST", "/v1/b2b/organizations/" + a + "/members", obj{"email_address": uniqueEmail("x")}},
		{"non-admin updates a peer", asPlain, "PUT", memberPath(a, peer), obj{"name": "Renamed"}},
		{"non-admin makes itself admin", asPlainJWT, "PUT", memberPath(a, plain), obj{"roles": []string{"stytch_admin"}}},
		{"non-admin deletes a peer", asPlain, "DELETE", memberPath(a, peer), nil},
		{"non-admin deletes a peer's MFA phone", asPlain, "DELETE", "/v1/b2b/organizations/" + a + "/members/mfa_phone_numbers/" + peer, nil},
		{"non-admin reactivates", asPlain, "PUT", memberPath(a, peer) + "/reactivate", nil},
		{"a member of A searches A and B", asPlain, "POST", "/v1/b2b/organizations/members/search", obj{"organization_ids": []string{a, b}}},
	} {
		t.Run("refuses "+tc.name, func(t *testing.T) { tc.as.fail(tc.method, tc.path, tc.body, 403, "unauthorized_action") })
	}
	if got := sub(c.ok("GET", "/v1/b2b/organizations/"+a+"/member?member_id="+peer, nil), "member"); got["name"] != "" || got["status"] != "active" || got["mfa_phone_number"] == "" {
		t.Fatalf("a refused caller changed the peer: %v", got)
	}

	t.Run("a member may rename itself and drop its own MFA phone", func(t *testing.T) {
		if m := sub(asPlainJWT.ok("PUT", memberPath(a, plain), obj{"name": "Plain Jane"}), "member"); m["name"] != "Plain Jane" {
			t.Errorf("self update: %v", m)
		}
		if m := sub(asPlain.ok("DELETE", "/v1/b2b/organizations/"+a+"/members/mfa_phone_numbers/"+plain, nil), "member"); m["mfa_phone_number"] != "" {
			t.Errorf("self MFA phone delete: %v", m)
		}
	})
	t.Run("a member may search its own organization", func(t *testing.T) {
		if ids, _ := searchMemberIDs(t, asPlain, search); len(ids) != 3 {
			t.Errorf("search: %v", ids)
		}
	})
	t.Run("an admin may manage members", func(t *testing.T) {
		id := str(asAdmin.ok("POST", "/v1/b2b/organizations/"+a+"/members", obj{"email_address": uniqueEmail("hired")}), "member_id")
		asAdmin.ok("PUT", memberPath(a, peer), obj{"name": "Renamed"})
		if m := asAdmin.ok("DELETE", memberPath(a, id), nil); m["member_id"] != id {
			t.Errorf("admin delete: %v", m)
		}
		asAdmin.ok("PUT", memberPath(a, id)+"/reactivate", nil)
	})
}

func TestMembersOfAnotherProjectAreNotFound(t *testing.T) {
	f := newFixture(t)
	a := f.c
	b := f.project(t, false)
	orgID := str(mgmtOrg(t, a, "Hidden", obj{"organization_slug": "hidden"}), "organization_id")
	email := uniqueEmail("hidden")
	memberID := str(mgmtMember(t, a, orgID, email, obj{"mfa_phone_number": uniquePhone()}), "member_id")
	// B has an organization of the same slug: A's members are still not B's.
	bOrg := str(mgmtOrg(t, b, "Hidden Too", obj{"organization_slug": "hidden"}), "organization_id")

	for _, tc := range []struct {
		name, method, path string
		body               any
		errorType          string
	}{
		{"get by id", "GET", "/v1/b2b/organizations/" + orgID + "/member?member_id=" + memberID, nil, "organization_not_found"},
		{"create in A's organization", "POST", "/v1/b2b/organizations/" + orgID + "/members", obj{"email_address": uniqueEmail("x")}, "organization_not_found"},
		{"update", "PUT", memberPath(orgID, memberID), obj{"name": "Mallory"}, "organization_not_found"},
		{"delete", "DELETE", memberPath(orgID, memberID), nil, "organization_not_found"},
		{"delete MFA phone", "DELETE", "/v1/b2b/organizations/" + orgID + "/members/mfa_phone_numbers/" + memberID, nil, "organization_not_found"},
		{"reactivate", "PUT", memberPath(orgID, memberID) + "/reactivate", nil, "organization_not_found"},
		{"get through B's same slug", "GET", "/v1/b2b/organizations/hidden/member?member_id=" + memberID, nil, "member_not_found"},
		{"get by email through B's same slug", "GET", "/v1/b2b/organizations/hidden/member?email_address=" + url.QueryEscape(email), nil, "member_not_found"},
		{"update through B's same slug", "PUT", memberPath("hidden", memberID), obj{"name": "Mallory"}, "member_not_found"},
		{"dangerously_get", "GET", "/v1/b2b/organizations/members/dangerously_get/" + memberID + "?include_deleted=true", nil, "member_not_found"},
		{"search A's organization", "POST", "/v1/b2b/organizations/members/search", obj{"organization_ids": []string{orgID}}, "organization_not_found"},
	} {
		t.Run(tc.name, func(t *testing.T) { b.fail(tc.method, tc.path, tc.body, 404, tc.errorType) })
	}
	if ids, _ := searchMemberIDs(t, b, obj{"organization_ids": []string{bOrg}, "query": obj{"operator": "OR", "operands": []obj{
		{"filter_name": "member_ids", "filter_value": []string{memberID}},
		{"filter_name": "member_emails", "filter_value": []string{email}},
	}}}); len(ids) != 0 {
		t.Errorf("B finds A's member: %v", ids)
	}

	// A is untouched.
	got := sub(a.ok("GET", "/v1/b2b/organizations/"+orgID+"/member?member_id="+memberID, nil), "member")
	if got["status"] != "active" || got["name"] != "" || got["mfa_phone_number"] == "" {
		t.Errorf("A's member changed: %v", got)
	}
}

// FuzzB2BSearch: no search body makes the organization or member search
// answer 5xx.
func FuzzB2BSearch(f *testing.F) {
	fx := newFixture(f)
	orgID := str(mgmtOrg(f, fx.c, "Fuzzed", nil), "organization_id")
	mgmtMember(f, fx.c, orgID, uniqueEmail("fuzz"), obj{"mfa_phone_number": uniquePhone()})
	for _, seed := range []string{
		`{}`, `null`, `[]`, `{"limit":-1}`, `{"limit":1e300}`, `{"cursor":"garbage"}`,
		`{"cursor":"` + strings.Repeat("z", 2000) + `"}`,
		`{"organization_ids":["` + orgID + `"]}`,
		`{"organization_ids":["` + orgID + `"],"cursor":"garbage","limit":1}`,
		`{"organization_ids":["` + orgID + `",""],"query":{"operator":"OR","operands":[{"filter_name":"member_ids","filter_value":["a"]},{"filter_name":"statuses","filter_value":["active"]}]}}`,
		`{"organization_ids":["` + orgID + `"],"query":{"operands":[{"filter_name":"member_email_fuzzy","filter_value":"%_\\"}]}}`,
		`{"organization_ids":["` + orgID + `"],"query":{"operands":[{"filter_name":"member_phone_numbers","filter_value":["+1","x\u0000"]}]}}`,
		`{"query":{"operator":"AND","operands":[{"filter_name":"organization_name_fuzzy","filter_value":"%"},{"filter_name":"allowed_domains","filter_value":["` + strings.Repeat("d", 300) + `"]}]}}`,
		`{"query":{"operator":"OR","operands":[{"filter_name":"has_active_sso_connection","filter_value":false},{"filter_name":"member_emails","filter_value":["A@B.C"]}]}}`,
		`{"query":{"operands":[{"filter_name":null,"filter_value":null}]}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		fuzzPost(t, fx, "/v1/b2b/organizations/search", body)
		fuzzPost(t, fx, "/v1/b2b/organizations/members/search", body)
	})
}
