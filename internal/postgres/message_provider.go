package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// maxProvidersTried bounds messages.providers_tried (deliveries are bounded
// too, by the consumer's MaxDeliver; this is a second fence).
const maxProvidersTried = 32

// RecordProviderAttempt records that messageID was handed to the provider
// named provider (smsroute.Recorder): the name is appended to
// providers_tried (at most 32 kept) and, when accepted, becomes the
// message's provider. It leaves status and updated_at alone, so it never
// races the delivery state machine. A missing message is not an error.
func (db *DB) RecordProviderAttempt(ctx context.Context, messageID, provider string, accepted bool) error {
	// The record is an audit trail, not a delivery guarantee: it commits
	// without waiting for the WAL flush (synchronous_commit off for this
	// transaction only; a crash may lose the last few records, never
	// corrupt them), which saves the worker a disk sync per attempt. One
	// simple-protocol query is one implicit transaction, so SET LOCAL
	// applies to the UPDATE.
	_, err := db.pool.Exec(ctx, `SET LOCAL synchronous_commit = off;
		UPDATE messages SET
			providers_tried = CASE WHEN cardinality(providers_tried) < $4 THEN array_append(providers_tried, $2) ELSE providers_tried END,
			provider = CASE WHEN $3 THEN $2 ELSE provider END
		WHERE id = $1`, pgx.QueryExecModeSimpleProtocol, messageID, provider, accepted, maxProvidersTried)
	return internal(err)
}
