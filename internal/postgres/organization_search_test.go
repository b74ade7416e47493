package postgres_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sesame-auth/sesame/internal/auth"
)

// searchRow is an organization's row of organization_search (migration
// 0019).
type searchRow struct {
	CreatedAt                   time.Time
	Name, Slug, Domains, Emails string
	Many                        bool
}

// testOrganizationSearchRow checks that the triggers keep an
// organization's organization_search row equal to what the search reads
// (lower-cased name, slug and allowed domains, the emails of its at most
// 50 non-deleted members) through the organization's and its members'
// writes, write no new version of it when nothing searched changes, and
// that member writes never rewrite the organizations row itself.
func testOrganizationSearchRow(t *testing.T, e *env) {
	ctx := ctxT(t)
	p := e.project(t)
	// row returns the side row and the xmin of both rows (which changes
	// with every new version), found false when there is no side row.
	row := func(t *testing.T, orgID string) (r searchRow, found bool, searchXmin, orgXmin string) {
		t.Helper()
		err := e.db.Pool().QueryRow(ctx, `SELECT s.created_at, s.search_name, s.search_slug, s.search_domains,
				s.search_member_emails, s.search_members_many, s.xmin::text, coalesce((SELECT o.xmin::text FROM organizations o
				WHERE o.project_id = s.project_id AND o.id = s.id), '')
			FROM organization_search s WHERE s.project_id = $1 AND s.id = $2`, p.ID, orgID).
			Scan(&r.CreatedAt, &r.Name, &r.Slug, &r.Domains, &r.Emails, &r.Many, &searchXmin, &orgXmin)
		if errors.Is(err, pgx.ErrNoRows) {
			return r, false, "", ""
		}
		if err != nil {
			t.Fatal(err)
		}
		return r, true, searchXmin, orgXmin
	}
	o := &auth.Organization{ID: id(auth.PrefixOrganization, p), ProjectID: p.ID, Name: "Acme Corp", Slug: "Acme-Co",
		EmailAllowedDomains: []string{"Acme.test", "b.test"}}
	var members []*auth.Member
	join := func(t *testing.T, email string) {
		members = append(members, e.member(t, p, o, email, ""))
	}
	update := func(t *testing.T, m *auth.Member, f func(*auth.Member)) {
		f(m)
		wantCode(t, e.db.UpdateMember(ctx, m), "")
	}
	created := func() time.Time { return o.CreatedAt }
	tests := []struct {
		name  string
		write func(*testing.T)
		// want is the side row after write (nil: no row); same, that
		// write left it as it was (no new version); orgKept, that write
		// left the organizations row as it was.
		want          func() *searchRow
		same, orgKept bool
	}{
		{"CreatedWithOrganization", func(t *testing.T) { wantCode(t, e.db.CreateOrganization(ctx, o), "") },
			func() *searchRow {
				return &searchRow{CreatedAt: created(), Name: "acme corp", Slug: "acme-co", Domains: "acme.test\nb.test"}
			}, false, false},
		{"UpdateFollowsNameSlugAndDomains", func(t *testing.T) {
			o.Name, o.Slug, o.EmailAllowedDomains = "Initech LLC", "Initech", []string{"INITECH.test"}
			wantCode(t, e.db.UpdateOrganization(ctx, o), "")
		}, func() *searchRow {
			return &searchRow{CreatedAt: created(), Name: "initech llc", Slug: "initech", Domains: "initech.test"}
		}, false, false},
		{"OtherSettingsUpdateWritesNothing", func(t *testing.T) {
			o.LogoURL, o.MFAPolicy = "https://initech.test/logo.png", auth.MFARequiredForAll
			wantCode(t, e.db.UpdateOrganization(ctx, o), "")
		}, func() *searchRow {
			return &searchRow{CreatedAt: created(), Name: "initech llc", Slug: "initech", Domains: "initech.test"}
		}, true, false},
		{"MembersAddedSorted", func(t *testing.T) { join(t, "bob@x.test"); join(t, "ada@x.test") }, func() *searchRow {
			return &searchRow{CreatedAt: created(), Name: "initech llc", Slug: "initech", Domains: "initech.test",
				Emails: "ada@x.test\nbob@x.test"}
		}, false, true},
		{"MemberEmailChangeFollows", func(t *testing.T) { update(t, members[1], func(m *auth.Member) { m.EmailAddress = "cy@x.test" }) },
			func() *searchRow {
				return &searchRow{CreatedAt: created(), Name: "initech llc", Slug: "initech", Domains: "initech.test",
					Emails: "bob@x.test\ncy@x.test"}
			}, false, true},
		{"MemberStatusChangeWritesNothing", func(t *testing.T) { update(t, members[0], func(m *auth.Member) { m.Status = auth.MemberInvited }) },
			func() *searchRow {
				return &searchRow{CreatedAt: created(), Name: "initech llc", Slug: "initech", Domains: "initech.test",
					Emails: "bob@x.test\ncy@x.test"}
			}, true, true},
		{"DeletedMemberDropped", func(t *testing.T) { update(t, members[0], func(m *auth.Member) { m.Status = auth.MemberDeleted }) },
			func() *searchRow {
				return &searchRow{CreatedAt: created(), Name: "initech llc", Slug: "initech", Domains: "initech.test",
					Emails: "cy@x.test"}
			}, false, true},
		{"RemovedMemberDropped", func(t *testing.T) {
			if _, err := e.db.Pool().Exec(ctx, `DELETE FROM members WHERE project_id = $1 AND id = $2`, p.ID, members[1].ID); err != nil {
				t.Fatal(err)
			}
		}, func() *searchRow {
			return &searchRow{CreatedAt: created(), Name: "initech llc", Slug: "initech", Domains: "initech.test"}
		}, false, true},
		{"FiftyMembersListed", func(t *testing.T) {
			for i := range 50 {
				join(t, fmt.Sprintf("m%02d@y.test", i))
			}
		}, func() *searchRow {
			emails := make([]string, 50)
			for i := range emails {
				emails[i] = fmt.Sprintf("m%02d@y.test", i)
			}
			return &searchRow{CreatedAt: created(), Name: "initech llc", Slug: "initech", Domains: "initech.test",
				Emails: strings.Join(emails, "\n")}
		}, false, true},
		{"FiftyFirstMemberMakesItMany", func(t *testing.T) { join(t, "zed@y.test") }, func() *searchRow {
			return &searchRow{CreatedAt: created(), Name: "initech llc", Slug: "initech", Domains: "initech.test", Many: true}
		}, false, true},
		{"DeleteOrganizationRemovesRow", func(t *testing.T) { wantCode(t, e.db.DeleteOrganization(ctx, p.ID, o.ID), "") },
			func() *searchRow { return nil }, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, searchBefore, orgBefore := row(t, o.ID)
			tt.write(t)
			got, found, searchAfter, orgAfter := row(t, o.ID)
			want := tt.want()
			switch {
			case want == nil && found:
				t.Fatalf("row left: %+v", got)
			case want != nil && !found:
				t.Fatal("no row")
			case want != nil && (got.Name != want.Name || got.Slug != want.Slug || got.Domains != want.Domains ||
				got.Emails != want.Emails || got.Many != want.Many || !got.CreatedAt.Equal(want.CreatedAt)):
				t.Fatalf("row %+v, want %+v", got, *want)
			}
			if tt.same && searchAfter != searchBefore {
				t.Fatalf("side row rewritten (xmin %s -> %s)", searchBefore, searchAfter)
			}
			if tt.orgKept && orgAfter != orgBefore {
				t.Fatalf("organizations row rewritten (xmin %s -> %s)", orgBefore, orgAfter)
			}
		})
	}
	t.Run("ConcurrentRenamesAndJoinsAllKept", func(t *testing.T) {
		// A rename's trigger and a join's lock the same side row; each
		// sets only its own columns on the newest version.
		o := e.org(t, p, "race-rename", "")
		const n = 6
		errs := make(chan error, 2*n)
		for i := range n {
			go func() {
				errs <- e.db.CreateMember(ctx, &auth.Member{ID: id(auth.PrefixMember, p), ProjectID: p.ID, OrganizationID: o.ID,
					EmailAddress: fmt.Sprintf("r%d@race.test", i), EmailID: id(auth.PrefixMemberEmail, p), Status: auth.MemberActive})
			}()
			go func() {
				c := *o
				c.Name = fmt.Sprintf("Renamed %d", i)
				errs <- e.db.UpdateOrganization(ctx, &c)
			}()
		}
		for range 2 * n {
			wantCode(t, <-errs, "")
		}
		got, _, _, _ := row(t, o.ID)
		found, err := e.db.FindOrganization(ctx, p.ID, o.ID)
		wantCode(t, err, "")
		if want := "r0@race.test\nr1@race.test\nr2@race.test\nr3@race.test\nr4@race.test\nr5@race.test"; got.Emails != want ||
			got.Name != strings.ToLower(found.Name) {
			t.Fatalf("row %+v, organization named %q", got, found.Name)
		}
	})
}
