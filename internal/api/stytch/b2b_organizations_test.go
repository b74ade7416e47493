package stytch_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/internal/api/stytch"
	"github.com/sesame-auth/sesame/internal/auth"
)

// headerHandler adds one request header before serving: a client whose
// calls carry a member-session header.
type headerHandler struct {
	h           http.Handler
	name, value string
}

func (hh headerHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	r.Header.Set(hh.name, hh.value)
	hh.h.ServeHTTP(w, r)
}

// withHeader returns a copy of c whose requests carry the header.
func withHeader(c *client, name, value string) *client {
	cc := *c
	cc.h = headerHandler{h: c.h, name: name, value: value}
	return &cc
}

// mgmtOrg creates an organization named name (slug derived) with the
// extra settings and returns the Organization object.
func mgmtOrg(t testing.TB, c *client, name string, extra obj) obj {
	t.Helper()
	body := obj{"organization_name": name}
	for k, v := range extra {
		body[k] = v
	}
	m := c.ok("POST", "/v1/b2b/organizations", body)
	o := sub(m, "organization")
	checkOrganizationObject(t, o)
	return o
}

// mgmtMember creates a member of org with the extra fields and returns the
// Member object.
func mgmtMember(t testing.TB, c *client, orgID, email string, extra obj) obj {
	t.Helper()
	body := obj{"email_address": email}
	for k, v := range extra {
		body[k] = v
	}
	m := c.ok("POST", "/v1/b2b/organizations/"+orgID+"/members", body)
	mem := sub(m, "member")
	checkMemberObject(t, mem)
	if m["member_id"] != mem["member_id"] || sub(m, "organization")["organization_id"] != orgID {
		t.Fatalf("create member: %v", m)
	}
	return mem
}

// mgmtSession starts a live member session for a member of the fixture's
// project, as a finished login would, and returns its token and JWT. It
// writes the session row directly: these tests are about what a session
// may do, not how it is obtained.
func mgmtSession(t testing.TB, f *fixture, orgID, memberID string) (token, jwtStr string) {
	t.Helper()
	ctx := context.Background()
	p := f.env.Project
	now := time.Now().UTC()
	token = auth.NewToken()
	sess := &auth.Session{
		ID: auth.NewID(auth.PrefixMemberSession, p), ProjectID: p.ID, MemberID: memberID, OrganizationID: orgID,
		TokenHash: f.env.Keys.TokenHash(token), StartedAt: now, LastAccessedAt: now, ExpiresAt: now.Add(time.Hour),
		Factors:      []auth.Factor{{Type: "magic_link", DeliveryMethod: "email", LastAuthenticatedAt: now, CreatedAt: now, UpdatedAt: now}},
		CustomClaims: map[string]any{}, Roles: []string{auth.RoleMember},
	}
	if err := f.env.Store.CreateSession(ctx, sess, f.env.Keys.Encrypt([]byte(token), []byte(sess.ID))); err != nil {
		t.Fatal(err)
	}
	jwtStr, err := f.env.Signer.SignSession(ctx, sess)
	if err != nil {
		t.Fatal(err)
	}
	return token, jwtStr
}

// orgArrays are the Organization's required arrays (§C.2).
var orgArrays = []string{
	"sso_jit_provisioning_allowed_connections", "sso_active_connections", "email_allowed_domains",
	"allowed_auth_methods", "rbac_email_implicit_role_assignments", "allowed_mfa_methods",
	"claimed_email_domains", "allowed_first_party_connected_apps", "allowed_third_party_connected_apps", "custom_roles",
}

// orgStrings are the Organization's required strings (§C.2).
var orgStrings = []string{
	"organization_id", "organization_name", "organization_logo_url", "organization_slug",
	"sso_jit_provisioning", "email_jit_provisioning", "email_invites", "auth_methods", "mfa_policy",
	"mfa_methods", "oauth_tenant_jit_provisioning", "first_party_connected_apps_allowed_type",
	"third_party_connected_apps_allowed_type",
}

// checkOrganizationObject checks the Organization object shape of §C.2:
// every required field present with its type, arrays never null.
func checkOrganizationObject(t testing.TB, o obj) {
	t.Helper()
	if o == nil {
		t.Fatal("organization is missing")
	}
	for _, k := range orgStrings {
		if _, ok := o[k].(string); !ok {
			t.Errorf("organization.%s = %#v, want a string", k, o[k])
		}
	}
	for _, k := range orgArrays {
		checkArray(t, o, k)
	}
	if id := str(o, "organization_id"); !strings.HasPrefix(id, "organization-test-") {
		t.Errorf("organization_id = %q", id)
	}
	for _, k := range []string{"trusted_metadata", "allowed_oauth_tenants"} {
		if _, ok := o[k].(obj); !ok {
			t.Errorf("organization.%s = %#v, want an object", k, o[k])
		}
	}
	checkTime(t, "created_at", o["created_at"])
	checkTime(t, "updated_at", o["updated_at"])
}

func TestOrganizationCreateSetsEveryDefault(t *testing.T) {
	f := newFixture(t)
	o := mgmtOrg(t, f.c, "Acme Widgets", nil)
	for k, want := range map[string]string{
		"organization_name":                       "Acme Widgets",
		"organization_slug":                       "acme-widgets",
		"organization_logo_url":                   "",
		"organization_external_id":                "",
		"mfa_policy":                              "OPTIONAL",
		"mfa_methods":                             "ALL_ALLOWED",
		"auth_methods":                            "ALL_ALLOWED",
		"email_jit_provisioning":                  "NOT_ALLOWED",
		"email_invites":                           "ALL_ALLOWED",
		"sso_jit_provisioning":                    "ALL_ALLOWED",
		"oauth_tenant_jit_provisioning":           "NOT_ALLOWED",
		"first_party_connected_apps_allowed_type": "ALL_ALLOWED",
		"third_party_connected_apps_allowed_type": "ALL_ALLOWED",
	} {
		if o[k] != want {
			t.Errorf("%s = %v, want %q", k, o[k], want)
		}
	}
	for _, k := range orgArrays {
		if a := checkArray(t, o, k); len(a) != 0 {
			t.Errorf("%s = %v, want []", k, a)
		}
	}
	if len(sub(o, "trusted_metadata")) != 0 || len(sub(o, "allowed_oauth_tenants")) != 0 {
		t.Errorf("metadata: %v / %v", o["trusted_metadata"], o["allowed_oauth_tenants"])
	}
	if o["sso_default_connection_id"] != nil || o["scim_active_connection"] != nil {
		t.Errorf("sso_default_connection_id / scim_active_connection = %v / %v, want null", o["sso_default_connection_id"], o["scim_active_connection"])
	}
}

func TestOrganizationLifecycleReturnsStytchShapes(t *testing.T) {
	f := newFixture(t)
	c := f.c
	o := mgmtOrg(t, c, "Globex", obj{
		"organization_slug":                    "globex.corp",
		"organization_logo_url":                "https://globex.test/logo.png",
		"organization_external_id":             "crm-42",
		"trusted_metadata":                     obj{"tier": "gold"},
		"email_allowed_domains":                []string{"Globex.test"},
		"email_jit_provisioning":               "RESTRICTED",
		"email_invites":                        "RESTRICTED",
		"auth_methods":                         "RESTRICTED",
		"allowed_auth_methods":                 []string{"magic_link", "email_otp"},
		"mfa_methods":                          "RESTRICTED",
		"allowed_mfa_methods":                  []string{"sms_otp"},
		"rbac_email_implicit_role_assignments": []obj{{"domain": "globex.test", "role_id": "stytch_admin"}},
	})
	orgID := str(o, "organization_id")
	if o["organization_slug"] != "globex.corp" || o["organization_external_id"] != "crm-42" || sub(o, "trusted_metadata")["tier"] != "gold" ||
		o["email_jit_provisioning"] != "RESTRICTED" || o["auth_methods"] != "RESTRICTED" || o["mfa_methods"] != "RESTRICTED" {
		t.Errorf("create: %v", o)
	}
	if d := checkArray(t, o, "email_allowed_domains"); len(d) != 1 || d[0] != "globex.test" {
		t.Errorf("email_allowed_domains = %v, want [globex.test]", d)
	}
	if a := checkArray(t, o, "rbac_email_implicit_role_assignments"); len(a) != 1 || a[0].(obj)["role_id"] != "stytch_admin" || a[0].(obj)["domain"] != "globex.test" {
		t.Errorf("rbac_email_implicit_role_assignments = %v", a)
	}

	t.Run("get by id, slug or external id", func(t *testing.T) {
		for _, ref := range []string{orgID, "globex.corp", "crm-42"} {
			m := c.ok("GET", "/v1/b2b/organizations/"+url.PathEscape(ref), nil)
			got := sub(m, "organization")
			checkOrganizationObject(t, got)
			if got["organization_id"] != orgID {
				t.Errorf("get %s: %v", ref, got)
			}
		}
	})

	t.Run("seed 004 updates with POST and changes only mfa_policy", func(t *testing.T) {
		m := c.ok("POST", "/v1/b2b/organizations/"+orgID, `{"mfa_policy": "REQUIRED_FOR_ALL"}`)
		got := sub(m, "organization")
		checkOrganizationObject(t, got)
		if got["mfa_policy"] != "REQUIRED_FOR_ALL" || got["organization_name"] != "Globex" || got["email_jit_provisioning"] != "RESTRICTED" ||
			len(checkArray(t, got, "allowed_mfa_methods")) != 1 {
			t.Errorf("update: %v", got)
		}
		if again := sub(c.ok("GET", "/v1/b2b/organizations/"+orgID, nil), "organization"); again["mfa_policy"] != "REQUIRED_FOR_ALL" {
			t.Errorf("mfa_policy not stored: %v", again["mfa_policy"])
		}
	})

	t.Run("SDK updates with PUT by slug; an empty list clears", func(t *testing.T) {
		m := c.ok("PUT", "/v1/b2b/organizations/globex.corp", obj{"organization_name": "Globex Inc", "allowed_auth_methods": []string{}, "auth_methods": "ALL_ALLOWED"})
		got := sub(m, "organization")
		if got["organization_id"] != orgID || got["organization_name"] != "Globex Inc" || got["auth_methods"] != "ALL_ALLOWED" ||
			len(checkArray(t, got, "allowed_auth_methods")) != 0 || got["mfa_policy"] != "REQUIRED_FOR_ALL" {
			t.Errorf("update: %v", got)
		}
	})

	t.Run("metrics count members", func(t *testing.T) {
		if n := c.ok("GET", "/v1/b2b/organizations/"+orgID+"/metrics", nil)["member_count"]; n != float64(0) {
			t.Errorf("member_count = %v, want 0", n)
		}
		mgmtMember(t, c, orgID, uniqueEmail("m1"), nil)
		mgmtMember(t, c, orgID, uniqueEmail("m2"), nil)
		if n := c.ok("GET", "/v1/b2b/organizations/globex.corp/metrics", nil)["member_count"]; n != float64(2) {
			t.Errorf("member_count = %v, want 2", n)
		}
	})

	t.Run("delete answers the id, then the organization is gone", func(t *testing.T) {
		m := c.ok("DELETE", "/v1/b2b/organizations/globex.corp", nil)
		if m["organization_id"] != orgID {
			t.Errorf("delete: %v", m)
		}
		c.fail("GET", "/v1/b2b/organizations/"+orgID, nil, 404, "organization_not_found")
		c.fail("DELETE", "/v1/b2b/organizations/"+orgID, nil, 404, "organization_not_found")
	})
}

func TestOrganizationRejectsBadInput(t *testing.T) {
	f := newFixture(t)
	c := f.c
	mgmtOrg(t, c, "Taken", obj{"organization_slug": "taken", "organization_external_id": "ext-taken"})
	target := str(mgmtOrg(t, c, "Target", nil), "organization_id")

	for _, tc := range []struct {
		name      string
		method    string
		path      string
		body      any
		status    int
		errorType string
	}{
		{"create without a name", "POST", "/v1/b2b/organizations", obj{"organization_slug": "noname"}, 400, "bad_request"},
		{"create with a blank name", "POST", "/v1/b2b/organizations", obj{"organization_name": "  "}, 400, "bad_request"},
		{"slug with a space", "POST", "/v1/b2b/organizations", obj{"organization_name": "X", "organization_slug": "a b"}, 400, "invalid_organization_slug"},
		{"slug of one character", "POST", "/v1/b2b/organizations", obj{"organization_name": "X", "organization_slug": "a"}, 400, "invalid_organization_slug"},
		{"slug already used", "POST", "/v1/b2b/organizations", obj{"organization_name": "X", "organization_slug": "taken"}, 400, "organization_slug_already_used"},
		{"update to a used slug", "PUT", "/v1/b2b/organizations/" + target, obj{"organization_slug": "taken"}, 400, "organization_slug_already_used"},
		{"external id already used", "POST", "/v1/b2b/organizations", obj{"organization_name": "Dup Ext", "organization_external_id": "ext-taken"}, 400, "duplicate_external_id"},
		{"common email domain", "POST", "/v1/b2b/organizations", obj{"organization_name": "Gmailers", "email_allowed_domains": []string{"gmail.com"}}, 400, "organization_settings_domain_too_common"},
		{"update to a common email domain", "POST", "/v1/b2b/organizations/" + target, obj{"email_allowed_domains": []string{"acme.test", "Outlook.com"}}, 400, "organization_settings_domain_too_common"},
		{"malformed domain", "PUT", "/v1/b2b/organizations/" + target, obj{"email_allowed_domains": []string{"not a domain"}}, 400, "bad_request"},
		{"unknown mfa_policy", "POST", "/v1/b2b/organizations/" + target, obj{"mfa_policy": "ALWAYS"}, 400, "bad_request"},
		{"unknown auth method", "PUT", "/v1/b2b/organizations/" + target, obj{"allowed_auth_methods": []string{"carrier_pigeon"}}, 400, "bad_request"},
		{"unknown mfa method", "PUT", "/v1/b2b/organizations/" + target, obj{"allowed_mfa_methods": []string{"fax"}}, 400, "bad_request"},
		{"unknown role in an assignment", "PUT", "/v1/b2b/organizations/" + target, obj{"rbac_email_implicit_role_assignments": []obj{{"domain": "acme.test", "role_id": "root"}}}, 400, "bad_request"},
		{"mfa_policy of the wrong type", "PUT", "/v1/b2b/organizations/" + target, `{"mfa_policy": true}`, 400, "bad_request"},
		{"trusted_metadata not an object", "PUT", "/v1/b2b/organizations/" + target, obj{"trusted_metadata": []int{1}}, 400, "bad_request"},
		{"malformed JSON", "POST", "/v1/b2b/organizations/" + target, `{"mfa_policy":`, 400, "bad_request"},
		{"NUL in the name", "POST", "/v1/b2b/organizations", obj{"organization_name": "a\x00b"}, 400, "bad_request"},
		{"name too long", "POST", "/v1/b2b/organizations", obj{"organization_name": strings.Repeat("n", 300)}, 400, "bad_request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := c.fail(tc.method, tc.path, tc.body, tc.status, tc.errorType)
			if str(m, "error_message") == "" {
				t.Errorf("no message: %v", m)
			}
		})
	}

	// Nothing of the refused updates was stored.
	got := sub(c.ok("GET", "/v1/b2b/organizations/"+target, nil), "organization")
	if got["mfa_policy"] != "OPTIONAL" || len(checkArray(t, got, "email_allowed_domains")) != 0 || got["organization_slug"] != "target" {
		t.Errorf("a refused update changed the organization: %v", got)
	}
}

func TestUnknownOrganizationIsNotFound(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		name, method, path string
		body               any
	}{
		{"get", "GET", "/v1/b2b/organizations/organization-test-00000000-0000-0000-0000-000000000000", nil},
		{"get by unknown slug", "GET", "/v1/b2b/organizations/no-such-slug", nil},
		{"update", "PUT", "/v1/b2b/organizations/no-such-slug", obj{"organization_name": "X"}},
		{"seed update", "POST", "/v1/b2b/organizations/no-such-slug", obj{"mfa_policy": "REQUIRED_FOR_ALL"}},
		{"delete", "DELETE", "/v1/b2b/organizations/no-such-slug", nil},
		{"metrics", "GET", "/v1/b2b/organizations/no-such-slug/metrics", nil},
		{"create member", "POST", "/v1/b2b/organizations/no-such-slug/members", obj{"email_address": "a@acme.test"}},
		{"get member", "GET", "/v1/b2b/organizations/no-such-slug/member?email_address=a%40acme.test", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f.c.fail(tc.method, tc.path, tc.body, 404, "organization_not_found")
		})
	}
}

// search runs an organization search and returns the organization ids found.
func searchOrgIDs(t testing.TB, c *client, body any) ([]string, obj) {
	t.Helper()
	m := c.ok("POST", "/v1/b2b/organizations/search", body)
	var ids []string
	for _, o := range checkArray(t, m, "organizations") {
		checkOrganizationObject(t, o.(obj))
		ids = append(ids, str(o.(obj), "organization_id"))
	}
	if _, ok := sub(m, "results_metadata")["total"].(float64); !ok {
		t.Errorf("results_metadata = %v", m["results_metadata"])
	}
	return ids, m
}

func sameIDs(got []string, want ...string) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i] != want[i] {
			return false
		}
	}
	return true
}

func TestOrganizationSearchFilters(t *testing.T) {
	f := newFixture(t)
	c := f.c
	a := str(mgmtOrg(t, c, "Alpha Labs", obj{"email_allowed_domains": []string{"alpha.test"}, "claimed_email_domains": []string{"alpha.test"}}), "organization_id")
	b := str(mgmtOrg(t, c, "Beta Works", obj{"email_allowed_domains": []string{"beta.test"}}), "organization_id")
	g := str(mgmtOrg(t, c, "Gamma Labs", nil), "organization_id")
	memberEmail := uniqueEmail("searcher")
	mgmtMember(t, c, b, memberEmail, nil)

	q := func(op string, operands ...obj) obj { return obj{"query": obj{"operator": op, "operands": operands}} }
	fl := func(name string, value any) obj { return obj{"filter_name": name, "filter_value": value} }

	for _, tc := range []struct {
		name string
		body any
		want []string
	}{
		{"no query lists every organization", obj{}, []string{a, b, g}},
		{"organization_ids", q("AND", fl("organization_ids", []string{g, a})), []string{a, g}},
		{"organization_slugs", q("AND", fl("organization_slugs", []string{"beta-works"})), []string{b}},
		{"organization_name_fuzzy", q("AND", fl("organization_name_fuzzy", "labs")), []string{a, g}},
		{"organization_slug_fuzzy", q("AND", fl("organization_slug_fuzzy", "ETA")), []string{b}},
		{"allowed_domains", q("AND", fl("allowed_domains", []string{"ALPHA.test"})), []string{a}},
		{"allowed_domain_fuzzy", q("AND", fl("allowed_domain_fuzzy", "beta")), []string{b}},
		{"claimed_email_domains", q("AND", fl("claimed_email_domains", []string{"alpha.test"})), []string{a}},
		{"member_emails", q("AND", fl("member_emails", []string{strings.ToUpper(memberEmail)})), []string{b}},
		{"member_email_fuzzy", q("AND", fl("member_email_fuzzy", "searcher")), []string{b}},
		{"AND narrows", q("AND", fl("organization_name_fuzzy", "labs"), fl("allowed_domains", []string{"alpha.test"})), []string{a}},
		{"OR widens", q("OR", fl("organization_slugs", []string{"beta-works"}), fl("allowed_domains", []string{"alpha.test"})), []string{a, b}},
		{"an empty list matches nothing", q("AND", fl("organization_ids", []string{})), nil},
		{"an empty fuzzy string matches everything", q("AND", fl("organization_name_fuzzy", "")), []string{a, b, g}},
		{"has_active_sso_connection true matches nothing", q("AND", fl("has_active_sso_connection", true)), nil},
		{"has_active_sso_connection false matches everything", q("AND", fl("has_active_sso_connection", false)), []string{a, b, g}},
		{"sso_connection_id matches nothing", q("AND", fl("sso_connection_id", "saml-connection-test-1")), nil},
		{"OR with an operand matching nothing", q("OR", fl("sso_connection_id", "x"), fl("organization_ids", []string{g})), []string{g}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ids, m := searchOrgIDs(t, c, tc.body)
			if !sameIDs(ids, tc.want...) {
				t.Errorf("found %v, want %v", ids, tc.want)
			}
			if total := sub(m, "results_metadata")["total"]; total != float64(len(tc.want)) {
				t.Errorf("total = %v, want %d", total, len(tc.want))
			}
		})
	}

	t.Run("pages follow next_cursor", func(t *testing.T) {
		var seen []string
		body := obj{"limit": 2}
		for range 3 {
			ids, m := searchOrgIDs(t, c, body)
			seen = append(seen, ids...)
			md := sub(m, "results_metadata")
			if md["total"] != float64(3) {
				t.Errorf("total = %v, want 3", md["total"])
			}
			next, _ := md["next_cursor"].(string)
			if next == "" {
				break
			}
			body = obj{"limit": 2, "cursor": next}
		}
		if !sameIDs(seen, a, b, g) {
			t.Errorf("pages gave %v, want %v", seen, []string{a, b, g})
		}
	})

	for _, tc := range []struct {
		name      string
		body      any
		errorType string
	}{
		{"unknown filter", q("AND", fl("organization_colour", "red")), "invalid_search_filter"},
		{"list filter given a string", q("AND", fl("organization_ids", a)), "invalid_search_filter"},
		{"fuzzy filter given a list", q("AND", fl("organization_name_fuzzy", []string{"a"})), "invalid_search_filter"},
		{"flag given a string", q("AND", fl("has_active_sso_connection", "yes")), "invalid_search_filter"},
		{"filter without a value", q("AND", obj{"filter_name": "organization_ids"}), "invalid_search_filter"},
		{"filter twice", q("OR", fl("organization_ids", []string{a}), fl("organization_ids", []string{b})), "invalid_search_filter"},
		{"unknown operator", q("XOR", fl("organization_ids", []string{a})), "bad_request"},
		{"limit too large", obj{"limit": 5000}, "bad_request"},
		{"negative limit", obj{"limit": -1}, "bad_request"},
	} {
		t.Run("refuses "+tc.name, func(t *testing.T) {
			c.fail("POST", "/v1/b2b/organizations/search", tc.body, 400, tc.errorType)
		})
	}
}

func TestOrganizationChangesNeedAnAdminSessionOfIt(t *testing.T) {
	f := newFixture(t)
	c := f.c
	a := str(mgmtOrg(t, c, "Org A", nil), "organization_id")
	b := str(mgmtOrg(t, c, "Org B", nil), "organization_id")
	admin := str(mgmtMember(t, c, a, uniqueEmail("admin"), obj{"roles": []string{"stytch_admin"}}), "member_id")
	plain := str(mgmtMember(t, c, a, uniqueEmail("plain"), nil), "member_id")
	outsider := str(mgmtMember(t, c, b, uniqueEmail("outsider"), obj{"roles": []string{"stytch_admin"}}), "member_id")
	adminTok, adminJWT := mgmtSession(t, f, a, admin)
	plainTok, _ := mgmtSession(t, f, a, plain)
	outsiderTok, outsiderJWT := mgmtSession(t, f, b, outsider)
	userTok := str(f.login(t, c, nil), "session_token")

	for _, tc := range []struct {
		name        string
		header, val string
		status      int
		errorType   string
	}{
		{"admin of another organization", "X-Stytch-Member-Session", outsiderTok, 403, "unauthorized_action"},
		{"admin JWT of another organization", "X-Stytch-Member-SessionJWT", outsiderJWT, 403, "unauthorized_action"},
		{"member who is not an admin", "X-Stytch-Member-Session", plainTok, 403, "unauthorized_action"},
		{"unknown session token", "X-Stytch-Member-Session", "not-a-session-token", 404, "session_not_found"},
		{"consumer session token", "X-Stytch-Member-Session", userTok, 404, "session_not_found"},
		{"garbage JWT", "X-Stytch-Member-SessionJWT", "a.b.c", 401, "unable_to_parse_session_jwt"},
	} {
		t.Run("refuses "+tc.name, func(t *testing.T) {
			as := withHeader(c, tc.header, tc.val)
			as.fail("POST", "/v1/b2b/organizations/"+a, obj{"mfa_policy": "REQUIRED_FOR_ALL"}, tc.status, tc.errorType)
			as.fail("DELETE", "/v1/b2b/organizations/"+a, nil, tc.status, tc.errorType)
		})
	}
	if got := sub(c.ok("GET", "/v1/b2b/organizations/"+a, nil), "organization"); got["mfa_policy"] != "OPTIONAL" {
		t.Fatalf("a refused caller changed the organization: %v", got)
	}

	t.Run("admin session token may update", func(t *testing.T) {
		m := withHeader(c, "X-Stytch-Member-Session", adminTok).ok("PUT", "/v1/b2b/organizations/"+a, obj{"mfa_policy": "REQUIRED_FOR_ALL"})
		if sub(m, "organization")["mfa_policy"] != "REQUIRED_FOR_ALL" {
			t.Errorf("update: %v", m)
		}
	})
	t.Run("admin session JWT may delete", func(t *testing.T) {
		m := withHeader(c, "X-Stytch-Member-SessionJWT", adminJWT).ok("DELETE", "/v1/b2b/organizations/"+a, nil)
		if m["organization_id"] != a {
			t.Errorf("delete: %v", m)
		}
		c.fail("GET", "/v1/b2b/organizations/"+a, nil, 404, "organization_not_found")
	})
}

func TestOrganizationsOfAnotherProjectAreNotFound(t *testing.T) {
	f := newFixture(t)
	a := f.c
	b := f.project(t, false)
	o := mgmtOrg(t, a, "Private", obj{"organization_slug": "private", "organization_external_id": "private-ext"})
	orgID := str(o, "organization_id")
	mgmtMember(t, a, orgID, uniqueEmail("secret"), nil)

	for _, ref := range []string{orgID, "private", "private-ext"} {
		for _, tc := range []struct {
			name, method, path string
			body               any
		}{
			{"get", "GET", "/v1/b2b/organizations/" + ref, nil},
			{"update", "PUT", "/v1/b2b/organizations/" + ref, obj{"organization_name": "Mallory"}},
			{"seed update", "POST", "/v1/b2b/organizations/" + ref, obj{"mfa_policy": "REQUIRED_FOR_ALL"}},
			{"delete", "DELETE", "/v1/b2b/organizations/" + ref, nil},
			{"metrics", "GET", "/v1/b2b/organizations/" + ref + "/metrics", nil},
		} {
			t.Run(tc.name+" by "+ref, func(t *testing.T) {
				b.fail(tc.method, tc.path, tc.body, 404, "organization_not_found")
			})
		}
	}
	ids, _ := searchOrgIDs(t, b, obj{"query": obj{"operator": "OR", "operands": []obj{
		{"filter_name": "organization_ids", "filter_value": []string{orgID}},
		{"filter_name": "organization_slugs", "filter_value": []string{"private"}},
		{"filter_name": "organization_name_fuzzy", "filter_value": "Priv"},
	}}})
	if len(ids) != 0 {
		t.Errorf("B finds A's organization: %v", ids)
	}

	// Slugs are unique per project: B may use A's.
	if got := mgmtOrg(t, b, "Also Private", obj{"organization_slug": "private"}); got["organization_id"] == orgID {
		t.Errorf("B got A's organization: %v", got)
	}
	// A is untouched.
	got := sub(a.ok("GET", "/v1/b2b/organizations/private", nil), "organization")
	if got["organization_id"] != orgID || got["organization_name"] != "Private" || got["mfa_policy"] != "OPTIONAL" {
		t.Errorf("A's organization changed: %v", got)
	}
	if n := a.ok("GET", "/v1/b2b/organizations/"+orgID+"/metrics", nil)["member_count"]; n != float64(1) {
		t.Errorf("member_count = %v, want 1", n)
	}
}

// TestB2BErrorTableUsesStytchNames pins the B2B error types and statuses
// (§E): the SDK and its users branch on them.
func TestB2BErrorTableUsesStytchNames(t *testing.T) {
	for _, tc := range []struct {
		code   auth.Code
		status int
		typ    string
	}{
		{auth.EOrganizationNotFound, 404, "organization_not_found"},
		{auth.EMemberNotFound, 404, "member_not_found"},
		{auth.EDuplicateSlug, 400, "organization_slug_already_used"},
		{auth.EDuplicateMemberEmail, 400, "duplicate_member_email"},
		{auth.EForbidden, 403, "unauthorized_action"},
		{auth.EISTNotFound, 404, "intermediate_session_not_found"},
		{auth.EISTOrgMismatch, 400, "invalid_intermediate_session_token_for_organization"},
		{auth.EPrimaryRequired, 400, "action_available_only_once_primary_authentication_is_met"},
		{auth.EInactiveMember, 400, "action_available_only_for_active_members"},
		{auth.EMemberPhoneNotFound, 404, "member_phone_number_not_found"},
		{auth.EInsufficientFactors, 400, "insufficient_factors"},
		{auth.EInvalidOrganizationSlug, 400, "invalid_organization_slug"},
		{auth.ECommonDomain, 400, "organization_settings_domain_too_common"},
	} {
		status, typ, _ := stytch.ErrorSpec(tc.code)
		if status != tc.status || typ != tc.typ {
			t.Errorf("%s → %d %s, want %d %s", tc.code, status, typ, tc.status, tc.typ)
		}
	}
}
