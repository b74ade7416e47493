// Package pgtest gives each test its own migrated Postgres database.
//
// The first call in a test process migrates a template database named
// after postgres.MigrationsHash (once per schema version, across processes,
// under an advisory lock); every call then clones it with CREATE DATABASE
// ... TEMPLATE, which takes a few milliseconds, and drops the clone when the
// test ends.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sesame-auth/sesame/internal/postgres"
)

// DefaultURL is used when TEST_DATABASE_URL is unset.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// templateLockID guards template creation across test processes.
const templateLockID int64 = 0x5345_5341_4d45_0002

// Test databases are named testPrefix + "<unix seconds>_<random>". Those
// older than staleAfter were left by killed test processes and are dropped
// by the next process that sets up.
const (
	testPrefix = "sesame_test_"
	staleAfter = time.Hour
)

var (
	once     sync.Once
	admin    *pgxpool.Pool
	template string
	setupErr error
)

// URL returns TEST_DATABASE_URL, or DefaultURL.
func URL() string {
	if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
		return u
	}
	return DefaultURL
}

// MustOpenDB returns a DB on a fresh database cloned from the migrated
// template. The database is dropped when the test ends. If Postgres cannot
// be reached the test fails (it is not skipped) with how to start it.
func MustOpenDB(tb testing.TB, opts ...postgres.Option) *postgres.DB {
	tb.Helper()
	dsn, err := NewDatabase(tb)
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := postgres.Open(ctx, dsn, opts...)
	if err != nil {
		tb.Fatalf("pgtest: open test database: %v", err)
	}
	tb.Cleanup(db.Close) // runs before the DROP registered by NewDatabase
	return db
}

// NewDatabase creates a fresh migrated database for tb, drops it when tb
// ends, and returns its DSN.
func NewDatabase(tb testing.TB) (string, error) {
	tb.Helper()
	once.Do(setup)
	if setupErr != nil {
		return "", setupErr
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	name := fmt.Sprintf("%s%d_%s", testPrefix, time.Now().Unix(), randomHex(6))
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()+" TEMPLATE "+pgx.Identifier{template}.Sanitize()); err != nil {
		return "", fmt.Errorf("create test database: %w", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			tb.Logf("pgtest: drop %s: %v", name, err)
		}
	})
	return withDatabase(URL(), name)
}

func setup() {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	base := URL()
	cfg, err := pgxpool.ParseConfig(base)
	if err != nil {
		setupErr = fmt.Errorf("TEST_DATABASE_URL is not a valid Postgres URL (%s)", redact(base))
		return
	}
	cfg.MaxConns = 4
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err == nil {
		err = pool.Ping(ctx)
	}
	if err != nil {
		setupErr = fmt.Errorf("cannot reach Postgres at %s: %v\n"+
			"Start the local cluster with `pg_ctlcluster --skip-systemctl-redirect 15 main start` "+
			"(or `docker run -d -p 5432:5432 -e POSTGRES_HOST_AUTH_METHOD=trust postgres:15`), "+
			"or point TEST_DATABASE_URL at a server where the user may CREATE DATABASE", redact(base), err)
		return
	}
	admin = pool
	template = "sesame_tmpl_" + postgres.MigrationsHash()
	setupErr = ensureTemplate(ctx, base)
}

// ensureTemplate creates and migrates the template database unless a
// complete one (marked IS_TEMPLATE) already exists.
func ensureTemplate(ctx context.Context, base string) error {
	conn, err := admin.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, templateLockID); err != nil {
		return err
	}
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, templateLockID) //nolint:errcheck
	var exists, complete bool
	err = conn.QueryRow(ctx, `SELECT true, datistemplate FROM pg_database WHERE datname = $1`, template).Scan(&exists, &complete)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return err
	}
	dropStale(ctx, conn)
	if complete {
		return nil
	}
	ident := pgx.Identifier{template}.Sanitize()
	if exists { // left half-made by a crashed run
		if _, err := conn.Exec(ctx, "DROP DATABASE "+ident+" WITH (FORCE)"); err != nil {
			return err
		}
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+ident); err != nil {
		return fmt.Errorf("create template database: %w", err)
	}
	dsn, err := withDatabase(base, template)
	if err != nil {
		return err
	}
	db, err := postgres.Open(ctx, dsn)
	if err != nil {
		return err
	}
	err = db.Migrate(ctx)
	db.Close()
	if err != nil {
		return fmt.Errorf("migrate template database: %w", err)
	}
	if _, err := conn.Exec(ctx, "ALTER DATABASE "+ident+" WITH IS_TEMPLATE true"); err != nil {
		return err
	}
	return nil
}

// dropStale drops, best effort, test databases older than staleAfter that
// nobody is connected to.
func dropStale(ctx context.Context, conn *pgxpool.Conn) {
	rows, err := conn.Query(ctx, `SELECT datname FROM pg_database WHERE datname LIKE 'sesame\_test\_%'`)
	if err != nil {
		return
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return
	}
	for _, name := range names {
		ts, _, ok := strings.Cut(strings.TrimPrefix(name, testPrefix), "_")
		sec, err := strconv.ParseInt(ts, 10, 64)
		if !ok || err != nil || time.Since(time.Unix(sec, 0)) < staleAfter {
			continue
		}
		_, _ = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize())
	}
}

// withDatabase returns dsn with its database name replaced.
func withDatabase(dsn, name string) (string, error) {
	if strings.Contains(dsn, "://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", fmt.Errorf("TEST_DATABASE_URL is not a valid URL")
		}
		u.Path = "/" + name
		return u.String(), nil
	}
	return dsn + " dbname=" + name, nil
}

func redact(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && strings.Contains(dsn, "://") {
		return u.Redacted()
	}
	return "(keyword/value DSN)"
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
