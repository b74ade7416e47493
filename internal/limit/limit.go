// Package limit is the perf baseline's "limit server": the thinnest OTP API
// that can be built from Sesame's primitives (pgx v5 pool, nats.go
// jetstream, net/http), the yardstick `make bench` (cmd/limitserver) and the
// in-process benchmarks divide Sesame's figures by:
//
//	POST /send   {"email":"…"}  a 6-digit code, its sha256, a uuid made in Go; one INSERT, then one publish waiting for the PubAck
//	POST /verify {"id":"uuid"}  one UPDATE … RETURNING
//
// No authentication, rate limit, outbox or validation beyond JSON
// decoding: it is never a service.
package limit

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/sesame-auth/sesame/internal/auth"
)

// Server serves /send and /verify over one table and one subject.
type Server struct {
	pool      *pgxpool.Pool
	js        jetstream.JetStream
	subject   string
	insertSQL string
	updateSQL string
	table     string
}

// New serves table (created by CreateTable) through pool, publishing each
// send on subject (which a stream must capture).
func New(pool *pgxpool.Pool, js jetstream.JetStream, table, subject string) *Server {
	t := pgx.Identifier{table}.Sanitize()
	return &Server{pool: pool, js: js, subject: subject, table: t,
		insertSQL: `INSERT INTO ` + t + ` (id, method_id, code_hash, expires_at, attempts, max_attempts, created_at, consumed_at, client_ip, user_agent)
		VALUES ($1, $2, $3, $4, 0, 5, $5, NULL, '127.0.0.1', $6)`,
		updateSQL: `UPDATE ` + t + ` SET attempts = attempts + 1 WHERE id = $1
		RETURNING id::text, code_hash, expires_at, attempts, max_attempts, consumed_at`,
	}
}

// CreateTable creates the perf baseline's otp table (10 columns, one
// secondary index) if it does not exist.
func (s *Server) CreateTable(ctx context.Context) error {
	_, err := s.pool.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+s.table+` (
	id uuid PRIMARY KEY, method_id text NOT NULL, code_hash bytea NOT NULL,
	expires_at timestamptz NOT NULL, attempts int NOT NULL DEFAULT 0, max_attempts int NOT NULL DEFAULT 5,
	created_at timestamptz NOT NULL DEFAULT now(), consumed_at timestamptz, client_ip inet, user_agent text);
CREATE INDEX IF NOT EXISTS `+pgx.Identifier{s.table[1:len(s.table)-1] + "_method_id_idx"}.Sanitize()+` ON `+s.table+` (method_id)`)
	return err
}

// Prefill makes sure rows with ids md5(k)::uuid exist for k = 1…n (the
// perf baseline's verify keys), then analyzes the table.
func (s *Server) Prefill(ctx context.Context, n int) error {
	if _, err := s.pool.Exec(ctx, `INSERT INTO `+s.table+` (id, method_id, code_hash, expires_at, client_ip, user_agent)
		SELECT md5(k::text)::uuid, 'email:user' || k || '@example.test', sha256(k::text::bytea),
		       now() + interval '1 day', '127.0.0.1', 'bench/1.0'
		FROM generate_series(1, $1::int) k ON CONFLICT (id) DO NOTHING`, n); err != nil {
		return err
	}
	_, err := s.pool.Exec(ctx, `VACUUM ANALYZE `+s.table)
	return err
}

// PrefillID is the id Prefill gives row k: Postgres's md5(k::text)::uuid.
func PrefillID(k int) string {
	h := md5.Sum([]byte(strconv.Itoa(k)))
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

// Insert is the send primitive: one INSERT of a code row (the sha256 of
// code) for methodID, valid for 10 minutes. It returns the row's id and
// expiry.
func (s *Server) Insert(ctx context.Context, methodID, code, userAgent string) (string, time.Time, error) {
	sum := sha256.Sum256([]byte(code))
	id, now := auth.NewUUID(), time.Now()
	exp := now.Add(10 * time.Minute)
	_, err := s.pool.Exec(ctx, s.insertSQL, id, methodID, sum[:], exp, now, userAgent)
	return id, exp, err
}

// Update is the verify primitive: one UPDATE … RETURNING counting an
// attempt on row id. It returns the row's id as stored, its attempts and
// whether the code is still usable, or pgx.ErrNoRows for an unknown id.
func (s *Server) Update(ctx context.Context, id string) (rowID string, attempts int, valid bool, err error) {
	var (
		hash        []byte
		exp         time.Time
		maxAttempts int
		consumed    *time.Time
	)
	err = s.pool.QueryRow(ctx, s.updateSQL, id).Scan(&rowID, &hash, &exp, &attempts, &maxAttempts, &consumed)
	return rowID, attempts, consumed == nil && time.Now().Before(exp) && attempts <= maxAttempts, err
}

// Send is POST /send.
func (s *Server) Send(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Email string `json:"email"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Email == "" {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	code := auth.NewCode()
	id, exp, err := s.Insert(r.Context(), "email:"+req.Email, code, r.UserAgent())
	if err != nil {
		http.Error(w, "insert failed", http.StatusInternalServerError)
		return
	}
	ev, _ := json.Marshal(map[string]any{"id": id, "email": req.Email, "code": code, "expires_at": exp})
	if _, err := s.js.Publish(r.Context(), s.subject, ev); err != nil {
		http.Error(w, "publish failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"id": id, "expires_at": exp})
}

// Verify is POST /verify.
func (s *Server) Verify(w http.ResponseWriter, r *http.Request) {
	var req struct {
		ID string `json:"id"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.ID == "" {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	id, attempts, valid, err := s.Update(r.Context(), req.ID)
	if errors.Is(err, pgx.ErrNoRows) {
		http.Error(w, "not found", http.StatusNotFound)
		return
	} else if err != nil {
		http.Error(w, "update failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"id": id, "attempts": attempts, "valid": valid})
}

// Handler serves POST /send, POST /verify and GET /healthz.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /send", s.Send)
	mux.HandleFunc("POST /verify", s.Verify)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	return mux
}
