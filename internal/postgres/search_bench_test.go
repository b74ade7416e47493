package postgres_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/internal/auth"
	"github.com/sesame-auth/sesame/internal/pgtest"
	"github.com/sesame-auth/sesame/internal/postgres"
)

// seedUsers inserts n users, each with one email and one phone, in three
// generate_series statements, then ANALYZEs so the planner sees them.
func seedUsers(tb testing.TB, db *postgres.DB, projectID string, n int) {
	tb.Helper()
	ctx := tb.Context()
	for _, q := range []string{
		`INSERT INTO users (project_id, id, first_name, last_name, created_at)
		 SELECT $1, 'user-test-seed-' || g, 'First' || g, 'Last' || (g * 7919 % 100003), now() - g * interval '1 second'
		 FROM generate_series(1, $2::int) g`,
		`INSERT INTO emails (id, project_id, user_id, address, verified)
		 SELECT 'email-test-seed-' || g, $1, 'user-test-seed-' || g, 'person' || g || '@example' || (g % 97) || '.com', g % 2 = 0
		 FROM generate_series(1, $2::int) g`,
		`INSERT INTO phone_numbers (id, project_id, user_id, number, verified)
		 SELECT 'phone-number-test-seed-' || g, $1, 'user-test-seed-' || g, '+1555' || lpad(g::text, 7, '0'), g % 3 = 0
		 FROM generate_series(1, $2::int) g`,
		`ANALYZE users; ANALYZE emails; ANALYZE phone_numbers`,
	} {
		args := []any{projectID, n}
		if strings.HasPrefix(q, "ANALYZE") {
			args = nil
		}
		if _, err := db.Pool().Exec(ctx, q, args...); err != nil {
			tb.Fatalf("seed: %v", err)
		}
	}
}

// hostileQueries are the fuzzy searches an attacker would send: values at
// the 256-byte bound, LIKE metacharacters, no-trigram short strings, all
// three fuzzy filters under OR, and a common substring that matches
// everyone.
func hostileQueries() map[string]auth.UserQuery {
	long := strings.Repeat("ab%_", 64) // 256 bytes, escaped metacharacters
	return map[string]auth.UserQuery{
		"long_email_fuzzy":      {EmailFuzzy: long},
		"long_name_fuzzy":       {FullNameFuzzy: long},
		"long_all_fuzzy_or":     {Or: true, FullNameFuzzy: long, EmailFuzzy: long, PhoneFuzzy: long},
		"short_email_fuzzy":     {EmailFuzzy: "n1"},
		"common_email_fuzzy":    {EmailFuzzy: "example"},
		"wildcards_only":        {EmailFuzzy: strings.Repeat("%", 256)},
		"common_all_fuzzy_or":   {Or: true, FullNameFuzzy: "First", EmailFuzzy: "person", PhoneFuzzy: "555"},
		"selective_and":         {EmailFuzzy: "person4242@", PhoneFuzzy: "0004242"},
		"max_page_common_fuzzy": {EmailFuzzy: "example1", Limit: postgres.MaxSearchLimit},
	}
}

// BenchmarkHostileSearch runs hostile fuzzy searches against 100,000 users
// and reports each query's p99 (ms). Target: every p99 under 100 ms.
//
//	go test ./internal/postgres -run '^$' -bench HostileSearch -benchtime 50x
func BenchmarkHostileSearch(b *testing.B) {
	db := pgtest.MustOpenDB(b)
	p := &auth.Project{ID: "project-test-" + auth.NewUUID()}
	if err := db.EnsureProject(b.Context(), p.ID, hash(p.ID)); err != nil {
		b.Fatal(err)
	}
	seedUsers(b, db, p.ID, 100_000)
	qs := hostileQueries()
	names := make([]string, 0, len(qs))
	for n := range qs {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, name := range names {
		q := qs[name]
		b.Run(name, func(b *testing.B) {
			var lat []time.Duration
			for b.Loop() {
				start := time.Now()
				if _, err := db.SearchUsers(b.Context(), p.ID, q); err != nil {
					b.Fatalf("SearchUsers: %v", err)
				}
				lat = append(lat, time.Since(start))
			}
			slices.Sort(lat)
			p99 := lat[(len(lat)*99)/100-boolInt(len(lat)*99%100 == 0)]
			b.ReportMetric(float64(p99.Microseconds())/1000, "p99_ms")
		})
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
