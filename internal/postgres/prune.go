package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
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

// Prune, in one transaction, with now as the clock:
//   - deletes challenges expired more than PruneGrace ago, and every
//     challenge older than such a challenge of the same method (so that an
//     old, superseded challenge never becomes the newest again);
//   - deletes magic links expired more than PruneGrace ago;
//   - deletes sessions expired or revoked more than PruneGrace ago;
//   - deletes intermediate sessions expired or consumed more than
//     PruneGrace ago;
//   - deletes rate-limit windows that started more than RateLimitRetention ago;
//   - deletes GCRA states whose TAT has passed (the same as no state);
//   - deletes SMS traffic buckets, and ok guard rows untouched, for more
//     than SMSTrafficRetention;
//   - drops the payload of every message whose expires_at has passed (a
//     message still queued then becomes skipped, "expired");
//   - deletes messages created more than MessageRetention ago.
//
// It returns the number of rows deleted or changed.
func (db *DB) Prune(ctx context.Context, now time.Time) (int64, error) {
	grace := now.Add(-PruneGrace)
	b := &pgx.Batch{}
	b.Queue(`DELETE FROM challenges c
		WHERE c.expires_at < $1 OR EXISTS (
			SELECT 1 FROM challenges n
			WHERE n.project_id = c.project_id AND n.method_id = c.method_id AND n.expires_at < $1
				AND (n.created_at, n.id) > (c.created_at, c.id)
		)`, grace)
	b.Queue(`DELETE FROM magic_links WHERE expires_at < $1`, grace)
	b.Queue(`DELETE FROM sessions WHERE expires_at < $1 OR revoked_at < $1`, grace)
	b.Queue(`DELETE FROM intermediate_sessions WHERE expires_at < $1 OR consumed_at < $1`, grace)
	b.Queue(`DELETE FROM rate_limits WHERE window_start < $1`, now.Add(-RateLimitRetention))
	b.Queue(`DELETE FROM rate_limit_tats WHERE tat < $1`, now)
	b.Queue(`DELETE FROM sms_traffic WHERE bucket < $1`, now.Add(-SMSTrafficRetention))
	b.Queue(`DELETE FROM sms_guards WHERE state = 'ok' AND updated_at < $1`, now.Add(-SMSTrafficRetention))
	b.Queue(`UPDATE messages SET payload = NULL,
			status = CASE WHEN status = 'queued' THEN 'skipped' ELSE status END,
			last_error = CASE WHEN status = 'queued' THEN 'expired' ELSE last_error END,
			relay_lease_until = NULL
		WHERE payload IS NOT NULL AND expires_at <= $1`, now)
	b.Queue(`DELETE FROM messages WHERE created_at < $1`, now.Add(-MessageRetention))
	b.Queue(`DELETE FROM idempotency_keys WHERE created_at < $1`, now.Add(-IdempotencyRetention))
	var total int64
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		br := tx.SendBatch(ctx, b)
		for range b.Len() {
			tag, err := br.Exec()
			if err != nil {
				br.Close()
				return internal(err)
			}
			total += tag.RowsAffected()
		}
		return internal(br.Close())
	})
	if err != nil {
		return 0, err
	}
	return total, nil
}
