package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// RunSearch exposes runSearch to the external tests.
func (db *DB) RunSearch(ctx context.Context, timeout time.Duration, b *pgx.Batch, read func(pgx.BatchResults) error) error {
	return db.runSearch(ctx, timeout, b, read)
}
