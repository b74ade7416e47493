package postgres_test

import (
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/sesame-auth/sesame/internal/pgtest"
)

// The UPDATEs on the verify path stay HOT (heap-only: no index entry for
// the new version) only while no index reads the columns they change and
// the table leaves room on its pages (migration 0017). An index added on
// one of them makes every attempt and consume write an entry in each index
// of the table again.
func TestSchema_VerifyPathUpdatesCanBeHOT(t *testing.T) {
	t.Parallel()
	db := pgtest.MustOpenDB(t)
	tests := []struct {
		table, changed string // changed: the columns the verify path updates
		fillfactor     int    // at most
	}{
		{"challenges", `attempts|consumed_at`, 80},
		{"emails", `verified|updated_at`, 90},
		{"phone_numbers", `verified|updated_at`, 90},
	}
	for _, tt := range tests {
		t.Run(tt.table, func(t *testing.T) {
			rows, err := db.Pool().Query(t.Context(), `SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index
				WHERE indrelid = $1::regclass`, tt.table)
			if err != nil {
				t.Fatal(err)
			}
			changed := regexp.MustCompile(`\b(` + tt.changed + `)\b`)
			n := 0
			for rows.Next() {
				var name, def string
				if err := rows.Scan(&name, &def); err != nil {
					t.Fatal(err)
				}
				n++
				if changed.MatchString(def) {
					t.Errorf("index %s reads a column the verify path updates: %s", name, def)
				}
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				t.Fatalf("no index on %s: the query read nothing", tt.table)
			}
			var opts []string
			if err := db.Pool().QueryRow(t.Context(), `SELECT coalesce(reloptions, '{}') FROM pg_class WHERE oid = $1::regclass`,
				tt.table).Scan(&opts); err != nil {
				t.Fatal(err)
			}
			ff := 100
			for _, o := range opts {
				if v, ok := strings.CutPrefix(o, "fillfactor="); ok {
					if ff, err = strconv.Atoi(v); err != nil {
						t.Fatal(err)
					}
				}
			}
			if ff > tt.fillfactor {
				t.Errorf("%s has fillfactor %d, want at most %d (room for the updated version on the row's page)", tt.table, ff, tt.fillfactor)
			}
		})
	}
}
