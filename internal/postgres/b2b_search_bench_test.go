package postgres_test

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/internal/auth"
	"github.com/sesame-auth/sesame/internal/pgtest"
	"github.com/sesame-auth/sesame/internal/postgres"
)

// seedB2B inserts n organizations (organization g: name "Org g Corp",
// slug "org-g", allowed domains example<g%97>.com and corp<g>.com, created
// g seconds ago) with one member each (m<g>@org<g>.com), and n more members
// in organization 1 (member<g>@example<g%97>.com, MFA phone +1555<g>), then
// VACUUM ANALYZEs. The member inserts rewrite every organization_search
// row once (migration 0016's triggers, writing there since 0019), which a
// plain VACUUM would leave as 100,000 empty row slots that every scan of
// the table reads (twice the pages); a table that grew over time reuses
// them, so organization_search is compacted (VACUUM FULL) as it was before
// those triggers.
func seedB2B(tb testing.TB, db *postgres.DB, projectID string, n int) {
	tb.Helper()
	ctx := tb.Context()
	for _, q := range []string{
		`INSERT INTO organizations (project_id, id, name, slug, email_allowed_domains, created_at)
		 SELECT $1, 'organization-test-seed-' || g, 'Org ' || g || ' Corp', 'org-' || g,
			ARRAY['example' || (g % 97) || '.com', 'corp' || g || '.com'], now() - g * interval '1 second'
		 FROM generate_series(1, $2::int) g`,
		`INSERT INTO members (project_id, id, organization_id, email, email_id, created_at)
		 SELECT $1, 'member-test-seed-one-' || g, 'organization-test-seed-' || g, 'm' || g || '@org' || g || '.com',
			'member-email-test-seed-one-' || g, now() - g * interval '1 second'
		 FROM generate_series(1, $2::int) g`,
		`INSERT INTO members (project_id, id, organization_id, email, email_id, mfa_phone_number, status, created_at)
		 SELECT $1, 'member-test-seed-' || g, 'organization-test-seed-1', 'member' || g || '@example' || (g % 97) || '.com',
			'member-email-test-seed-' || g, '+1555' || lpad(g::text, 7, '0'), CASE WHEN g % 10 = 0 THEN 'invited' ELSE 'active' END,
			now() - g * interval '1 second'
		 FROM generate_series(1, $2::int) g`,
		`VACUUM FULL organization_search`, `VACUUM ANALYZE organizations`, `VACUUM ANALYZE organization_search`,
		`VACUUM ANALYZE members`,
	} {
		args := []any{projectID, n}
		if strings.HasPrefix(q, "VACUUM") {
			args = nil
		}
		if _, err := db.Pool().Exec(ctx, q, args...); err != nil {
			tb.Fatalf("seed: %v", err)
		}
	}
}

// seq returns n strings format(i*97+1), spread over the seeded rows.
func seq(n int, format string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf(format, i*97+1)
	}
	return out
}

// BenchmarkHostileB2BSearch runs hostile organization and member searches
// against 100,000 organizations and 200,000 members (100,000 of them in
// one organization) and reports each query's p99 (ms). Target: every p99
// under 100 ms.
//
//	go test ./internal/postgres -run '^$' -bench HostileB2BSearch -benchtime 40x
func BenchmarkHostileB2BSearch(b *testing.B) {
	db := pgtest.MustOpenDB(b)
	p := &auth.Project{ID: "project-test-" + auth.NewUUID()}
	if err := db.EnsureProject(b.Context(), p.ID, hash(p.ID)); err != nil {
		b.Fatal(err)
	}
	seedB2B(b, db, p.ID, 100_000)
	long := strings.Repeat("ab%_", 64)
	big := []string{"organization-test-seed-1"}
	orgs := map[string]auth.OrganizationQuery{
		"common_name_fuzzy":         {OrganizationNameFuzzy: "corp"},
		"long_name_fuzzy":           {OrganizationNameFuzzy: long},
		"short_name_fuzzy":          {OrganizationNameFuzzy: "g1"},
		"wildcards_only":            {OrganizationSlugFuzzy: strings.Repeat("%", 256)},
		"common_member_email_fuzzy": {MemberEmailFuzzy: "example"},
		"spread_member_email_fuzzy": {MemberEmailFuzzy: "@org"},
		"long_member_email_fuzzy":   {MemberEmailFuzzy: long},
		"common_domain_fuzzy":       {AllowedDomainFuzzy: "example"},
		"common_all_fuzzy_or": {Or: true, OrganizationNameFuzzy: "org", OrganizationSlugFuzzy: "org-",
			MemberEmailFuzzy: "@org", AllowedDomainFuzzy: "corp"},
		"long_all_fuzzy_or": {Or: true, OrganizationNameFuzzy: long, OrganizationSlugFuzzy: long,
			MemberEmailFuzzy: long, AllowedDomainFuzzy: long},
		"max_lists_or": {Or: true, OrganizationIDs: seq(1000, "organization-test-seed-%d"), OrganizationSlugs: seq(1000, "org-%d"),
			MemberEmails: seq(1000, "m%d@x.com"), AllowedDomains: seq(1000, "corp%d.com"), ClaimedEmailDomains: seq(1000, "d%d.com")},
		"max_page_common_fuzzy": {OrganizationNameFuzzy: "corp", Limit: postgres.MaxSearchLimit},
	}
	members := map[string]auth.MemberQuery{
		"common_email_fuzzy":    {OrganizationIDs: big, MemberEmailFuzzy: "example"},
		"long_email_fuzzy":      {OrganizationIDs: big, MemberEmailFuzzy: long},
		"short_email_fuzzy":     {OrganizationIDs: big, MemberEmailFuzzy: "r1"},
		"wildcards_only":        {OrganizationIDs: big, MemberEmailFuzzy: strings.Repeat("%", 256)},
		"common_phone_fuzzy":    {OrganizationIDs: big, MemberPhoneNumberFuzzy: "555"},
		"matches_sort_last":     {OrganizationIDs: big, MemberMFAPhoneNumberFuzz: "+15550000"},
		"common_all_fuzzy_or":   {OrganizationIDs: big, Or: true, MemberEmailFuzzy: "member", MemberPhoneNumberFuzzy: "555", MemberIsBreakglass: ptr(false)},
		"long_all_fuzzy_or":     {OrganizationIDs: big, Or: true, MemberEmailFuzzy: long, MemberPhoneNumberFuzzy: long, MemberMFAPhoneNumberFuzz: long},
		"all_statuses":          {OrganizationIDs: big, Statuses: []auth.MemberStatus{"active", "invited", "pending"}},
		"max_lists_or":          {OrganizationIDs: big, Or: true, MemberIDs: seq(1000, "member-test-seed-%d"), MemberEmails: seq(1000, "member%d@example1.com"), MemberMFAPhoneNumbers: seq(1000, "+1555%07d")},
		"max_orgs_common_fuzzy": {OrganizationIDs: seq(1000, "organization-test-seed-%d"), MemberEmailFuzzy: "@org"},
		"max_page_common_fuzzy": {OrganizationIDs: big, MemberEmailFuzzy: "example1", Limit: postgres.MaxSearchLimit},
	}
	for _, name := range sortedKeys(orgs) {
		q := orgs[name]
		// SEARCH_EXPLAIN as in BenchmarkHostileSearch.
		if e := os.Getenv("SEARCH_EXPLAIN"); e != "" {
			plan, err := db.ExplainOrgSearch(b.Context(), p.ID, q, e == "analyze")
			b.Logf("organizations/%s:\n%s%v", name, plan, err)
		}
		benchP99(b, "organizations/"+name, func() error {
			_, err := db.SearchOrganizations(b.Context(), p.ID, q)
			return err
		})
	}
	for _, name := range sortedKeys(members) {
		q := members[name]
		if e := os.Getenv("SEARCH_EXPLAIN"); e != "" {
			plan, err := db.ExplainMemberSearch(b.Context(), p.ID, q, e == "analyze")
			b.Logf("members/%s:\n%s%v", name, plan, err)
		}
		benchP99(b, "members/"+name, func() error {
			_, err := db.SearchMembers(b.Context(), p.ID, q)
			return err
		})
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// benchP99 runs search as a sub-benchmark and reports its p99 (ms).
func benchP99(b *testing.B, name string, search func() error) {
	b.Run(name, func(b *testing.B) {
		var lat []time.Duration
		for b.Loop() {
			start := time.Now()
			if err := search(); err != nil {
				b.Fatalf("search: %v", err)
			}
			lat = append(lat, time.Since(start))
		}
		slices.Sort(lat)
		p99 := lat[(len(lat)*99)/100-boolInt(len(lat)*99%100 == 0)]
		b.ReportMetric(float64(p99.Microseconds())/1000, "p99_ms")
	})
}
