package postgres_test

import (
	"context"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/internal/auth"
	"github.com/sesame-auth/sesame/internal/pgtest"
	"github.com/sesame-auth/sesame/internal/postgres"
)

// clock is a settable test clock.
type clock struct{ t time.Time }

func (c *clock) Now() time.Time                { return c.t }
func (c *clock) Advance(d time.Duration)       { c.t = c.t.Add(d) }
func newClock() *clock                         { return &clock{t: time.Now().Truncate(time.Microsecond)} }
func hash(s string) []byte                     { h := sha256.Sum256([]byte(s)); return h[:] }
func ptr[T any](v T) *T                        { return &v }
func ctxT(t testing.TB) context.Context        { return t.Context() }
func id(prefix string, p *auth.Project) string { return auth.NewID(prefix, p) }

// env is a test database with a settable clock.
type env struct {
	db    *postgres.DB
	clock *clock
}

func newEnv(t testing.TB) *env {
	t.Helper()
	c := newClock()
	db := pgtest.MustOpenDB(t, postgres.WithClock(c.Now))
	return &env{db: db, clock: c}
}

// project creates a test project.
func (e *env) project(t testing.TB) *auth.Project {
	t.Helper()
	p := &auth.Project{ID: "project-test-" + auth.NewUUID()}
	if err := e.db.EnsureProject(ctxT(t), p.ID, hash(p.ID)); err != nil {
		t.Fatalf("EnsureProject: %v", err)
	}
	return p
}

// user creates a user with one email and/or phone ("" for none).
func (e *env) user(t testing.TB, p *auth.Project, email, phone string) *auth.User {
	t.Helper()
	u := &auth.User{ID: id(auth.PrefixUser, p), ProjectID: p.ID, Status: auth.UserPending}
	if email != "" {
		u.Emails = []auth.Email{{ID: id(auth.PrefixEmail, p), Address: email}}
	}
	if phone != "" {
		u.Phones = []auth.Phone{{ID: id(auth.PrefixPhone, p), Number: phone}}
	}
	if err := e.db.CreateUser(ctxT(t), u); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	return u
}

// challenge issues a challenge (with its message) for a method of u that
// expires after ttl.
func (e *env) challenge(t testing.TB, p *auth.Project, u *auth.User, methodID string, ch auth.Channel, ttl time.Duration) (*auth.Challenge, *auth.Message) {
	t.Helper()
	c := &auth.Challenge{
		ID: id(auth.PrefixChallenge, p), ProjectID: p.ID, UserID: u.ID, MethodID: methodID,
		Channel: ch, CodeHMAC: hash("code"), ExpiresAt: e.clock.Now().Add(ttl),
	}
	m := &auth.Message{ID: id(auth.PrefixMessage, p), Recipient: "to:" + methodID}
	if err := e.db.CreateChallenge(ctxT(t), c, m, []byte("ciphertext")); err != nil {
		t.Fatalf("CreateChallenge: %v", err)
	}
	return c, m
}

// wantCode fails unless err has the code ("" means no error).
func wantCode(t testing.TB, err error, code auth.Code) {
	t.Helper()
	if got := auth.ErrorCode(err); got != code {
		t.Fatalf("error code = %q, want %q (err: %v)", got, code, err)
	}
}

// pageIDs follows a search's cursors from cursor to its last page and
// returns the ids of every page, in order. search returns one page's ids,
// its total and its next cursor; every page's total must be total, and
// more than maxPages pages fail the test.
func pageIDs(t *testing.T, maxPages, total int, cursor string, search func(cursor string) ([]string, int, string, error)) []string {
	t.Helper()
	var got []string
	for pages := 0; ; pages++ {
		if pages == maxPages {
			t.Fatalf("more than %d pages", maxPages)
		}
		ids, n, next, err := search(cursor)
		wantCode(t, err, "")
		if n != total {
			t.Fatalf("total %d, want %d", n, total)
		}
		got = append(got, ids...)
		if cursor = next; cursor == "" {
			return got
		}
	}
}
