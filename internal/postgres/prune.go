package postgres

import (
	"context"
	"strconv"
	"time"
)

// Retention used by Prune.
const (
	// PruneGrace is how long expired (or consumed, or revoked) challenges,
	// magic links and sessions are kept, so that late requests get
	// "expired" or "used" rather than "not found".
	PruneGrace = time.Hour
	// RateLimitRetention is how long a rate-limit window is kept after it starts.
	RateLimitRetention = 24 * time.Hour
	// MessageRetention is how long the delivery record of a message is kept.
	MessageRetention = 30 * 24 * time.Hour
	// SMSTrafficRetention is how long SMS traffic buckets, and guard rows
	// that are ok and untouched, are kept (the longest pumping window).
	SMSTrafficRetention = 24 * time.Hour
)

// Pruning runs in small batches so that it never holds many row locks, a
// long transaction or a burst of WAL next to sends and verifies.
const (
	// PruneBatchSize is how many rows one prune statement deletes or
	// changes at most.
	PruneBatchSize = 500
	// PrunePause is the pause after a full batch, before the next one.
	PrunePause = 20 * time.Millisecond
)

// pruneStep is one kind of row Prune removes or changes: set is the SQL
// applied to the rows picked (by ctid) by the condition where, in the
// order order; arg is the cutoff bound to $1.
type pruneStep struct {
	table, where, order string
	set                 string // "" deletes
	arg                 time.Time
	stmt                string // the whole statement instead, if set
}

func (s pruneStep) sql() string {
	if s.stmt != "" {
		return s.stmt
	}
	pick := `ctid = ANY(ARRAY(SELECT c.ctid FROM ` + s.table + ` c WHERE ` + s.where + s.order +
		` LIMIT ` + strconv.Itoa(PruneBatchSize) + `))`
	if s.set == "" {
		return `DELETE FROM ` + s.table + ` WHERE ` + pick
	}
	// Rows changed since they were picked have a new ctid and are left to
	// the next run.
	return `UPDATE ` + s.table + ` c SET ` + s.set + ` WHERE ` + pick + ` AND ` + s.where
}

// Prune, with now as the clock, in batches of PruneBatchSize rows (each
// its own statement and transaction, PrunePause apart):
//   - deletes challenges expired more than PruneGrace ago, and every
//     challenge older than such a challenge of the same method (so that an
//     old, superseded challenge never becomes the newest again: batches go
//     oldest first, so an older challenge is deleted no later than the
//     newer one that condemns it);
//   - deletes magic links expired more than PruneGrace ago;
//   - deletes sessions expired or revoked more than PruneGrace ago;
//   - deletes intermediate sessions expired or consumed more than
//     PruneGrace ago;
//   - deletes rate-limit windows that started more than RateLimitRetention ago;
//   - deletes GCRA states whose TAT has passed (the same as no state);
//   - deletes SMS traffic buckets, and ok guard rows untouched, for more
//     than SMSTrafficRetention;
//   - drops the outbox row (migration 0018) of every message whose
//     expires_at has passed, and such a message still queued becomes
//     skipped, "expired";
//   - drops the payload of every message whose expires_at has passed
//     (message_payloads, and messages.payload written by a previous
//     version);
//   - deletes messages created more than MessageRetention ago (a trigger
//     deletes the message_provider_ids row of each that was sent,
//     migration 0021).
//
// It returns the number of rows deleted or changed. A cancelled ctx stops
// it between batches.
func (db *DB) Prune(ctx context.Context, now time.Time) (int64, error) {
	grace := now.Add(-PruneGrace)
	steps := []pruneStep{
		{table: "challenges", where: `c.expires_at < $1 OR EXISTS (
			SELECT 1 FROM challenges n
			WHERE n.project_id = c.project_id AND n.method_id = c.method_id AND n.expires_at < $1
				AND (n.created_at, n.id) > (c.created_at, c.id)
		)`, order: ` ORDER BY c.created_at, c.id`, arg: grace},
		{table: "magic_links", where: `c.expires_at < $1`, arg: grace},
		{table: "sessions", where: `c.expires_at < $1 OR c.revoked_at < $1`, arg: grace},
		{table: "intermediate_sessions", where: `c.expires_at < $1 OR c.consumed_at < $1`, arg: grace},
		{table: "rate_limits", where: `c.window_start < $1`, arg: now.Add(-RateLimitRetention)},
		{table: "rate_limit_tats", where: `c.tat < $1`, arg: now},
		{table: "sms_traffic", where: `c.bucket < $1`, arg: now.Add(-SMSTrafficRetention)},
		{table: "sms_guards", where: `c.state = 'ok' AND c.updated_at < $1`, arg: now.Add(-SMSTrafficRetention)},
		// A statement that locks a message row and then its outbox row
		// (RequeueMessage) never takes an expired message's.
		{stmt: `WITH o AS (
			SELECT c.message_id FROM message_outbox c WHERE c.expires_at <= $1
			ORDER BY c.expires_at, c.message_id LIMIT ` + strconv.Itoa(PruneBatchSize) + `
		), u AS (
			UPDATE messages SET status = 'skipped', last_error = 'expired'
			WHERE id IN (SELECT message_id FROM o) AND status = 'queued'
		)
		DELETE FROM message_outbox WHERE message_id IN (SELECT message_id FROM o)`, arg: now},
		{table: "message_payloads", where: `c.expires_at <= $1`, arg: now},
		{table: "messages", where: `c.payload IS NOT NULL AND c.expires_at <= $1`, arg: now, set: `payload = NULL,
			status = CASE WHEN c.status = 'queued' THEN 'skipped' ELSE c.status END,
			last_error = CASE WHEN c.status = 'queued' THEN 'expired' ELSE c.last_error END,
			relay_lease_until = NULL`},
		{table: "messages", where: `c.created_at < $1`, arg: now.Add(-MessageRetention)},
		{table: "idempotency_keys", where: `c.created_at < $1`, arg: now.Add(-IdempotencyRetention)},
	}
	var total int64
	for _, s := range steps {
		q := s.sql()
		for {
			tag, err := db.pool.Exec(ctx, q, s.arg)
			if err != nil {
				return total, internal(err)
			}
			total += tag.RowsAffected()
			if tag.RowsAffected() < PruneBatchSize {
				break
			}
			select {
			case <-ctx.Done():
				return total, ctx.Err()
			case <-time.After(PrunePause):
			}
		}
	}
	return total, nil
}
