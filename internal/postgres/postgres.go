// Package postgres implements auth.Store on PostgreSQL (15+) with pgx/v5.
//
// Every method is scoped by project id. Time comparisons ("is this code
// expired?") use the DB's clock function (time.Now unless WithClock says
// otherwise), passed to each statement as a parameter, so the service and
// the store agree on "now" and tests can move it.
//
// The hot paths are single statements: ResolveMethod, CreateChallenge,
// CreateMagicLink, ConsumeChallenge, ConsumeMagicLink and BeginDelivery
// each run one (data-modifying CTE) statement in the common case.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sesame-auth/sesame/internal/auth"
)

var _ auth.Store = (*DB)(nil)

// DB is the Postgres implementation of auth.Store. It is safe for
// concurrent use.
type DB struct {
	pool *pgxpool.Pool
	now  func() time.Time
	// Group commit of the delivery path (groupcommit.go).
	begins   *groupCommit[beginReq, beginRes]
	finishes *groupCommit[finishReq, struct{}]
	attempts *groupCommit[attemptReq, struct{}]
}

// Option configures Open.
type Option func(*options)

type options struct {
	cfg func(*pgxpool.Config)
	now func() time.Time
}

// DefaultMaxConns is the pool size when neither WithMaxConns nor
// pool_max_conns in the DSN sets one. pgxpool's own default,
// max(4, NumCPU), starves a send (4-5 statements) of connections on small
// machines; 16 per process stays well inside Postgres's default 100
// connections for a few api and worker replicas.
const DefaultMaxConns = 16

// WithMaxConns sets the pool's maximum number of connections. Default:
// pool_max_conns in the DSN, else DefaultMaxConns.
func WithMaxConns(n int32) Option {
	return withConfig(func(c *pgxpool.Config) { c.MaxConns = n })
}

// WithMinConns sets how many connections the pool keeps open even when idle.
// Default 0, or pool_min_conns in the DSN.
func WithMinConns(n int32) Option {
	return withConfig(func(c *pgxpool.Config) { c.MinConns = n })
}

// WithMaxConnLifetime sets how long a connection is reused before it is
// closed. Default 1 hour, or pool_max_conn_lifetime in the DSN.
func WithMaxConnLifetime(d time.Duration) Option {
	return withConfig(func(c *pgxpool.Config) { c.MaxConnLifetime = d })
}

// WithMaxConnIdleTime sets how long an idle connection is kept. Default 30
// minutes, or pool_max_conn_idle_time in the DSN.
func WithMaxConnIdleTime(d time.Duration) Option {
	return withConfig(func(c *pgxpool.Config) { c.MaxConnIdleTime = d })
}

// WithQueryExecMode sets how pgx sends queries. Default
// pgx.QueryExecModeCacheStatement (prepared statements cached per
// connection); use pgx.QueryExecModeExec or SimpleProtocol behind a
// transaction-pooling PgBouncer.
func WithQueryExecMode(m pgx.QueryExecMode) Option {
	return withConfig(func(c *pgxpool.Config) { c.ConnConfig.DefaultQueryExecMode = m })
}

// WithTracer installs a pgx query tracer (for example otelpgx, or
// multitracer for several). Default none.
func WithTracer(t pgx.QueryTracer) Option {
	return withConfig(func(c *pgxpool.Config) { c.ConnConfig.Tracer = t })
}

// WithClock sets the clock used for every "now" the store compares with
// or writes (expiry checks, leases, timestamps). Default time.Now.
func WithClock(now func() time.Time) Option {
	return func(o *options) { o.now = now }
}

func withConfig(f func(*pgxpool.Config)) Option {
	return func(o *options) {
		prev := o.cfg
		o.cfg = func(c *pgxpool.Config) {
			if prev != nil {
				prev(c)
			}
			f(c)
		}
	}
}

// Open connects a pool to the database at dsn (a postgres:// URL or a
// keyword/value string, with any pool_* settings pgxpool accepts) and
// checks that the database answers. It does not migrate; call Migrate.
func Open(ctx context.Context, dsn string, opts ...Option) (*DB, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// The error may quote the DSN, password included: do not wrap it.
		return nil, errors.New("postgres: invalid DATABASE_URL")
	}
	if !strings.Contains(dsn, "pool_max_conns") {
		cfg.MaxConns = DefaultMaxConns
	}
	if o.cfg != nil {
		o.cfg(cfg)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: open pool: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: connect to %s:%d/%s: %w", cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database, err)
	}
	db := &DB{pool: pool, now: time.Now}
	if o.now != nil {
		db.now = o.now
	}
	db.begins = newGroupCommit(func(q beginReq) string { return q.id }, db.beginDeliveries)
	db.finishes = newGroupCommit(func(q finishReq) string { return q.id }, db.finishDeliveries)
	db.attempts = newGroupCommit(func(q attemptReq) string { return q.id }, db.recordProviderAttempts)
	return db, nil
}

// Close closes every connection of the pool. It waits for connections in
// use to be released.
func (db *DB) Close() {
	db.begins.stop()
	db.finishes.stop()
	db.attempts.stop()
	db.pool.Close()
}

// Pool returns the underlying pool (for metrics from Stat, or ad-hoc
// queries in tests).
func (db *DB) Pool() *pgxpool.Pool { return db.pool }

// SetClock replaces the clock (see WithClock). Not safe to call while
// other goroutines use the DB.
func (db *DB) SetClock(now func() time.Time) { db.now = now }

// Ping reports whether the database answers.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.pool.Ping(ctx); err != nil {
		return internal(err)
	}
	return nil
}

// clock returns the current time with the microsecond precision Postgres
// stores, so values written and values returned are equal.
func (db *DB) clock() time.Time { return db.now().Truncate(time.Microsecond) }

// querier is what a pool and a transaction have in common.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// inTx runs f in a transaction, committing if f returns nil.
func (db *DB) inTx(ctx context.Context, f func(tx pgx.Tx) error) error {
	tx, err := db.pool.Begin(ctx)
	if err != nil {
		return internal(err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if err := f(tx); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return mapErr(err)
	}
	return nil
}

// ---- errors ----

// SQLSTATEs this package reacts to.
const (
	sqlUniqueViolation     = "23505"
	sqlForeignKeyViolation = "23503"
	sqlCheckViolation      = "23514"
)

// internal wraps an unexpected error as EInternal (EUnavailable when the
// database cannot be reached). Domain errors pass through.
func internal(err error) error {
	if err == nil {
		return nil
	}
	var ae *auth.Error
	if errors.As(err, &ae) {
		return err
	}
	if unreachable(err) {
		return &auth.Error{Code: auth.EUnavailable, Message: "The database is unavailable.", Err: err}
	}
	return auth.Internal(err)
}

// unreachable reports whether err says the database is gone rather than
// that a statement is wrong: no connection could be made, the server cut
// the session (57P01 admin, 57P02 crash shutdown, 57P03 starting up, or
// SQLSTATE class 08), or the connection died mid-statement. A restart
// under load answers 503, not 500 (make chaos counts it).
func unreachable(err error) bool {
	var ce *pgconn.ConnectError
	var oe *net.OpError
	if errors.As(err, &ce) || errors.As(err, &oe) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) {
		return true
	}
	if pe := pgError(err); pe != nil {
		return pe.Code == "57P01" || pe.Code == "57P02" || pe.Code == "57P03" || strings.HasPrefix(pe.Code, "08")
	}
	return false
}

func pgError(err error) *pgconn.PgError {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe
	}
	return nil
}

func isUniqueViolation(err error) bool {
	pe := pgError(err)
	return pe != nil && pe.Code == sqlUniqueViolation
}

// mapErr turns constraint violations into domain errors, by constraint
// name, and anything else into internal(err).
func mapErr(err error) error {
	pe := pgError(err)
	if pe == nil {
		return internal(err)
	}
	switch pe.Code {
	case sqlUniqueViolation:
		switch pe.ConstraintName {
		case "emails_project_address_key":
			return &auth.Error{Code: auth.EDuplicateEmail, Field: "email", Message: "A user with this email already exists in the project.", Err: err}
		case "phone_numbers_project_number_key":
			return &auth.Error{Code: auth.EDuplicatePhone, Field: "phone_number", Message: "A user with this phone number already exists in the project.", Err: err}
		case "users_project_external_id_key":
			return &auth.Error{Code: auth.EConflict, Field: "external_id", Message: "A user with this external_id already exists in the project.", Err: err}
		case "projects_secret_hash_key":
			return &auth.Error{Code: auth.EConflict, Message: "Another project has the same secret.", Err: err}
		case "emails_pkey", "phone_numbers_pkey", "users_pkey", "challenges_pkey", "magic_links_pkey",
			"sessions_pkey", "messages_pkey", "signing_keys_pkey", "signing_keys_one_current_key",
			"magic_links_token_hash_key", "sessions_token_hash_key":
			return &auth.Error{Code: auth.EConflict, Message: "The record already exists.", Err: err}
		}
	case sqlForeignKeyViolation:
		switch {
		case strings.HasSuffix(pe.ConstraintName, "_user_fkey"):
			return &auth.Error{Code: auth.EUserNotFound, Field: "user_id", Message: "User not found.", Err: err}
		case strings.HasSuffix(pe.ConstraintName, "_email_fkey"):
			return &auth.Error{Code: auth.EEmailNotFound, Field: "email_id", Message: "Email not found.", Err: err}
		case strings.HasSuffix(pe.ConstraintName, "_project_fkey"):
			return &auth.Error{Code: auth.ENotFound, Field: "project_id", Message: "Project not found.", Err: err}
		}
	case sqlCheckViolation:
		field := ""
		switch pe.ConstraintName {
		case "users_status_check":
			field = "status"
		case "messages_status_check":
			field = "status"
		case "signing_keys_state_check":
			field = "state"
		}
		return &auth.Error{Code: auth.EInvalid, Field: field, Message: "A value is out of range.", Err: err}
	}
	return internal(err)
}

func notFound(code auth.Code, field, msg string) error {
	return &auth.Error{Code: code, Field: field, Message: msg}
}

// jsonObject returns raw, or "{}" when it is empty, as a string for a
// $n::jsonb parameter.
func jsonObject(raw []byte) string {
	if len(raw) == 0 {
		return "{}"
	}
	return string(raw)
}
