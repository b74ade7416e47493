package postgres_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sesame-auth/sesame/internal/auth"
	"github.com/sesame-auth/sesame/internal/pgtest"
	"github.com/sesame-auth/sesame/internal/postgres"
)

func TestRunSearchCancelsASlowStatementAsUnavailable(t *testing.T) {
	db := pgtest.MustOpenDB(t, postgres.WithMaxConns(1))
	pool := db.Pool()

	b := &pgx.Batch{}
	b.Queue("SELECT pg_sleep(5)")
	start := time.Now()
	err := db.RunSearch(t.Context(), 50*time.Millisecond, b, func(br pgx.BatchResults) error {
		_, err := br.Exec()
		return err
	})
	var ae *auth.Error
	if !errors.As(err, &ae) || ae.Code != auth.EUnavailable || !strings.Contains(ae.Message, "narrow the filters") {
		t.Fatalf("runSearch = %v, want EUnavailable asking to narrow the filters", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("runSearch took %s; the statement timeout did not cancel it", d)
	}
	// The timeout was LOCAL: the connection's own setting is untouched.
	var setting string
	if err := pool.QueryRow(context.Background(), "SHOW statement_timeout").Scan(&setting); err != nil {
		t.Fatal(err)
	}
	if setting != "0" {
		t.Fatalf("statement_timeout after the search = %q, want 0", setting)
	}
}
