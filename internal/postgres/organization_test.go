package postgres_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/internal/auth"
)

func testOrganizations(t *testing.T, e *env) {
	ctx := ctxT(t)
	p := e.project(t)

	t.Run("CreatedWithDefaultsAndFoundByIDSlugOrExternalID", func(t *testing.T) {
		o := e.org(t, p, "acme", "ext-acme")
		for _, ref := range []string{o.ID, "acme", "ext-acme"} {
			got, err := e.db.FindOrganization(ctx, p.ID, ref)
			wantCode(t, err, "")
			if got.ID != o.ID || got.Slug != "acme" || got.ExternalID != "ext-acme" || got.Name != "Org acme" {
				t.Fatalf("FindOrganization(%q) = %+v", ref, got)
			}
			if got.MFAPolicy != auth.MFAOptional || got.EmailJITProvisioning != auth.NotAllowed || got.EmailInvites != auth.AllAllowed ||
				got.AuthMethods != auth.AllAllowed || got.MFAMethods != auth.AllAllowed || got.SSOJITProvisioning != auth.AllAllowed ||
				got.OAuthTenantJITProvisioning != auth.NotAllowed || got.FirstPartyConnectedAppsAllowedType != auth.AllAllowed ||
				got.ThirdPartyConnectedAppsAllowedType != auth.AllAllowed {
				t.Fatalf("defaults not applied: %+v", got)
			}
			if got.EmailAllowedDomains == nil || got.AllowedAuthMethods == nil || got.RBACEmailImplicitRoleAssignments == nil ||
				string(got.TrustedMetadata) != "{}" || string(got.AllowedOAuthTenants) != "{}" {
				t.Fatalf("nil lists or objects: %+v", got)
			}
			if !got.CreatedAt.Equal(e.clock.Now()) || !got.UpdatedAt.Equal(got.CreatedAt) {
				t.Fatalf("timestamps %v %v", got.CreatedAt, got.UpdatedAt)
			}
		}
	})
	t.Run("EverySettingRoundTrips", func(t *testing.T) {
		o := e.org(t, p, "full", "", func(o *auth.Organization) {
			o.LogoURL = "https://acme.test/logo.png"
			o.TrustedMetadata = json.RawMessage(`{"tier":"gold"}`)
			o.EmailAllowedDomains = []string{"acme.test", "acme.dev"}
			o.EmailJITProvisioning = auth.Restricted
			o.EmailInvites = auth.Restricted
			o.AuthMethods = auth.Restricted
			o.AllowedAuthMethods = []string{"magic_link", "email_otp"}
			o.MFAPolicy = auth.MFARequiredForAll
			o.MFAMethods = auth.Restricted
			o.AllowedMFAMethods = []string{auth.MFAMethodSMS}
			o.SSOJITProvisioning = auth.NotAllowed
			o.SSOJITProvisioningAllowedConnections = []string{"conn-1"}
			o.SSODefaultConnectionID = "conn-1"
			o.RBACEmailImplicitRoleAssignments = []auth.RoleAssignment{{Domain: "acme.test", RoleID: auth.RoleAdmin}}
			o.OAuthTenantJITProvisioning = auth.Restricted
			o.AllowedOAuthTenants = json.RawMessage(`{"slack":["T1"]}`)
			o.ClaimedEmailDomains = []string{"acme.test"}
			o.FirstPartyConnectedAppsAllowedType = auth.Restricted
			o.AllowedFirstPartyConnectedApps = []string{"app-1"}
			o.ThirdPartyConnectedAppsAllowedType = auth.NotAllowed
			o.AllowedThirdPartyConnectedApps = []string{"app-3"}
		})
		got, err := e.db.FindOrganization(ctx, p.ID, o.ID)
		wantCode(t, err, "")
		normJSON := func(o *auth.Organization) {
			var v any
			_ = json.Unmarshal(o.TrustedMetadata, &v)
			o.TrustedMetadata, _ = json.Marshal(v)
			_ = json.Unmarshal(o.AllowedOAuthTenants, &v)
			o.AllowedOAuthTenants, _ = json.Marshal(v)
		}
		normJSON(o)
		normJSON(got)
		if !reflect.DeepEqual(got, o) {
			t.Fatalf("round trip:\n got %+v\nwant %+v", got, o)
		}
	})
	t.Run("UpdateStoresEveryFieldAndTouchesUpdatedAt", func(t *testing.T) {
		o := e.org(t, p, "upd", "")
		e.clock.Advance(time.Second)
		o.Name, o.Slug, o.ExternalID = "Renamed", "upd-2", "ext-upd"
		o.MFAPolicy = auth.MFARequiredForAll
		o.EmailAllowedDomains = []string{"upd.test"}
		o.AllowedOAuthTenants = json.RawMessage(`{"a":1}`)
		wantCode(t, e.db.UpdateOrganization(ctx, o), "")
		if !o.UpdatedAt.Equal(e.clock.Now()) {
			t.Fatalf("UpdatedAt %v", o.UpdatedAt)
		}
		got, err := e.db.FindOrganization(ctx, p.ID, "upd-2")
		wantCode(t, err, "")
		if got.Name != "Renamed" || got.ExternalID != "ext-upd" || got.MFAPolicy != auth.MFARequiredForAll ||
			!reflect.DeepEqual(got.EmailAllowedDomains, []string{"upd.test"}) || string(got.AllowedOAuthTenants) != `{"a": 1}` ||
			!got.UpdatedAt.Equal(e.clock.Now()) || got.CreatedAt.Equal(got.UpdatedAt) {
			t.Fatalf("updated %+v", got)
		}
		_, err = e.db.FindOrganization(ctx, p.ID, "upd")
		wantCode(t, err, auth.EOrganizationNotFound)
	})
	t.Run("IDPreferredOverSlugAndExternalID", func(t *testing.T) {
		a := e.org(t, p, "pref-a", "")
		e.org(t, p, "pref-b", a.ID) // external id equal to a's id
		c := e.org(t, p, "pref-c", "pref-a")
		got, err := e.db.FindOrganization(ctx, p.ID, a.ID)
		wantCode(t, err, "")
		if got.ID != a.ID {
			t.Fatalf("by id found %s", got.Slug)
		}
		got, err = e.db.FindOrganization(ctx, p.ID, "pref-a")
		wantCode(t, err, "")
		if got.ID != a.ID || got.ID == c.ID {
			t.Fatalf("by slug found %s", got.Slug)
		}
	})
	notFound := []struct {
		name string
		fn   func() error
	}{
		{"FindUnknownNotFound", func() error { _, err := e.db.FindOrganization(ctx, p.ID, "nope"); return err }},
		{"FindEmptyRefNotFound", func() error { _, err := e.db.FindOrganization(ctx, p.ID, ""); return err }},
		{"UpdateUnknownNotFound", func() error {
			return e.db.UpdateOrganization(ctx, &auth.Organization{ID: "organization-test-nope", ProjectID: p.ID, Name: "x", Slug: "x-nope"})
		}},
		{"DeleteUnknownNotFound", func() error { return e.db.DeleteOrganization(ctx, p.ID, "organization-test-nope") }},
	}
	for _, tt := range notFound {
		t.Run(tt.name, func(t *testing.T) { wantCode(t, tt.fn(), auth.EOrganizationNotFound) })
	}
	t.Run("DeletedNotFound", func(t *testing.T) {
		o := e.org(t, p, "del", "")
		wantCode(t, e.db.DeleteOrganization(ctx, p.ID, o.ID), "")
		_, err := e.db.FindOrganization(ctx, p.ID, o.ID)
		wantCode(t, err, auth.EOrganizationNotFound)
	})
	t.Run("CountMembersExcludesDeleted", func(t *testing.T) {
		o := e.org(t, p, "count", "")
		e.member(t, p, o, "a@count.test", "")
		e.member(t, p, o, "b@count.test", "", func(m *auth.Member) { m.Status = auth.MemberPending })
		e.member(t, p, o, "c@count.test", "", func(m *auth.Member) { m.Status = auth.MemberDeleted })
		e.member(t, p, e.org(t, p, "count-other", ""), "a@count.test", "")
		n, err := e.db.CountMembers(ctx, p.ID, o.ID)
		wantCode(t, err, "")
		if n != 2 {
			t.Fatalf("CountMembers = %d, want 2", n)
		}
	})
	t.Run("OrganizationsByAllowedDomainMatchesListedDomainOnly", func(t *testing.T) {
		p := e.project(t)
		a := e.org(t, p, "dom-a", "", func(o *auth.Organization) { o.EmailAllowedDomains = []string{"shared.test", "a.test"} })
		e.clock.Advance(time.Millisecond)
		b := e.org(t, p, "dom-b", "", func(o *auth.Organization) { o.EmailAllowedDomains = []string{"shared.test"} })
		e.org(t, p, "dom-c", "", func(o *auth.Organization) { o.EmailAllowedDomains = []string{"sub.shared.test"} })
		e.org(t, e.project(t), "dom-d", "", func(o *auth.Organization) { o.EmailAllowedDomains = []string{"shared.test"} })
		got, err := e.db.OrganizationsByAllowedDomain(ctx, p.ID, "Shared.Test")
		wantCode(t, err, "")
		if len(got) != 2 || got[0].ID != a.ID || got[1].ID != b.ID {
			t.Fatalf("got %d orgs", len(got))
		}
		got, err = e.db.OrganizationsByAllowedDomain(ctx, p.ID, "none.test")
		wantCode(t, err, "")
		if got == nil || len(got) != 0 {
			t.Fatalf("got %v", got)
		}
	})
}

func testOrganizationDuplicates(t *testing.T, e *env) {
	ctx := ctxT(t)
	p := e.project(t)
	e.org(t, p, "taken", "ext-taken")
	other := e.project(t)
	tests := []struct {
		name      string
		project   *auth.Project
		slug, ext string
		want      auth.Code
	}{
		{"DuplicateSlugRejected", p, "taken", "", auth.EDuplicateSlug},
		{"DuplicateExternalIDRejected", p, "fresh", "ext-taken", auth.EDuplicateExternalID},
		{"SeveralEmptyExternalIDsAllowed", p, "fresh-2", "", ""},
		{"SameSlugInOtherProjectAllowed", other, "taken", "ext-taken", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := &auth.Organization{ID: id(auth.PrefixOrganization, tt.project), ProjectID: tt.project.ID, Name: "x", Slug: tt.slug, ExternalID: tt.ext}
			wantCode(t, e.db.CreateOrganization(ctx, o), tt.want)
		})
	}
	t.Run("UpdateToTakenSlugRejected", func(t *testing.T) {
		o := e.org(t, p, "mine", "ext-mine")
		o.Slug = "taken"
		wantCode(t, e.db.UpdateOrganization(ctx, o), auth.EDuplicateSlug)
		o.Slug, o.ExternalID = "mine", "ext-taken"
		wantCode(t, e.db.UpdateOrganization(ctx, o), auth.EDuplicateExternalID)
	})
	t.Run("UnknownProjectRejected", func(t *testing.T) {
		o := &auth.Organization{ID: "organization-test-x", ProjectID: "project-test-nope", Name: "x", Slug: "x"}
		wantCode(t, e.db.CreateOrganization(ctx, o), auth.ENotFound)
	})
}

func testSearchOrganizations(t *testing.T, e *env) {
	ctx := ctxT(t)
	p := e.project(t)
	tick := func() { e.clock.Advance(time.Millisecond) }
	acme := e.org(t, p, "acme", "", func(o *auth.Organization) {
		o.Name = "Acme Corp"
		o.EmailAllowedDomains = []string{"acme.test"}
		o.ClaimedEmailDomains = []string{"acme.test"}
	})
	tick()
	globex := e.org(t, p, "globex", "", func(o *auth.Organization) {
		o.Name = "Globex 100%"
		o.EmailAllowedDomains = []string{"globex.test", "globex.dev"}
	})
	tick()
	initech := e.org(t, p, "initech_x", "", func(o *auth.Organization) { o.Name = "Initech" })
	e.member(t, p, acme, "ada@acme.test", "")
	e.member(t, p, globex, "ada@acme.test", "")
	e.member(t, p, initech, "gone@acme.test", "", func(m *auth.Member) { m.Status = auth.MemberDeleted })
	// Another project's matching rows are never returned.
	p2 := e.project(t)
	o2 := e.org(t, p2, "acme", "", func(o *auth.Organization) {
		o.Name = "Acme Corp"
		o.EmailAllowedDomains = []string{"acme.test"}
	})
	e.member(t, p2, o2, "ada@acme.test", "")

	yes, no := true, false
	tests := []struct {
		name string
		q    auth.OrganizationQuery
		want []*auth.Organization
	}{
		{"NoFilterReturnsAll", auth.OrganizationQuery{}, []*auth.Organization{acme, globex, initech}},
		{"OrganizationIDs", auth.OrganizationQuery{OrganizationIDs: []string{globex.ID, o2.ID}}, []*auth.Organization{globex}},
		{"OrganizationSlugs", auth.OrganizationQuery{OrganizationSlugs: []string{"acme", "initech_x"}}, []*auth.Organization{acme, initech}},
		{"MemberEmailsMatchLiveMembers", auth.OrganizationQuery{MemberEmails: []string{"ADA@acme.test"}}, []*auth.Organization{acme, globex}},
		{"MemberEmailsSkipDeletedMembers", auth.OrganizationQuery{MemberEmails: []string{"gone@acme.test"}}, nil},
		{"AllowedDomains", auth.OrganizationQuery{AllowedDomains: []string{"globex.dev"}}, []*auth.Organization{globex}},
		{"ClaimedEmailDomains", auth.OrganizationQuery{ClaimedEmailDomains: []string{"acme.test"}}, []*auth.Organization{acme}},
		{"NameFuzzyCaseInsensitive", auth.OrganizationQuery{OrganizationNameFuzzy: "CORP"}, []*auth.Organization{acme}},
		{"NameFuzzyPercentIsLiteral", auth.OrganizationQuery{OrganizationNameFuzzy: "100%"}, []*auth.Organization{globex}},
		{"NameFuzzyLonePercentMatchesLiteralOnly", auth.OrganizationQuery{OrganizationNameFuzzy: "%"}, []*auth.Organization{globex}},
		{"SlugFuzzyUnderscoreIsLiteral", auth.OrganizationQuery{OrganizationSlugFuzzy: "h_x"}, []*auth.Organization{initech}},
		{"SlugFuzzyUnderscoreNoWildcard", auth.OrganizationQuery{OrganizationSlugFuzzy: "a_m"}, nil},
		{"MemberEmailFuzzy", auth.OrganizationQuery{MemberEmailFuzzy: "ada@"}, []*auth.Organization{acme, globex}},
		{"AllowedDomainFuzzy", auth.OrganizationQuery{AllowedDomainFuzzy: ".dev"}, []*auth.Organization{globex}},
		{"SSOConnectionIDMatchesNone", auth.OrganizationQuery{SSOConnectionID: "conn"}, nil},
		{"HasActiveSSOTrueMatchesNone", auth.OrganizationQuery{HasActiveSSOConnection: &yes}, nil},
		{"HasActiveSSOFalseMatchesAll", auth.OrganizationQuery{HasActiveSSOConnection: &no}, []*auth.Organization{acme, globex, initech}},
		{"FiltersAndByDefault", auth.OrganizationQuery{OrganizationSlugs: []string{"acme"}, AllowedDomains: []string{"globex.test"}}, nil},
		{"FiltersOrWhenAsked", auth.OrganizationQuery{Or: true, OrganizationSlugs: []string{"acme"}, AllowedDomains: []string{"globex.test"}},
			[]*auth.Organization{acme, globex}},
		{"SlugFuzzyNonSlugCharacterMatchesNone", auth.OrganizationQuery{OrganizationSlugFuzzy: "acme%"}, nil},
		{"SlugFuzzyNonSlugCharacterOrOtherFilter", auth.OrganizationQuery{Or: true, OrganizationSlugFuzzy: "@", OrganizationNameFuzzy: "initech"},
			[]*auth.Organization{initech}},
		{"SlugFuzzyCaseInsensitive", auth.OrganizationQuery{OrganizationSlugFuzzy: "H_X"}, []*auth.Organization{initech}},
		{"ListsIntersectUnderAnd", auth.OrganizationQuery{OrganizationIDs: []string{acme.ID, globex.ID}, MemberEmails: []string{"ada@acme.test"},
			AllowedDomains: []string{"acme.test", "globex.dev"}, OrganizationSlugs: []string{"acme", "globex", "initech_x"}},
			[]*auth.Organization{acme, globex}},
		{"ListsUniteUnderOr", auth.OrganizationQuery{Or: true, OrganizationIDs: []string{initech.ID}, ClaimedEmailDomains: []string{"acme.test"}},
			[]*auth.Organization{acme, initech}},
		{"ListsOrFuzzy", auth.OrganizationQuery{Or: true, OrganizationSlugs: []string{"acme"}, OrganizationNameFuzzy: "initech"},
			[]*auth.Organization{acme, initech}},
		{"ListsAndFuzzy", auth.OrganizationQuery{MemberEmails: []string{"ada@acme.test"}, OrganizationNameFuzzy: "globex"},
			[]*auth.Organization{globex}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page, err := e.db.SearchOrganizations(ctx, p.ID, tt.q)
			wantCode(t, err, "")
			var got, want []string
			for _, o := range page.Organizations {
				got = append(got, o.Slug)
			}
			for _, o := range tt.want {
				want = append(want, o.Slug)
			}
			if !reflect.DeepEqual(got, want) || page.Total != len(tt.want) || page.NextCursor != "" {
				t.Fatalf("got %v (total %d, cursor %q), want %v", got, page.Total, page.NextCursor, want)
			}
		})
	}
	invalid := []struct {
		name  string
		q     auth.OrganizationQuery
		field string
	}{
		{"LimitTooLargeRejected", auth.OrganizationQuery{Limit: 1001}, "limit"},
		{"NegativeLimitRejected", auth.OrganizationQuery{Limit: -1}, "limit"},
		{"BadCursorRejected", auth.OrganizationQuery{Cursor: "!!"}, "cursor"},
		{"LongFuzzyRejected", auth.OrganizationQuery{OrganizationNameFuzzy: string(make([]byte, 300))}, "organization_name_fuzzy"},
		{"LongSlugFuzzyRejected", auth.OrganizationQuery{OrganizationSlugFuzzy: strings.Repeat("%", 300)}, "organization_slug_fuzzy"},
	}
	for _, tt := range invalid {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.db.SearchOrganizations(ctx, p.ID, tt.q)
			wantCode(t, err, auth.EInvalid)
			var ae *auth.Error
			if !errors.As(err, &ae) || ae.Field != tt.field {
				t.Fatalf("field of %v, want %s", err, tt.field)
			}
		})
	}
}

func testSearchOrganizationsPagination(t *testing.T, e *env) {
	ctx := ctxT(t)
	p := e.project(t)
	var want, slugs []string
	for i := range 7 {
		o := e.org(t, p, "page-"+string(rune('a'+i)), "")
		want = append(want, o.ID)
		slugs = append(slugs, o.Slug)
		if i%2 == 0 {
			e.clock.Advance(time.Millisecond) // some share a created_at: the id breaks ties
		}
	}
	e.org(t, p, "other", "")
	toSet := func(ids []string) map[string]bool {
		m := map[string]bool{}
		for _, id := range ids {
			m[id] = true
		}
		return m
	}
	// Each query's page is found a different way: the keyset walked, a
	// value without a trigram scanned and sorted, an id array probed and
	// sorted.
	tests := []struct {
		name string
		q    auth.OrganizationQuery
	}{
		{"AllPagedInOrder", auth.OrganizationQuery{OrganizationNameFuzzy: "org page"}},
		{"ValueWithoutTrigramPagedInOrder", auth.OrganizationQuery{OrganizationSlugFuzzy: "e-"}},
		{"IDListPagedInOrder", auth.OrganizationQuery{OrganizationIDs: want}},
		{"SlugListPagedInOrder", auth.OrganizationQuery{OrganizationSlugs: slugs}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := pageIDs(t, 5, 7, "", func(cursor string) ([]string, int, string, error) {
				q := tt.q
				q.Limit, q.Cursor = 3, cursor
				page, err := e.db.SearchOrganizations(ctx, p.ID, q)
				if err != nil {
					return nil, 0, "", err
				}
				var ids []string
				for _, o := range page.Organizations {
					ids = append(ids, o.ID)
				}
				return ids, page.Total, page.NextCursor, nil
			})
			if len(got) != 7 || !reflect.DeepEqual(toSet(got), toSet(want)) {
				t.Fatalf("paged %d ids, want 7 distinct: %v", len(got), got)
			}
			for i := 1; i < len(got); i++ {
				a, _ := e.db.FindOrganization(ctx, p.ID, got[i-1])
				b, _ := e.db.FindOrganization(ctx, p.ID, got[i])
				if b.CreatedAt.Before(a.CreatedAt) || (b.CreatedAt.Equal(a.CreatedAt) && b.ID < a.ID) {
					t.Fatalf("not in (created_at, id) order at %d", i)
				}
			}
		})
	}
}

func testOrganizationDeleteCascades(t *testing.T, e *env) {
	ctx := ctxT(t)
	p := e.project(t)
	o := e.org(t, p, "cascade", "")
	keep := e.org(t, p, "keep", "")
	m := e.member(t, p, o, "c@cascade.test", "+12025550400")
	km := e.member(t, p, keep, "c@cascade.test", "+12025550400")
	_, msg := e.memberChallenge(t, p, m, m.MFAPhoneID, auth.ChannelSMS, time.Minute)
	_, kmsg := e.memberChallenge(t, p, km, km.MFAPhoneID, auth.ChannelSMS, time.Minute)
	e.memberLink(t, p, m, "", "cascade-link", "", auth.MagicLinkLogin, time.Hour)
	e.ist(t, p, m, "", "cascade-ist", time.Minute)
	s := &auth.Session{ID: id(auth.PrefixSession, p), ProjectID: p.ID, MemberID: m.ID, OrganizationID: o.ID,
		TokenHash: hash("cascade-session"), ExpiresAt: e.clock.Now().Add(time.Hour)}
	wantCode(t, e.db.CreateSession(ctx, s, []byte("enc")), "")

	wantCode(t, e.db.DeleteOrganization(ctx, p.ID, o.ID), "")
	count := func(sql string, args ...any) int {
		var n int
		if err := e.db.Pool().QueryRow(ctx, sql, args...).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	tests := []struct {
		name string
		sql  string
		arg  string
		want int
	}{
		{"MembersGone", `SELECT count(*) FROM members WHERE project_id = $1 AND organization_id = $2`, o.ID, 0},
		{"ChallengesGone", `SELECT count(*) FROM challenges WHERE project_id = $1 AND member_id = $2`, m.ID, 0},
		{"LinksGone", `SELECT count(*) FROM magic_links WHERE project_id = $1 AND organization_id = $2`, o.ID, 0},
		{"SessionsGone", `SELECT count(*) FROM sessions WHERE project_id = $1 AND organization_id = $2`, o.ID, 0},
		{"ISTsGone", `SELECT count(*) FROM intermediate_sessions WHERE project_id = $1 AND organization_id = $2`, o.ID, 0},
		{"MessagesGone", `SELECT count(*) FROM messages WHERE project_id = $1 AND id = $2`, msg.ID, 0},
		{"OtherOrganizationsMemberKept", `SELECT count(*) FROM members WHERE project_id = $1 AND id = $2`, km.ID, 1},
		{"OtherOrganizationsMessageKept", `SELECT count(*) FROM messages WHERE project_id = $1 AND id = $2`, kmsg.ID, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if n := count(tt.sql, p.ID, tt.arg); n != tt.want {
				t.Fatalf("count = %d, want %d", n, tt.want)
			}
		})
	}
}

// testSearchOrganizationsMemberColumns checks member_email_fuzzy through
// both of its paths (migrations 0016, 0019): the organization_search row's copy of the
// emails of an organization of at most 50 non-deleted members, and the
// lookup of the members of a larger one; and that the row triggers keep
// the copy (and which path applies) as members join, change email, are
// deleted, come back, are removed and race.
func testSearchOrganizationsMemberColumns(t *testing.T, e *env) {
	ctx := ctxT(t)
	p := e.project(t)
	tick := func() { e.clock.Advance(time.Millisecond) }
	small := e.org(t, p, "small", "")
	ada := e.member(t, p, small, "ada@acme.test", "")
	e.member(t, p, small, "bob@acme.test", "")
	tick()
	large := e.org(t, p, "large", "")
	var bigs []*auth.Member
	for i := range 51 {
		bigs = append(bigs, e.member(t, p, large, fmt.Sprintf("big%d@large.test", i), ""))
	}
	tick()
	e.org(t, p, "empty", "")
	tick()
	find := func(q auth.OrganizationQuery) []string {
		t.Helper()
		page, err := e.db.SearchOrganizations(ctx, p.ID, q)
		wantCode(t, err, "")
		var got []string
		for _, o := range page.Organizations {
			got = append(got, o.Slug)
		}
		if page.Total != len(got) {
			t.Fatalf("total %d, page %v", page.Total, got)
		}
		return got
	}
	// columns returns the organization's search_member_emails and
	// search_members_many.
	columns := func(o *auth.Organization) (string, bool) {
		t.Helper()
		var emails string
		var many bool
		if err := e.db.Pool().QueryRow(ctx, `SELECT search_member_emails, search_members_many FROM organization_search
			WHERE project_id = $1 AND id = $2`, p.ID, o.ID).Scan(&emails, &many); err != nil {
			t.Fatal(err)
		}
		return emails, many
	}
	tests := []struct {
		name string
		q    auth.OrganizationQuery
		want []string
	}{
		{"SmallOrganizationsMemberFound", auth.OrganizationQuery{MemberEmailFuzzy: "BOB@"}, []string{"small"}},
		{"LargeOrganizationsMemberFound", auth.OrganizationQuery{MemberEmailFuzzy: "big50@"}, []string{"large"}},
		{"ValueWithoutTrigramFoundInSmall", auth.OrganizationQuery{MemberEmailFuzzy: "a@"}, []string{"small"}},
		{"ValueWithoutTrigramFoundInLarge", auth.OrganizationQuery{MemberEmailFuzzy: "7@"}, []string{"large"}},
		{"ValueSpanningTwoEmailsMatchesNone", auth.OrganizationQuery{MemberEmailFuzzy: "acme.test\nbob"}, nil},
		{"ValueMatchingNobody", auth.OrganizationQuery{MemberEmailFuzzy: "nobody"}, nil},
		{"CommonValueMatchesBoth", auth.OrganizationQuery{MemberEmailFuzzy: ".test"}, []string{"small", "large"}},
		{"AndWithOtherFilter", auth.OrganizationQuery{MemberEmailFuzzy: ".test", OrganizationSlugFuzzy: "larg"}, []string{"large"}},
		{"OrWithOtherFilter", auth.OrganizationQuery{Or: true, MemberEmailFuzzy: "big1@", OrganizationSlugs: []string{"empty"}},
			[]string{"large", "empty"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := find(tt.q); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
	t.Run("ColumnsHoldSmallOrganizationsEmailsOnly", func(t *testing.T) {
		if emails, many := columns(small); emails != "ada@acme.test\nbob@acme.test" || many {
			t.Fatalf("small: %q, many %v", emails, many)
		}
		if emails, many := columns(large); emails != "" || !many {
			t.Fatalf("large: %q, many %v", emails, many)
		}
	})
	t.Run("ChangedEmailFoundOldGone", func(t *testing.T) {
		ada.EmailAddress = "ada@initech.test"
		wantCode(t, e.db.UpdateMember(ctx, ada), "")
		if got := find(auth.OrganizationQuery{MemberEmailFuzzy: "initech"}); !reflect.DeepEqual(got, []string{"small"}) {
			t.Fatalf("new email: %v", got)
		}
		if got := find(auth.OrganizationQuery{MemberEmailFuzzy: "ada@acme"}); got != nil {
			t.Fatalf("old email: %v", got)
		}
	})
	t.Run("DeletedMemberGoneAndBackWhenRestored", func(t *testing.T) {
		ada.Status = auth.MemberDeleted
		wantCode(t, e.db.UpdateMember(ctx, ada), "")
		if got := find(auth.OrganizationQuery{MemberEmailFuzzy: "initech"}); got != nil {
			t.Fatalf("deleted member: %v", got)
		}
		ada.Status = auth.MemberActive
		wantCode(t, e.db.UpdateMember(ctx, ada), "")
		if got := find(auth.OrganizationQuery{MemberEmailFuzzy: "initech"}); !reflect.DeepEqual(got, []string{"small"}) {
			t.Fatalf("restored member: %v", got)
		}
	})
	t.Run("LargeOrganizationsDeletedMemberGone", func(t *testing.T) {
		m := bigs[50]
		m.Status = auth.MemberDeleted
		wantCode(t, e.db.UpdateMember(ctx, m), "")
		if got := find(auth.OrganizationQuery{MemberEmailFuzzy: "big50@"}); got != nil {
			t.Fatalf("deleted member: %v", got)
		}
	})
	t.Run("ShrunkToFiftyKeepsEmailsOnRow", func(t *testing.T) {
		// big50 is deleted: 50 live members left.
		emails, many := columns(large)
		if many || strings.Count(emails, "\n") != 49 || !strings.Contains(emails, "big49@large.test") {
			t.Fatalf("large after shrinking: many %v, %d emails", many, strings.Count(emails, "\n")+1)
		}
		if got := find(auth.OrganizationQuery{MemberEmailFuzzy: "big49@"}); !reflect.DeepEqual(got, []string{"large"}) {
			t.Fatalf("got %v", got)
		}
	})
	t.Run("RemovedMemberGone", func(t *testing.T) {
		if _, err := e.db.Pool().Exec(ctx, `DELETE FROM members WHERE project_id = $1 AND id = $2`, p.ID, bigs[49].ID); err != nil {
			t.Fatal(err)
		}
		if got := find(auth.OrganizationQuery{MemberEmailFuzzy: "big49@"}); got != nil {
			t.Fatalf("removed member: %v", got)
		}
	})
	t.Run("ConcurrentJoinsAllKept", func(t *testing.T) {
		o := e.org(t, p, "race", "")
		const n = 8
		errs := make(chan error, n)
		for i := range n {
			go func() {
				errs <- e.db.CreateMember(ctx, &auth.Member{ID: id(auth.PrefixMember, p), ProjectID: p.ID, OrganizationID: o.ID,
					EmailAddress: fmt.Sprintf("racer%d@race.test", i), EmailID: id(auth.PrefixMemberEmail, p), Status: auth.MemberActive})
			}()
		}
		for range n {
			wantCode(t, <-errs, "")
		}
		for i := range n {
			if got := find(auth.OrganizationQuery{MemberEmailFuzzy: fmt.Sprintf("racer%d@", i)}); !reflect.DeepEqual(got, []string{"race"}) {
				t.Fatalf("racer%d's email was lost from the organization_search row: %v", i, got)
			}
		}
	})
	t.Run("DeleteOrganizationCascades", func(t *testing.T) {
		wantCode(t, e.db.DeleteOrganization(ctx, p.ID, large.ID), "")
		if got := find(auth.OrganizationQuery{MemberEmailFuzzy: "@large.test"}); got != nil {
			t.Fatalf("deleted organization: %v", got)
		}
	})
}
