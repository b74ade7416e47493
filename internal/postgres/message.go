package postgres

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sesame-auth/sesame/internal/auth"
)

// Message lifecycle in this store:
//
//   - CreateChallenge / CreateMagicLink / Send insert it queued, publish_gen
//     0, with a row in message_outbox (migration 0018) that holds the
//     encrypted event (migration 0020): two rows per message.
//   - MarkPublished deletes the outbox row, and with it the payload: the
//     message is published (a queued message without an outbox row reads
//     as published; its row is not written, so that the mark is no update
//     of the messages row). From then on the event on the stream, which
//     carries the same ciphertext (auth.Event.Sealed), is the only copy.
//     ClaimOutbox leases outbox rows to the relay (their lease_until).
//   - BeginDelivery: → sending (lease_until, attempts+1), or → skipped when
//     the code or link died.
//   - FinishDelivery: → sent, failed or retrying. sent, skipped and
//     retrying write no payload; failed stores the event's sealed payload
//     in message_payloads (FinishDeliveryAttempt) so that RequeueMessage
//     can put the message back in the outbox (queued, publish_gen+1, the
//     payload moved into the new outbox row). Prune drops every payload
//     once the message has expired.
//   - A message queued before 0020 (or by a replica of the previous
//     version) has its payload in message_payloads and an outbox row
//     without one: the relay reads it there, sent and skipped drop it,
//     failed keeps it, as before.
//
// No index of messages reads a column these updates change (status,
// attempts, lease_until, updated_at, last_error, sent_at, providers_tried,
// provider, provider_id; payload and relay_lease_until stay NULL), so
// Postgres can make them HOT updates, which write no index entry. The
// provider id a sent finish sets is found by delivery reports through
// message_provider_ids (migration 0021): one row per sent message, which
// the finish inserts in its statement and a trigger deletes with the
// message (Prune, a deleted user, member or project). The finish stays HOT
// (BenchmarkMessageLifecycle: 14 → 10 index inserts per message, see
// docs/benchmarks.md).
//   - RecordProviderStatus: sent → delivered (delivered_at) or undelivered
//     (reason in last_error), once, from a provider's delivery report.
//
// Dead reasons recorded in last_error: "consumed", "expired", "superseded"
// (a newer code was issued for the method) and "revoked" (the challenge or
// link row is gone: invite revoked, email or phone deleted, pruned).

// deadReason is an SQL expression over the messages row aliased msg, with
// $1 = now: why the message's code or link can no longer be used, ” if it
// is live. Challenges are looked up by challenge_id for kind otp, magic
// links for kind magiclink.
const deadReason = `COALESCE(CASE WHEN msg.kind = 'otp' THEN (
		SELECT CASE
			WHEN c.consumed_at IS NOT NULL THEN 'consumed'
			WHEN c.expires_at <= $1 THEN 'expired'
			WHEN EXISTS (
				SELECT 1 FROM challenges n
				WHERE n.project_id = c.project_id AND n.method_id = c.method_id
					AND (n.created_at, n.id) > (c.created_at, c.id)
			) THEN 'superseded'
			ELSE '' END
		FROM challenges c WHERE c.id = msg.challenge_id AND c.project_id = msg.project_id
	) ELSE (
		SELECT CASE
			WHEN l.consumed_at IS NOT NULL THEN 'consumed'
			WHEN l.expires_at <= $1 THEN 'expired'
			ELSE '' END
		FROM magic_links l WHERE l.id = msg.challenge_id AND l.project_id = msg.project_id
	) END, 'revoked')`

// MarkPublished records that the events are on the stream: it deletes
// their outbox rows, in one statement (the service batches the marks of
// concurrent sends, up to 1,000 ids); a queued message then reads as
// published. The messages rows are not written (their updated_at stays
// the creation or requeue time). A message in any other state (or gone)
// is left alone.
//
// The outbox is nearly empty whenever statistics are taken (its rows
// leave within milliseconds). For such a table the planner, with generic
// and custom plans alike, answered this statement by walking the relay's
// expiry index, then on (expires_at, message_id), once per id: 50 ms to
// 1.7 s of Postgres CPU per mark of up to 1,000 ids under make bench
// (auto_explain). Since migration 0022 only the primary key has
// message_id as a key column, and both kinds of plan read it
// (TestOutboxIdLookupsHaveOnlyThePrimaryKey,
// TestMarkPublishedReadsNoExpiryIndex).
func (db *DB) MarkPublished(ctx context.Context, messageIDs ...string) error {
	if len(messageIDs) == 0 {
		return nil
	}
	_, err := db.pool.Exec(ctx, `DELETE FROM message_outbox WHERE message_id = ANY($1)`, messageIDs)
	return internal(err)
}

// ClaimOutbox leases up to limit queued, unexpired messages queued
// (created or requeued) more than minAge ago, for lease, and returns their
// payloads, the soonest to expire first (with equal lifetimes, the oldest
// first). Outbox rows are picked with FOR UPDATE SKIP LOCKED and a leased
// row is not picked again until its lease ends, so concurrent relays never
// get the same message while the lease lasts. Only messages with a
// payload are picked: the outbox row's (migration 0020), else, for a row
// written before 0020 or by a replica of the previous version, the
// message_payloads row; picked rows whose message is no longer queued (it
// was published and its mark was lost, and is being delivered) or is gone
// are deleted instead.
// MsgID is the challenge id for publish generation 0, else
// "<challenge id>.replay.<generation>".
func (db *DB) ClaimOutbox(ctx context.Context, minAge, lease time.Duration, limit int) ([]auth.OutboxItem, error) {
	if limit <= 0 {
		return []auth.OutboxItem{}, nil
	}
	now := db.clock()
	rows, err := db.pool.Query(ctx, `
		WITH c AS (
			SELECT o.message_id, o.expires_at, o.payload FROM message_outbox o
			WHERE o.expires_at > $1 AND o.queued_at <= $2 AND (o.lease_until IS NULL OR o.lease_until <= $1)
				AND (o.payload IS NOT NULL OR EXISTS (SELECT 1 FROM message_payloads p WHERE p.message_id = o.message_id))
			ORDER BY o.expires_at, o.message_id
			LIMIT $4
			FOR UPDATE SKIP LOCKED
		), j AS (
			SELECT c.message_id, c.expires_at, m.challenge_id, m.publish_gen, COALESCE(c.payload, p.payload) AS payload,
				m.status = 'queued' AND COALESCE(c.payload, p.payload) IS NOT NULL AS live
			FROM c
			LEFT JOIN messages m ON m.id = c.message_id
			LEFT JOIN message_payloads p ON c.payload IS NULL AND p.message_id = c.message_id
		), gone AS (
			DELETE FROM message_outbox o USING j WHERE o.message_id = j.message_id AND j.live IS NOT TRUE
		), leased AS (
			UPDATE message_outbox o SET lease_until = $3 FROM j WHERE o.message_id = j.message_id AND j.live
		)
		SELECT message_id, payload, challenge_id, publish_gen FROM j WHERE live
		ORDER BY expires_at, message_id`,
		now, now.Add(-minAge), now.Add(lease), limit)
	if err != nil {
		return nil, internal(err)
	}
	defer rows.Close()
	items := []auth.OutboxItem{}
	for rows.Next() {
		var it auth.OutboxItem
		var challengeID string
		var gen int
		if err := rows.Scan(&it.MessageID, &it.Payload, &challengeID, &gen); err != nil {
			return nil, internal(err)
		}
		it.MsgID = outboxMsgID(challengeID, gen)
		items = append(items, it)
	}
	if err := rows.Err(); err != nil {
		return nil, internal(err)
	}
	return items, nil
}

func outboxMsgID(challengeID string, gen int) string {
	if gen == 0 {
		return challengeID
	}
	return challengeID + ".replay." + strconv.Itoa(gen)
}

// CountOutbox returns how many messages are queued (not yet published).
func (db *DB) CountOutbox(ctx context.Context) (int, error) {
	var n int
	if err := db.pool.QueryRow(ctx, `SELECT count(*) FROM message_outbox o
		JOIN messages m ON m.id = o.message_id WHERE m.status = 'queued'`).Scan(&n); err != nil {
		return 0, internal(err)
	}
	return n, nil
}

// BeginDelivery decides, in one statement that locks the message row,
// whether the worker may send messageID:
//
//   - DeliveryUnknown: no such message (its project or user was deleted).
//   - DeliveryDone: status sent, delivered, undelivered, failed or skipped.
//   - DeliveryBusy: status sending and another worker's lease is live.
//   - DeliveryDead: the code or link was consumed, expired, superseded
//     (otp: a newer challenge exists for the method) or is gone, or the
//     message itself expired; the message is recorded as skipped with the
//     reason in last_error and its payload dropped.
//   - DeliverySend: otherwise; the message becomes sending, attempts+1,
//     leased until now+lease.
//
// Concurrent calls share statements (group commit, groupcommit.go).
func (db *DB) BeginDelivery(ctx context.Context, messageID string, lease time.Duration) (auth.DeliveryDecision, error) {
	d, _, err := db.BeginDeliveryLease(ctx, messageID, lease)
	return d, err
}

// BeginDeliveryLease is BeginDelivery that also returns, for
// DeliveryBusy, when the other worker's lease ends (auth.DeliveryLeaser).
func (db *DB) BeginDeliveryLease(ctx context.Context, messageID string, lease time.Duration) (auth.DeliveryDecision, time.Time, error) {
	r, err := db.begins.do(ctx, beginReq{id: messageID, lease: lease})
	return r.decision, r.leaseUntil, err
}

type beginReq struct {
	id    string
	lease time.Duration
}

type beginRes struct {
	decision   auth.DeliveryDecision
	leaseUntil time.Time
}

// beginDeliveries is BeginDelivery for a batch of distinct messages in one
// statement. It locks the rows in id order, as finishDeliveries does, so
// that concurrent batches never deadlock.
func (db *DB) beginDeliveries(ctx context.Context, qs []beginReq) ([]beginRes, error) {
	now := db.clock()
	ids := make([]string, len(qs))
	leases := make([]time.Time, len(qs))
	for i, q := range qs {
		ids[i], leases[i] = q.id, now.Add(q.lease)
	}
	rows, err := db.pool.Query(ctx, `
		WITH r AS (
			SELECT * FROM unnest($2::text[], $3::timestamptz[]) AS r(id, new_lease)
		), m AS (
			SELECT msg.id, msg.status, msg.lease_until, r.new_lease, msg.expires_at <= $1 AS msg_expired,
				CASE WHEN msg.status IN ('sent', 'delivered', 'undelivered', 'failed', 'skipped') THEN '' ELSE `+deadReason+` END AS reason
			FROM messages msg JOIN r ON r.id = msg.id
			ORDER BY msg.id
			FOR UPDATE OF msg
		), d AS (
			SELECT id, lease_until, new_lease,
				CASE
					WHEN status IN ('sent', 'delivered', 'undelivered', 'failed', 'skipped') THEN 'done'
					WHEN status = 'sending' AND lease_until > $1 THEN 'busy'
					WHEN reason <> '' OR msg_expired THEN 'dead'
					ELSE 'send'
				END AS decision,
				CASE WHEN reason <> '' THEN reason ELSE 'expired' END AS reason
			FROM m
		), u AS (
			UPDATE messages SET
				status = CASE WHEN d.decision = 'dead' THEN 'skipped' ELSE 'sending' END,
				last_error = CASE WHEN d.decision = 'dead' THEN d.reason ELSE messages.last_error END,
				payload = CASE WHEN d.decision = 'dead' THEN NULL ELSE messages.payload END,
				attempts = messages.attempts + CASE WHEN d.decision = 'send' THEN 1 ELSE 0 END,
				lease_until = CASE WHEN d.decision = 'send' THEN d.new_lease END,
				updated_at = $1
			FROM d WHERE messages.id = d.id AND d.decision IN ('dead', 'send')
		), dp AS (
			DELETE FROM message_payloads p USING d WHERE p.message_id = d.id AND d.decision = 'dead'
		)
		SELECT id, decision, CASE WHEN decision = 'send' THEN new_lease ELSE lease_until END FROM d`, now, ids, leases)
	if err != nil {
		return nil, internal(err)
	}
	byID := make(map[string]beginRes, len(qs))
	for rows.Next() {
		var (
			id, decision string
			until        *time.Time
			r            beginRes
		)
		if err := rows.Scan(&id, &decision, &until); err != nil {
			rows.Close()
			return nil, internal(err)
		}
		switch decision {
		case "done":
			r.decision = auth.DeliveryDone
		case "busy":
			r.decision = auth.DeliveryBusy
		case "dead":
			r.decision = auth.DeliveryDead
		default:
			r.decision = auth.DeliverySend
		}
		if until != nil {
			r.leaseUntil = *until
		}
		byID[id] = r
	}
	if err := rows.Err(); err != nil {
		return nil, internal(err)
	}
	out := make([]beginRes, len(qs))
	for i, q := range qs {
		r, ok := byID[q.id]
		if !ok {
			r.decision = auth.DeliveryUnknown
		}
		out[i] = r
	}
	return out, nil
}

// FinishDelivery records the outcome of an attempt: status sent (with
// providerID; sets sent_at), failed or retrying (with reason), or skipped.
// It releases the worker's lease. sent and skipped drop a stored payload
// (only messages queued before migration 0020, or by a replica of the
// previous version, still have one); failed keeps it until Prune so that
// RequeueMessage can replay the message (FinishDeliveryAttempt stores
// the event's sealed payload of a failed message that has none). A
// message already sent (or delivered or undelivered) is never changed, and a missing message (deleted
// with its user) is not an error. EInvalid for any other status.
// Concurrent calls share statements (group commit, groupcommit.go); it
// returns once the outcome is committed.
func (db *DB) FinishDelivery(ctx context.Context, messageID string, status auth.MessageStatus, providerID, reason string) error {
	return db.FinishDeliveryAttempt(ctx, messageID, status, providerID, reason, auth.ProviderAttempt{}, nil)
}

// FinishDeliveryAttempt is FinishDelivery that also records, in the same
// statement, which provider the attempt was handed to (as
// RecordProviderAttempt does; attempt.Provider "" records none), and, when
// status is failed and sealed is not nil, stores sealed (the event's
// Event.Sealed, the payload the outbox row held until it was published)
// as the message's payload for RequeueMessage, unless it has one:
// auth.AttemptFinisher. sealed is ciphertext bound to the message id
// (associated data), so a payload stored under the wrong message never
// opens. Nothing is recorded on a message already sent, delivered or
// undelivered, which FinishDelivery leaves alone.
func (db *DB) FinishDeliveryAttempt(ctx context.Context, messageID string, status auth.MessageStatus, providerID, reason string, attempt auth.ProviderAttempt, sealed []byte) error {
	switch status {
	case auth.MessageSent, auth.MessageFailed, auth.MessageRetrying, auth.MessageSkipped:
	default:
		return auth.Invalid("status", "FinishDelivery cannot record status %q.", string(status))
	}
	if status != auth.MessageFailed {
		sealed = nil
	}
	_, err := db.finishes.do(ctx, finishReq{id: messageID, status: string(status), providerID: providerID, reason: reason,
		tried: attempt.Provider, accepted: attempt.Accepted, sealed: sealed})
	return err
}

type finishReq struct {
	id, status, providerID, reason string
	tried                          string // provider of the attempt, "" for none
	accepted                       bool
	sealed                         []byte // payload to keep (failed only), nil for none
}

// finishDeliveries is FinishDelivery for a batch of distinct messages in
// one statement, locking the rows in id order.
func (db *DB) finishDeliveries(ctx context.Context, qs []finishReq) ([]struct{}, error) {
	cols := make([][]string, 5)
	accepted := make([]bool, len(qs))
	var sealed [][]byte // nil unless a failed message brings its payload
	for i, q := range qs {
		cols[0], cols[1] = append(cols[0], q.id), append(cols[1], q.status)
		cols[2], cols[3] = append(cols[2], q.providerID), append(cols[3], q.reason)
		cols[4], accepted[i] = append(cols[4], q.tried), q.accepted
		if q.sealed != nil {
			if sealed == nil {
				sealed = make([][]byte, len(qs))
			}
			sealed[i] = q.sealed
		}
	}
	// A sent message's provider id goes into message_provider_ids
	// (migration 0021), where delivery reports look it up: messages has no
	// index on provider_id, so that this update stays HOT. Should two
	// messages of the batch share one id on one channel (providers' ids are
	// unique), DISTINCT ON keeps ON CONFLICT from meeting a row twice.
	// A failed message's payload comes from its event (migration 0020).
	// The DELETE of sent and skipped payloads finds nothing for a message
	// queued since 0020 (its payload left with its outbox row); it stays
	// for the payloads written before, and by replicas of the previous
	// version.
	keep := ``
	args := []any{cols[0], cols[1], cols[2], cols[3], db.clock(), cols[4], accepted, maxProvidersTried}
	if sealed != nil {
		args = append(args, sealed)
		keep = `, kp AS (
			INSERT INTO message_payloads (message_id, payload, expires_at)
			SELECT l.id, s.sealed, l.expires_at
			FROM l JOIN unnest($1::text[], $2::text[], $9::bytea[]) AS s(id, status, sealed) ON s.id = l.id
			WHERE s.status = 'failed' AND s.sealed IS NOT NULL
			ON CONFLICT (message_id) DO NOTHING
		)`
	}
	_, err := db.pool.Exec(ctx, `
		WITH r AS (
			SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $6::text[], $7::bool[])
				AS r(id, status, provider_id, reason, tried, accepted)
		), l AS (
			SELECT msg.id, msg.channel, msg.expires_at FROM messages msg JOIN r ON r.id = msg.id
			WHERE msg.status NOT IN ('sent', 'delivered', 'undelivered')
			ORDER BY msg.id
			FOR UPDATE OF msg
		), pid AS (
			INSERT INTO message_provider_ids (provider_id, channel, message_id)
			SELECT DISTINCT ON (r.provider_id, l.channel) r.provider_id, l.channel, l.id
			FROM l JOIN r ON r.id = l.id
			WHERE r.status = 'sent' AND r.provider_id <> ''
			ORDER BY r.provider_id, l.channel, l.id DESC
			ON CONFLICT (provider_id, channel) DO UPDATE SET message_id = EXCLUDED.message_id
		), dp AS (
			DELETE FROM message_payloads p USING l JOIN r ON r.id = l.id
			WHERE p.message_id = l.id AND r.status IN ('sent', 'skipped')
		)`+keep+`
		UPDATE messages SET
			status = r.status,
			provider_id = CASE WHEN r.provider_id <> '' THEN r.provider_id ELSE messages.provider_id END,
			last_error = r.reason,
			sent_at = CASE WHEN r.status = 'sent' THEN $5 ELSE messages.sent_at END,
			payload = CASE WHEN r.status IN ('sent', 'skipped') THEN NULL ELSE messages.payload END,
			lease_until = NULL,
			updated_at = $5,
			providers_tried = CASE WHEN r.tried <> '' AND cardinality(messages.providers_tried) < $8
				THEN array_append(messages.providers_tried, r.tried) ELSE messages.providers_tried END,
			provider = CASE WHEN r.tried <> '' AND r.accepted THEN r.tried ELSE messages.provider END
		FROM l JOIN r ON r.id = l.id
		WHERE messages.id = l.id AND messages.status NOT IN ('sent', 'delivered', 'undelivered')`, args...)
	if err != nil {
		return nil, internal(err)
	}
	return make([]struct{}, len(qs)), nil
}

// messageStatus is a message's status over the messages row (unaliased):
// queued reads as published once the message left the outbox.
const messageStatus = `CASE WHEN messages.status = 'queued'
	AND NOT EXISTS (SELECT 1 FROM message_outbox o WHERE o.message_id = messages.id) THEN 'published' ELSE messages.status END`

const messageColumns = `id, project_id, kind, channel, recipient, ` + messageStatus + `, provider_id, attempts, last_error,
	challenge_id, expires_at, created_at, updated_at, sent_at, delivered_at, providers_tried, provider`

func scanMessage(row pgx.Row) (*auth.Message, error) {
	var m auth.Message
	err := row.Scan(&m.ID, &m.ProjectID, &m.Kind, &m.Channel, &m.Recipient, &m.Status, &m.ProviderID, &m.Attempts,
		&m.LastError, &m.ChallengeID, &m.ExpiresAt, &m.CreatedAt, &m.UpdatedAt, &m.SentAt, &m.DeliveredAt, &m.ProvidersTried, &m.Provider)
	if err != nil {
		return nil, err
	}
	return &m, nil
}

var errMessageNotFound = &auth.Error{Code: auth.ENotFound, Field: "message_id", Message: "Message not found."}

// FindMessage returns a message of the project. ENotFound if missing.
func (db *DB) FindMessage(ctx context.Context, projectID, messageID string) (*auth.Message, error) {
	m, err := scanMessage(db.pool.QueryRow(ctx, `SELECT `+messageColumns+` FROM messages WHERE project_id = $1 AND id = $2`,
		projectID, messageID))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errMessageNotFound
	}
	if err != nil {
		return nil, internal(err)
	}
	return m, nil
}

// ListMessages returns the project's messages, newest first, optionally of
// one status. Limit 0 means 100; at most 1000.
func (db *DB) ListMessages(ctx context.Context, projectID string, f auth.MessageFilter) ([]*auth.Message, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, 1000)
	rows, err := db.pool.Query(ctx, `SELECT `+messageColumns+` FROM messages
		WHERE project_id = $1 AND ($2 = '' OR `+messageStatus+` = $2)
		ORDER BY created_at DESC, id DESC LIMIT $3`, projectID, string(f.Status), limit)
	if err != nil {
		return nil, internal(err)
	}
	defer rows.Close()
	msgs := []*auth.Message{}
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, internal(err)
		}
		msgs = append(msgs, m)
	}
	if err := rows.Err(); err != nil {
		return nil, internal(err)
	}
	return msgs, nil
}

// RequeueMessage puts a failed message whose code or link is still live
// (and whose payload is still stored) back in the outbox: status queued,
// publish_gen+1 and an outbox row, which takes the payload (moved out of
// message_payloads: should the replay fail again, the worker's finish
// stores it back), so that the relay republishes it under a new MsgID.
// ENotFound if the project has no such message; EConflict if it is not
// failed or its code or link is dead.
func (db *DB) RequeueMessage(ctx context.Context, projectID, messageID string) error {
	var status, reason string
	var expired, hasPayload bool
	var gen *int
	err := db.pool.QueryRow(ctx, `
		WITH m AS (
			SELECT msg.id, msg.status, msg.expires_at, msg.expires_at <= $1 AS msg_expired,
				EXISTS (SELECT 1 FROM message_payloads p WHERE p.message_id = msg.id) AS has_payload,
				`+deadReason+` AS reason
			FROM messages msg WHERE msg.project_id = $2 AND msg.id = $3
			FOR UPDATE OF msg
		), u AS (
			UPDATE messages SET status = 'queued', publish_gen = messages.publish_gen + 1,
				lease_until = NULL, updated_at = $1
			FROM m
			WHERE messages.id = m.id AND m.status = 'failed' AND m.reason = '' AND NOT m.msg_expired AND m.has_payload
			RETURNING messages.id, messages.publish_gen, messages.expires_at
		), o AS (
			INSERT INTO message_outbox (message_id, expires_at, queued_at, payload)
			SELECT u.id, u.expires_at, $1, p.payload FROM u JOIN message_payloads p ON p.message_id = u.id
			ON CONFLICT (message_id) DO UPDATE SET queued_at = EXCLUDED.queued_at, lease_until = NULL, payload = EXCLUDED.payload
		), dp AS (
			DELETE FROM message_payloads p USING u WHERE p.message_id = u.id
		)
		SELECT m.status, m.reason, m.msg_expired, m.has_payload, (SELECT publish_gen FROM u) FROM m`,
		db.clock(), projectID, messageID).Scan(&status, &reason, &expired, &hasPayload, &gen)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return errMessageNotFound
	case err != nil:
		return internal(err)
	case gen != nil:
		return nil
	case status != string(auth.MessageFailed):
		return auth.Errorf(auth.EConflict, "Only failed messages can be replayed; this one is %s.", status)
	default:
		return auth.Errorf(auth.EConflict, "The code or link of this message can no longer be used.")
	}
}

// RecordProviderStatus applies a provider's delivery report, in one
// statement, to the message of one of the provider's channels whose
// provider_id (or id) is providerID: a sent message becomes delivered
// (delivered_at = now) or undelivered (last_error = reason). Anything else
// (a report of queued or sent, a message not sent yet, or already
// delivered or undelivered) changes nothing; concurrent reports for one
// message apply at most once because the update re-checks the status under
// the row lock. found reports whether a message matched.
func (db *DB) RecordProviderStatus(ctx context.Context, provider, providerID string, status auth.MessageStatus, reason string) (bool, error) {
	channels := auth.ProviderChannels(provider)
	if channels == nil || providerID == "" {
		return false, nil
	}
	chs := make([]string, len(channels))
	for i, c := range channels {
		chs[i] = string(c)
	}
	var found bool
	// A provider id is looked up in message_provider_ids (migration 0021),
	// not in messages.provider_id, which no index reads, so that the finish
	// that sets it stays a HOT update.
	err := db.pool.QueryRow(ctx, `
		WITH m AS (
			SELECT msg.id FROM message_provider_ids p JOIN messages msg ON msg.id = p.message_id
			WHERE p.provider_id = $1 AND p.channel = ANY($2::text[])
			UNION ALL
			SELECT id FROM messages WHERE id = $1 AND channel = ANY($2::text[])
			LIMIT 1
		), u AS (
			UPDATE messages SET
				status = $3,
				last_error = CASE WHEN $3 = 'undelivered' THEN $4 ELSE last_error END,
				delivered_at = CASE WHEN $3 = 'delivered' THEN $5 ELSE delivered_at END,
				updated_at = $5
			FROM m
			WHERE messages.id = m.id AND messages.status = 'sent' AND $3 IN ('delivered', 'undelivered')
		)
		SELECT EXISTS (SELECT 1 FROM m)`, providerID, chs, string(status), reason, db.clock()).Scan(&found)
	if err != nil {
		return false, internal(err)
	}
	return found, nil
}
