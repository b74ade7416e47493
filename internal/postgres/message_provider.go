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
// Concurrent calls share statements (group commit, groupcommit.go).
func (db *DB) RecordProviderAttempt(ctx context.Context, messageID, provider string, accepted bool) error {
	_, err := db.attempts.do(ctx, attemptReq{id: messageID, provider: provider, accepted: accepted})
	return err
}

type attemptReq struct {
	id, provider string
	accepted     bool
}

// recordProviderAttempts is RecordProviderAttempt for a batch of distinct
// messages in one statement, locking the rows in id order like the other
// delivery batches.
func (db *DB) recordProviderAttempts(ctx context.Context, qs []attemptReq) ([]struct{}, error) {
	ids, names, accepted := make([]string, len(qs)), make([]string, len(qs)), make([]bool, len(qs))
	for i, q := range qs {
		ids[i], names[i], accepted[i] = q.id, q.provider, q.accepted
	}
	// The record is an audit trail, not a delivery guarantee: it commits
	// without waiting for the WAL flush (synchronous_commit off for this
	// transaction only; a crash may lose the last few records, never
	// corrupt them), which saves the worker a disk sync per attempt. One
	// simple-protocol query is one implicit transaction, so SET LOCAL
	// applies to the UPDATE.
	_, err := db.pool.Exec(ctx, `SET LOCAL synchronous_commit = off;
		WITH r AS (
			SELECT * FROM unnest($1::text[], $2::text[], $3::bool[]) AS r(id, provider, accepted)
		), l AS (
			SELECT msg.id FROM messages msg JOIN r ON r.id = msg.id ORDER BY msg.id FOR UPDATE OF msg
		)
		UPDATE messages SET
			providers_tried = CASE WHEN cardinality(messages.providers_tried) < $4
				THEN array_append(messages.providers_tried, r.provider) ELSE messages.providers_tried END,
			provider = CASE WHEN r.accepted THEN r.provider ELSE messages.provider END
		FROM l JOIN r ON r.id = l.id
		WHERE messages.id = l.id`, pgx.QueryExecModeSimpleProtocol, ids, names, accepted, maxProvidersTried)
	if err != nil {
		return nil, internal(err)
	}
	return make([]struct{}, len(qs)), nil
}
