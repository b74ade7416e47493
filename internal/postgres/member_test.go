package postgres_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/internal/auth"
)

func testMembers(t *testing.T, e *env) {
	ctx := ctxT(t)
	p := e.project(t)
	o := e.org(t, p, "mem-org", "mem-ext")

	t.Run("CreatedAndFoundByIDExternalIDOrEmail", func(t *testing.T) {
		m := e.member(t, p, o, "Ada@Acme.Test", "+12025550162", func(m *auth.Member) {
			m.Name, m.ExternalID, m.IsBreakglass = "Ada", "ext-ada", true
			m.RoleIDs = []string{auth.RoleAdmin}
			m.TrustedMetadata = json.RawMessage(`{"a":1}`)
		})
		if m.EmailAddress != "ada@acme.test" {
			t.Fatalf("email not lower-cased: %q", m.EmailAddress)
		}
		find := []struct {
			name string
			fn   func() (*auth.Member, error)
		}{
			{"ByID", func() (*auth.Member, error) { return e.db.FindMember(ctx, p.ID, o.ID, m.ID) }},
			{"ByExternalID", func() (*auth.Member, error) { return e.db.FindMember(ctx, p.ID, o.ID, "ext-ada") }},
			{"ByEmailAnyCase", func() (*auth.Member, error) { return e.db.FindMemberByEmail(ctx, p.ID, o.ID, "ADA@acme.test") }},
			{"ByOrgSlugAndMemberID", func() (*auth.Member, error) {
				org, mem, err := e.db.FindOrgMember(ctx, p.ID, "mem-org", m.ID)
				if err == nil && org.ID != o.ID {
					t.Fatalf("org %s", org.ID)
				}
				return mem, err
			}},
			{"ByOrgExternalIDAndMemberExternalID", func() (*auth.Member, error) {
				_, mem, err := e.db.FindOrgMember(ctx, p.ID, "mem-ext", "ext-ada")
				return mem, err
			}},
			{"AnyOrg", func() (*auth.Member, error) {
				mem, org, err := e.db.FindMemberAnyOrg(ctx, p.ID, m.ID)
				if err == nil && (org.ID != o.ID || org.Slug != "mem-org") {
					t.Fatalf("org %+v", org)
				}
				return mem, err
			}},
		}
		for _, tt := range find {
			t.Run(tt.name, func(t *testing.T) {
				got, err := tt.fn()
				wantCode(t, err, "")
				if got.ID != m.ID || got.OrganizationID != o.ID || got.EmailAddress != "ada@acme.test" || got.EmailID != m.EmailID ||
					got.Name != "Ada" || got.ExternalID != "ext-ada" || !got.IsBreakglass || got.Status != auth.MemberActive ||
					!reflect.DeepEqual(got.RoleIDs, []string{auth.RoleAdmin}) || got.MFAPhoneNumber != "+12025550162" ||
					got.MFAPhoneID != m.MFAPhoneID || string(got.TrustedMetadata) != `{"a": 1}` || string(got.UntrustedMetadata) != "{}" ||
					!got.CreatedAt.Equal(e.clock.Now()) {
					t.Fatalf("got %+v", got)
				}
			})
		}
	})
	t.Run("IDPreferredOverExternalID", func(t *testing.T) {
		a := e.member(t, p, o, "pref-a@acme.test", "")
		b := e.member(t, p, o, "pref-b@acme.test", "", func(m *auth.Member) { m.ExternalID = a.ID })
		got, err := e.db.FindMember(ctx, p.ID, o.ID, a.ID)
		wantCode(t, err, "")
		_, viaOrg, err := e.db.FindOrgMember(ctx, p.ID, o.ID, a.ID)
		wantCode(t, err, "")
		if got.ID != a.ID || viaOrg.ID != a.ID || got.ID == b.ID {
			t.Fatalf("found %s and %s, want %s", got.ID, viaOrg.ID, a.ID)
		}
	})
	t.Run("UpdateStoresMutableFields", func(t *testing.T) {
		m := e.member(t, p, o, "upd@acme.test", "")
		e.clock.Advance(time.Second)
		m.EmailAddress, m.EmailID, m.EmailVerified = "New@Acme.Test", id(auth.PrefixMemberEmail, p), true
		m.Status, m.Name, m.ExternalID, m.IsBreakglass = auth.MemberDeleted, "New", "ext-new", true
		m.RoleIDs = []string{"editor"}
		m.MFAPhoneNumber, m.MFAPhoneID, m.MFAPhoneVerified = "+12025550111", id(auth.PrefixMemberPhone, p), true
		m.MFAEnrolled, m.DefaultMFAMethod = true, auth.MFAMethodSMS
		m.UntrustedMetadata = json.RawMessage(`{"u":true}`)
		wantCode(t, e.db.UpdateMember(ctx, m), "")
		got, err := e.db.FindMember(ctx, p.ID, o.ID, "ext-new")
		wantCode(t, err, "")
		m.EmailAddress = "new@acme.test"
		m.UntrustedMetadata = json.RawMessage(`{"u": true}`)
		if !reflect.DeepEqual(got, m) || !got.UpdatedAt.Equal(e.clock.Now()) {
			t.Fatalf("round trip:\n got %+v\nwant %+v", got, m)
		}
	})
	t.Run("MembershipsByEmailSpanOrganizationsOldestFirst", func(t *testing.T) {
		p := e.project(t)
		a, b, c := e.org(t, p, "ma", ""), e.org(t, p, "mb", ""), e.org(t, p, "mc", "")
		ma := e.member(t, p, a, "many@acme.test", "")
		e.clock.Advance(time.Millisecond)
		mb := e.member(t, p, b, "many@acme.test", "", func(m *auth.Member) { m.Status = auth.MemberInvited })
		e.member(t, p, c, "many@acme.test", "", func(m *auth.Member) { m.Status = auth.MemberDeleted })
		e.member(t, p, a, "other@acme.test", "")
		p3 := e.project(t)
		e.member(t, p3, e.org(t, p3, "ma", ""), "many@acme.test", "")
		members, orgs, err := e.db.MembershipsByEmail(ctx, p.ID, "MANY@acme.test")
		wantCode(t, err, "")
		if len(members) != 2 || members[0].ID != ma.ID || members[1].ID != mb.ID || orgs[0].ID != a.ID || orgs[1].ID != b.ID {
			t.Fatalf("got %d memberships", len(members))
		}
	})
	notFound := []struct {
		name string
		fn   func() error
		want auth.Code
	}{
		{"FindUnknownMember", func() error { _, err := e.db.FindMember(ctx, p.ID, o.ID, "member-test-nope"); return err }, auth.EMemberNotFound},
		{"FindEmptyRef", func() error { _, err := e.db.FindMember(ctx, p.ID, o.ID, ""); return err }, auth.EMemberNotFound},
		{"FindByUnknownEmail", func() error { _, err := e.db.FindMemberByEmail(ctx, p.ID, o.ID, "nope@acme.test"); return err }, auth.EMemberNotFound},
		{"OrgMemberUnknownOrg", func() error { _, _, err := e.db.FindOrgMember(ctx, p.ID, "nope", "x"); return err }, auth.EOrganizationNotFound},
		{"OrgMemberUnknownMember", func() error {
			org, mem, err := e.db.FindOrgMember(ctx, p.ID, o.ID, "member-test-nope")
			if org == nil || mem != nil {
				t.Fatalf("org %v member %v", org, mem)
			}
			return err
		}, auth.EMemberNotFound},
		{"AnyOrgUnknown", func() error { _, _, err := e.db.FindMemberAnyOrg(ctx, p.ID, "member-test-nope"); return err }, auth.EMemberNotFound},
		{"UpdateUnknown", func() error {
			return e.db.UpdateMember(ctx, &auth.Member{ID: "member-test-nope", ProjectID: p.ID, OrganizationID: o.ID, Status: auth.MemberActive})
		}, auth.EMemberNotFound},
		{"CreateInUnknownOrg", func() error {
			return e.db.CreateMember(ctx, &auth.Member{ID: id(auth.PrefixMember, p), ProjectID: p.ID, OrganizationID: "organization-test-nope", EmailAddress: "x@acme.test"})
		}, auth.EOrganizationNotFound},
		{"CreateWithBadStatus", func() error {
			return e.db.CreateMember(ctx, &auth.Member{ID: id(auth.PrefixMember, p), ProjectID: p.ID, OrganizationID: o.ID, EmailAddress: "bad@acme.test", Status: "zombie"})
		}, auth.EInvalid},
	}
	for _, tt := range notFound {
		t.Run(tt.name+"Rejected", func(t *testing.T) { wantCode(t, tt.fn(), tt.want) })
	}
}

func testMemberDuplicates(t *testing.T, e *env) {
	ctx := ctxT(t)
	p := e.project(t)
	o, o2 := e.org(t, p, "dup-a", ""), e.org(t, p, "dup-b", "")
	e.member(t, p, o, "taken@acme.test", "", func(m *auth.Member) { m.ExternalID = "ext-taken" })
	tests := []struct {
		name       string
		org        *auth.Organization
		email, ext string
		want       auth.Code
	}{
		{"DuplicateEmailInOrgRejected", o, "TAKEN@acme.test", "", auth.EDuplicateMemberEmail},
		{"DuplicateExternalIDInOrgRejected", o, "fresh@acme.test", "ext-taken", auth.EDuplicateExternalID},
		{"SameEmailAndExternalIDInOtherOrgAllowed", o2, "taken@acme.test", "ext-taken", ""},
		{"SeveralEmptyExternalIDsAllowed", o, "fresh2@acme.test", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &auth.Member{ID: id(auth.PrefixMember, p), ProjectID: p.ID, OrganizationID: tt.org.ID, EmailAddress: tt.email,
				EmailID: id(auth.PrefixMemberEmail, p), ExternalID: tt.ext}
			wantCode(t, e.db.CreateMember(ctx, m), tt.want)
		})
	}
	t.Run("UpdateToTakenEmailRejected", func(t *testing.T) {
		m := e.member(t, p, o, "mine@acme.test", "")
		m.EmailAddress = "taken@acme.test"
		wantCode(t, e.db.UpdateMember(ctx, m), auth.EDuplicateMemberEmail)
		m.EmailAddress, m.ExternalID = "mine@acme.test", "ext-taken"
		wantCode(t, e.db.UpdateMember(ctx, m), auth.EDuplicateExternalID)
	})
}

func testSearchMembers(t *testing.T, e *env) {
	ctx := ctxT(t)
	p := e.project(t)
	a, b := e.org(t, p, "sm-a", ""), e.org(t, p, "sm-b", "")
	tick := func() { e.clock.Advance(time.Millisecond) }
	ada := e.member(t, p, a, "ada@acme.test", "+12025550101")
	tick()
	bob := e.member(t, p, a, "bob_x@acme.test", "", func(m *auth.Member) { m.Status = auth.MemberInvited; m.IsBreakglass = true })
	tick()
	cy := e.member(t, p, a, "cy@globex.test", "+12025550102", func(m *auth.Member) { m.Status = auth.MemberDeleted })
	tick()
	adaB := e.member(t, p, b, "ada@acme.test", "+12025550101")
	// Another project's matching members are never returned.
	p2 := e.project(t)
	e.member(t, p2, e.org(t, p2, "sm-a", ""), "ada@acme.test", "+12025550101")

	yes := true
	both := []string{a.ID, b.ID}
	tests := []struct {
		name string
		q    auth.MemberQuery
		want []*auth.Member
	}{
		{"OneOrganization", auth.MemberQuery{OrganizationIDs: []string{a.ID}}, []*auth.Member{ada, bob, cy}},
		{"TwoOrganizations", auth.MemberQuery{OrganizationIDs: both}, []*auth.Member{ada, bob, cy, adaB}},
		{"OtherProjectsOrganizationEmpty", auth.MemberQuery{OrganizationIDs: []string{"organization-test-nope"}}, nil},
		{"MemberIDs", auth.MemberQuery{OrganizationIDs: both, MemberIDs: []string{bob.ID, adaB.ID}}, []*auth.Member{bob, adaB}},
		{"MemberEmailsAnyCase", auth.MemberQuery{OrganizationIDs: both, MemberEmails: []string{"ADA@acme.test"}}, []*auth.Member{ada, adaB}},
		{"Statuses", auth.MemberQuery{OrganizationIDs: both, Statuses: []auth.MemberStatus{auth.MemberInvited, auth.MemberDeleted}}, []*auth.Member{bob, cy}},
		{"PhoneNumbers", auth.MemberQuery{OrganizationIDs: []string{a.ID}, MemberPhoneNumbers: []string{"+12025550102"}}, []*auth.Member{cy}},
		{"MFAPhoneNumbers", auth.MemberQuery{OrganizationIDs: []string{a.ID}, MemberMFAPhoneNumbers: []string{"+12025550101"}}, []*auth.Member{ada}},
		{"EmailFuzzy", auth.MemberQuery{OrganizationIDs: both, MemberEmailFuzzy: "GLOBEX"}, []*auth.Member{cy}},
		{"EmailFuzzyUnderscoreIsLiteral", auth.MemberQuery{OrganizationIDs: both, MemberEmailFuzzy: "b_x"}, []*auth.Member{bob}},
		{"EmailFuzzyUnderscoreNoWildcard", auth.MemberQuery{OrganizationIDs: both, MemberEmailFuzzy: "a_a"}, nil},
		{"PhoneFuzzy", auth.MemberQuery{OrganizationIDs: []string{a.ID}, MemberPhoneNumberFuzzy: "0102"}, []*auth.Member{cy}},
		{"MFAPhoneFuzzy", auth.MemberQuery{OrganizationIDs: []string{a.ID}, MemberMFAPhoneNumberFuzz: "0101"}, []*auth.Member{ada}},
		{"EmailFuzzyWithoutTrigram", auth.MemberQuery{OrganizationIDs: both, MemberEmailFuzzy: "Y@"}, []*auth.Member{cy}},
		{"PhoneFuzzyWithoutTrigram", auth.MemberQuery{OrganizationIDs: []string{a.ID}, MemberPhoneNumberFuzzy: "01"}, []*auth.Member{ada, cy}},
		{"WildcardsOnlyAreLiteral", auth.MemberQuery{OrganizationIDs: both, MemberEmailFuzzy: "%%"}, nil},
		{"OrOfListsAndFuzzy", auth.MemberQuery{OrganizationIDs: both, Or: true, MemberIDs: []string{bob.ID},
			MemberMFAPhoneNumbers: []string{"+12025550102"}, MemberEmailFuzzy: "ada@"}, []*auth.Member{ada, bob, cy, adaB}},
		{"Breakglass", auth.MemberQuery{OrganizationIDs: both, MemberIsBreakglass: &yes}, []*auth.Member{bob}},
		{"FiltersAndByDefault", auth.MemberQuery{OrganizationIDs: both, MemberEmailFuzzy: "ada", MemberIsBreakglass: &yes}, nil},
		{"FiltersOrWhenAsked", auth.MemberQuery{OrganizationIDs: []string{a.ID}, Or: true, MemberEmailFuzzy: "ada", MemberIsBreakglass: &yes},
			[]*auth.Member{ada, bob}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page, err := e.db.SearchMembers(ctx, p.ID, tt.q)
			wantCode(t, err, "")
			var got, want []string
			for _, m := range page.Members {
				got = append(got, m.ID)
			}
			for _, m := range tt.want {
				want = append(want, m.ID)
			}
			if !reflect.DeepEqual(got, want) || page.Total != len(tt.want) || page.NextCursor != "" {
				t.Fatalf("got %v (total %d), want %v", got, page.Total, want)
			}
		})
	}
	// Pages follow (created_at, id) whether the keys are a sort of every
	// match (several organizations, or a strpos filter) or a walk of one
	// organization's members in index order.
	pages := []struct {
		name  string
		q     auth.MemberQuery
		total int
		want  []*auth.Member
	}{
		{"PagesWithCursor", auth.MemberQuery{OrganizationIDs: both, Limit: 3}, 4, []*auth.Member{ada, bob, cy, adaB}},
		{"PagesWithCursorWithoutTrigram", auth.MemberQuery{OrganizationIDs: both, MemberEmailFuzzy: "a@", Limit: 1}, 2, []*auth.Member{ada, adaB}},
		{"PagesOneOrganizationInOrder", auth.MemberQuery{OrganizationIDs: []string{a.ID}, Limit: 2}, 3, []*auth.Member{ada, bob, cy}},
		{"PagesOneOrganizationWithoutTrigram", auth.MemberQuery{OrganizationIDs: []string{a.ID}, MemberEmailFuzzy: "@", Limit: 1}, 3, []*auth.Member{ada, bob, cy}},
		{"PagesOneOrganizationWithTrigram", auth.MemberQuery{OrganizationIDs: []string{a.ID}, MemberEmailFuzzy: ".test", Limit: 1}, 3, []*auth.Member{ada, bob, cy}},
	}
	for _, tt := range pages {
		t.Run(tt.name, func(t *testing.T) {
			got := pageIDs(t, len(tt.want)+1, tt.total, "", func(cursor string) ([]string, int, string, error) {
				q := tt.q
				q.Cursor = cursor
				page, err := e.db.SearchMembers(ctx, p.ID, q)
				if err != nil {
					return nil, 0, "", err
				}
				var ids []string
				for _, m := range page.Members {
					ids = append(ids, m.ID)
				}
				return ids, page.Total, page.NextCursor, nil
			})
			var want []string
			for _, m := range tt.want {
				want = append(want, m.ID)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("paged %v, want %v", got, want)
			}
		})
	}
	invalid := []struct {
		name  string
		q     auth.MemberQuery
		field string
	}{
		{"NoOrganizationRejected", auth.MemberQuery{}, "organization_ids"},
		{"LimitTooLargeRejected", auth.MemberQuery{OrganizationIDs: both, Limit: 5000}, "limit"},
		{"BadCursorRejected", auth.MemberQuery{OrganizationIDs: both, Cursor: "bad cursor"}, "cursor"},
		{"LongFuzzyRejected", auth.MemberQuery{OrganizationIDs: both, MemberEmailFuzzy: string(make([]byte, 257))}, "member_email_fuzzy"},
	}
	for _, tt := range invalid {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.db.SearchMembers(ctx, p.ID, tt.q)
			var ae *auth.Error
			if !errors.As(err, &ae) || ae.Code != auth.EInvalid || ae.Field != tt.field {
				t.Fatalf("err %v, want invalid %s", err, tt.field)
			}
		})
	}
}

// testMemberIsolation: a member of organization A is never reached
// through organization B, nor through another project.
func testMemberIsolation(t *testing.T, e *env) {
	ctx := ctxT(t)
	p, p2 := e.project(t), e.project(t)
	a, b := e.org(t, p, "iso-a", "iso-ext-a"), e.org(t, p, "iso-b", "iso-ext-b")
	m := e.member(t, p, a, "iso@acme.test", "+12025550500", func(m *auth.Member) { m.ExternalID = "iso-ext-m" })
	// Project 2 has an organization with the same slug and external id.
	e.org(t, p2, "iso-a", "iso-ext-a")
	tests := []struct {
		name string
		fn   func() error
		want auth.Code
	}{
		{"FindMemberViaOtherOrg", func() error { _, err := e.db.FindMember(ctx, p.ID, b.ID, m.ID); return err }, auth.EMemberNotFound},
		{"FindMemberByExternalIDViaOtherOrg", func() error { _, err := e.db.FindMember(ctx, p.ID, b.ID, "iso-ext-m"); return err }, auth.EMemberNotFound},
		{"FindMemberByEmailViaOtherOrg", func() error { _, err := e.db.FindMemberByEmail(ctx, p.ID, b.ID, "iso@acme.test"); return err }, auth.EMemberNotFound},
		{"FindOrgMemberViaOtherOrg", func() error { _, _, err := e.db.FindOrgMember(ctx, p.ID, "iso-b", m.ID); return err }, auth.EMemberNotFound},
		{"FindOrgMemberViaOtherProject", func() error { _, _, err := e.db.FindOrgMember(ctx, p2.ID, "iso-a", m.ID); return err }, auth.EMemberNotFound},
		{"FindMemberViaOtherProject", func() error { _, err := e.db.FindMember(ctx, p2.ID, a.ID, m.ID); return err }, auth.EMemberNotFound},
		{"FindMemberAnyOrgViaOtherProject", func() error { _, _, err := e.db.FindMemberAnyOrg(ctx, p2.ID, m.ID); return err }, auth.EMemberNotFound},
		{"FindOrganizationViaOtherProject", func() error { _, err := e.db.FindOrganization(ctx, p2.ID, a.ID); return err }, auth.EOrganizationNotFound},
		{"UpdateMemberViaOtherOrg", func() error {
			c := *m
			c.OrganizationID, c.Name = b.ID, "hijacked"
			return e.db.UpdateMember(ctx, &c)
		}, auth.EMemberNotFound},
		{"UpdateMemberViaOtherProject", func() error {
			c := *m
			c.ProjectID, c.Name = p2.ID, "hijacked"
			return e.db.UpdateMember(ctx, &c)
		}, auth.EMemberNotFound},
		{"DeleteOrganizationViaOtherProject", func() error { return e.db.DeleteOrganization(ctx, p2.ID, a.ID) }, auth.EOrganizationNotFound},
		{"CreateMemberInOtherProjectsOrg", func() error {
			return e.db.CreateMember(ctx, &auth.Member{ID: id(auth.PrefixMember, p2), ProjectID: p2.ID, OrganizationID: a.ID, EmailAddress: "x@acme.test"})
		}, auth.EOrganizationNotFound},
		{"CreateSessionForOtherProjectsMember", func() error {
			return e.db.CreateSession(ctx, &auth.Session{ID: id(auth.PrefixSession, p2), ProjectID: p2.ID, MemberID: m.ID, OrganizationID: a.ID,
				TokenHash: hash(auth.NewToken()), ExpiresAt: e.clock.Now().Add(time.Hour)}, []byte("enc"))
		}, auth.EMemberNotFound},
		{"CreateCodeForOtherProjectsMember", func() error {
			return e.db.CreateChallenge(ctx, &auth.Challenge{ID: id(auth.PrefixChallenge, p2), ProjectID: p2.ID, MemberID: m.ID,
				MethodID: m.MFAPhoneID, Channel: auth.ChannelSMS, CodeHMAC: hash("c"), ExpiresAt: e.clock.Now().Add(time.Minute)}, nil, nil)
		}, auth.EMemberNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name+"NotFound", func(t *testing.T) { wantCode(t, tt.fn(), tt.want) })
	}
	t.Run("SearchViaOtherOrgOrProjectEmpty", func(t *testing.T) {
		for _, q := range []struct {
			project string
			orgs    []string
		}{{p.ID, []string{b.ID}}, {p2.ID, []string{a.ID}}} {
			page, err := e.db.SearchMembers(ctx, q.project, auth.MemberQuery{OrganizationIDs: q.orgs, MemberIDs: []string{m.ID}})
			wantCode(t, err, "")
			if page.Total != 0 || len(page.Members) != 0 {
				t.Fatalf("found %d members", page.Total)
			}
		}
	})
	t.Run("MemberUnchanged", func(t *testing.T) {
		got, err := e.db.FindMember(ctx, p.ID, a.ID, m.ID)
		wantCode(t, err, "")
		if got.Name != "" || got.OrganizationID != a.ID {
			t.Fatalf("member changed: %+v", got)
		}
	})
}

func testMemberSessions(t *testing.T, e *env) {
	ctx := ctxT(t)
	p := e.project(t)
	o := e.org(t, p, "sess-org", "")
	m, other := e.member(t, p, o, "s@acme.test", ""), e.member(t, p, o, "t@acme.test", "")
	u := e.user(t, p, "s@acme.test", "")
	session := func(t *testing.T, userID string, mem *auth.Member, token string) *auth.Session {
		t.Helper()
		s := &auth.Session{ID: id(auth.PrefixSession, p), ProjectID: p.ID, UserID: userID, TokenHash: hash(token),
			ExpiresAt: e.clock.Now().Add(time.Hour), Factors: []auth.Factor{{Type: "magic_link", DeliveryMethod: "email"}}}
		if mem != nil {
			s.MemberID, s.OrganizationID = mem.ID, mem.OrganizationID
		}
		wantCode(t, e.db.CreateSession(ctx, s, []byte("enc-"+token)), "")
		e.clock.Advance(time.Millisecond)
		return s
	}
	s1 := session(t, "", m, "ms1")
	s2 := session(t, "", m, "ms2")
	so := session(t, "", other, "ms-other")
	su := session(t, u.ID, nil, "us1")

	t.Run("FoundByTokenAndIDWithMemberAndOrganization", func(t *testing.T) {
		byTok, enc, err := e.db.FindSessionByToken(ctx, p.ID, [][]byte{hash("ms1")})
		wantCode(t, err, "")
		byID, _, err := e.db.FindSession(ctx, p.ID, s1.ID)
		wantCode(t, err, "")
		for _, s := range []*auth.Session{byTok, byID} {
			if s.ID != s1.ID || s.MemberID != m.ID || s.OrganizationID != o.ID || s.UserID != "" || len(s.Factors) != 1 {
				t.Fatalf("session %+v", s)
			}
		}
		if string(enc) != "enc-ms1" {
			t.Fatalf("enc %q", enc)
		}
		us, _, err := e.db.FindSessionByToken(ctx, p.ID, [][]byte{hash("us1")})
		wantCode(t, err, "")
		if us.UserID != u.ID || us.MemberID != "" || us.OrganizationID != "" {
			t.Fatalf("user session %+v", us)
		}
	})
	t.Run("UpdateKeepsMember", func(t *testing.T) {
		s := *s1
		s.Factors = append(s.Factors, auth.Factor{Type: "otp", DeliveryMethod: "sms"})
		wantCode(t, e.db.UpdateSession(ctx, &s), "")
		got, _, err := e.db.FindSession(ctx, p.ID, s1.ID)
		wantCode(t, err, "")
		if len(got.Factors) != 2 || got.MemberID != m.ID {
			t.Fatalf("session %+v", got)
		}
	})
	t.Run("ListedPerMemberNewestFirst", func(t *testing.T) {
		got, encs, err := e.db.ListMemberSessions(ctx, p.ID, m.ID)
		wantCode(t, err, "")
		if len(got) != 2 || got[0].ID != s2.ID || got[1].ID != s1.ID || string(encs[0]) != "enc-ms2" {
			t.Fatalf("got %d sessions", len(got))
		}
		users, _, err := e.db.ListSessions(ctx, p.ID, u.ID)
		wantCode(t, err, "")
		if len(users) != 1 || users[0].ID != su.ID {
			t.Fatalf("user sessions %d", len(users))
		}
		none, _, err := e.db.ListMemberSessions(ctx, e.project(t).ID, m.ID)
		wantCode(t, err, "")
		if len(none) != 0 {
			t.Fatalf("other project listed %d", len(none))
		}
	})
	t.Run("RevokedPerMember", func(t *testing.T) {
		n, err := e.db.RevokeMemberSessions(ctx, e.project(t).ID, m.ID)
		wantCode(t, err, "")
		if n != 0 {
			t.Fatalf("other project revoked %d", n)
		}
		n, err = e.db.RevokeMemberSessions(ctx, p.ID, m.ID)
		wantCode(t, err, "")
		if n != 2 {
			t.Fatalf("revoked %d, want 2", n)
		}
		if n, _ = e.db.RevokeMemberSessions(ctx, p.ID, m.ID); n != 0 {
			t.Fatalf("revoked again %d", n)
		}
		got, _, _ := e.db.ListMemberSessions(ctx, p.ID, m.ID)
		kept, _, _ := e.db.ListMemberSessions(ctx, p.ID, other.ID)
		users, _, _ := e.db.ListSessions(ctx, p.ID, u.ID)
		if len(got) != 0 || len(kept) != 1 || kept[0].ID != so.ID || len(users) != 1 {
			t.Fatalf("after revoke: member %d, other %d, user %d", len(got), len(kept), len(users))
		}
	})
	t.Run("SessionOfUnknownUserRejected", func(t *testing.T) {
		s := &auth.Session{ID: id(auth.PrefixSession, p), ProjectID: p.ID, TokenHash: hash("nobody"), ExpiresAt: e.clock.Now().Add(time.Hour)}
		wantCode(t, e.db.CreateSession(ctx, s, []byte("enc")), auth.EUserNotFound)
	})
	t.Run("SessionWithUserAndMemberRejected", func(t *testing.T) {
		// The store stores a member session when MemberID is set, without
		// the user; the owner CHECK forbids a row with both.
		_, err := e.db.Pool().Exec(ctx, `INSERT INTO sessions (id, project_id, user_id, member_id, organization_id, token_hash,
			token_enc, started_at, last_accessed_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, 'x', now(), now(), now())`,
			id(auth.PrefixSession, p), p.ID, u.ID, m.ID, o.ID, hash("both"))
		if err == nil {
			t.Fatal("a session with both a user and a member was stored")
		}
	})
}
