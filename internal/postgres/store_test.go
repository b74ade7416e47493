package postgres_test

import (
	"testing"

	"github.com/sesame-auth/sesame/internal/pgtest"
	"github.com/sesame-auth/sesame/internal/postgres"
)

// TestStore runs the tests whose rows are confined to their own projects in
// parallel on one database (creating a database costs about a second on a
// slow disk). Each gets its own DB handle, so its own clock. Tests that look
// at rows across projects (the outbox, Prune) get a database of their own.
func TestStore(t *testing.T) {
	dsn, err := pgtest.NewDatabase(t)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	tests := []struct {
		name string
		fn   func(*testing.T, *env)
	}{
		{"Migrate", testMigrate},
		{"Projects", testProjects},
		{"Users", testUsers},
		{"ResolveMethod", testResolveMethod},
		{"AttachMethod", testAttachMethod},
		{"Challenges", testChallenges},
		{"MagicLinks", testMagicLinks},
		{"Sessions", testSessions},
		{"BeginDelivery", testBeginDelivery},
		{"RequeueMessage", testRequeueMessage},
		{"ListMessages", testListMessages},
		{"SearchUsers", testSearchUsers},
		{"SearchUsersPagination", testSearchUsersPagination},
		{"SearchUsersMethodColumns", testSearchUsersMethodColumns},
		{"SigningKeys", testSigningKeys},
		{"ProjectIsolation", testProjectIsolation},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := newClock()
			db, err := postgres.Open(t.Context(), dsn, postgres.WithClock(c.Now), postgres.WithMaxConns(4))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(db.Close)
			tt.fn(t, &env{db: db, clock: c})
		})
	}
}
