package pgtest_test

import (
	"testing"

	"github.com/sesame-auth/sesame/internal/pgtest"
)

func TestMustOpenDB(t *testing.T) {
	var name string
	t.Run("GivesMigratedFreshDatabase", func(t *testing.T) {
		db := pgtest.MustOpenDB(t)
		ctx := t.Context()
		var n int
		if err := db.Pool().QueryRow(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil || n == 0 {
			t.Fatalf("not migrated: %d, %v", n, err)
		}
		if err := db.Pool().QueryRow(ctx, `SELECT current_database(), (SELECT count(*) FROM users)`).Scan(&name, &n); err != nil || n != 0 {
			t.Fatalf("not fresh: %d, %v", n, err)
		}
		other := pgtest.MustOpenDB(t)
		var otherName string
		other.Pool().QueryRow(ctx, `SELECT current_database()`).Scan(&otherName)
		if otherName == name {
			t.Fatal("two calls share a database")
		}
	})
	t.Run("DropsDatabaseAfterTest", func(t *testing.T) {
		db := pgtest.MustOpenDB(t)
		var exists bool
		if err := db.Pool().QueryRow(t.Context(), `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
			t.Fatal(err)
		}
		if exists {
			t.Fatalf("database %s still exists", name)
		}
	})
}
