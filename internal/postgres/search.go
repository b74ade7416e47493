package postgres

import (
	"context"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sesame-auth/sesame/internal/auth"
)

// Page sizes of SearchUsers.
const (
	DefaultSearchLimit = 100
	MaxSearchLimit     = 1000
)

// SearchUsers returns one page of the project's users matching q, ordered
// by (created_at, id), with Total the number of all matches. Filters are
// ANDed, or ORed when q.Or is set; the project and the cursor always apply.
// Fuzzy filters are case-insensitive substring matches. EmailVerified
// (PhoneVerified) matches users having an email (phone) whose verified flag
// equals the value; TOTPVerified likewise with a TOTP registration. Two round trips: count and page, then the page's
// emails and phones. EInvalid for a bad limit or cursor.
func (db *DB) SearchUsers(ctx context.Context, projectID string, q auth.UserQuery) (*auth.UserPage, error) {
	limit := q.Limit
	if limit == 0 {
		limit = DefaultSearchLimit
	}
	if limit < 1 || limit > MaxSearchLimit {
		return nil, auth.Invalid("limit", "limit must be between 1 and %d.", MaxSearchLimit)
	}
	args := []any{projectID}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	method := func(table, cond string) string {
		return `EXISTS (SELECT 1 FROM ` + table + ` m WHERE m.project_id = u.project_id AND m.user_id = u.id AND ` + cond + `)`
	}
	var conds []string
	if q.CreatedAfter != nil {
		conds = append(conds, "u.created_at > "+arg(*q.CreatedAfter))
	}
	if q.CreatedBefore != nil {
		conds = append(conds, "u.created_at < "+arg(*q.CreatedBefore))
	}
	if q.Status != "" {
		conds = append(conds, "u.status = "+arg(string(q.Status)))
	}
	if len(q.UserIDs) > 0 {
		conds = append(conds, "u.id = ANY("+arg(q.UserIDs)+"::text[])")
	}
	if len(q.EmailAddresses) > 0 {
		addrs := make([]string, len(q.EmailAddresses))
		for i, a := range q.EmailAddresses {
			addrs[i] = strings.ToLower(strings.TrimSpace(a))
		}
		conds = append(conds, method("emails", "m.address = ANY("+arg(addrs)+"::text[])"))
	}
	if len(q.EmailIDs) > 0 {
		conds = append(conds, method("emails", "m.id = ANY("+arg(q.EmailIDs)+"::text[])"))
	}
	if len(q.PhoneNumbers) > 0 {
		conds = append(conds, method("phone_numbers", "m.number = ANY("+arg(q.PhoneNumbers)+"::text[])"))
	}
	if len(q.PhoneIDs) > 0 {
		conds = append(conds, method("phone_numbers", "m.id = ANY("+arg(q.PhoneIDs)+"::text[])"))
	}
	// The fuzzy filters match through the trigram indexes of migration
	// 0008 (sesame_full_name is the indexed expression).
	fuzzy := []struct {
		field, value string
		cond         func(arg string) string
	}{
		{"full_name_fuzzy", q.FullNameFuzzy, func(a string) string {
			return "sesame_full_name(u.first_name, u.middle_name, u.last_name) ILIKE " + a
		}},
		{"email_address_fuzzy", q.EmailFuzzy, func(a string) string { return method("emails", "m.address ILIKE "+a) }},
		{"phone_number_fuzzy", q.PhoneFuzzy, func(a string) string { return method("phone_numbers", "m.number ILIKE "+a) }},
	}
	for _, f := range fuzzy {
		if f.value == "" {
			continue
		}
		pat, err := fuzzyArg(f.field, f.value)
		if err != nil {
			return nil, err
		}
		conds = append(conds, f.cond(arg(pat)))
	}
	if q.EmailVerified != nil {
		conds = append(conds, method("emails", "m.verified = "+arg(*q.EmailVerified)))
	}
	if q.PhoneVerified != nil {
		conds = append(conds, method("phone_numbers", "m.verified = "+arg(*q.PhoneVerified)))
	}
	if len(q.TOTPIDs) > 0 {
		conds = append(conds, method("totps", "m.id = ANY("+arg(q.TOTPIDs)+"::text[])"))
	}
	if q.TOTPVerified != nil {
		conds = append(conds, method("totps", "m.verified = "+arg(*q.TOTPVerified)))
	}
	where := "u.project_id = $1"
	if len(conds) > 0 {
		op := " AND "
		if q.Or {
			op = " OR "
		}
		where += " AND (" + strings.Join(conds, op) + ")"
	}
	countSQL := `SELECT count(*) FROM users u WHERE ` + where
	countArgs := append([]any(nil), args...)

	pageWhere := where
	if q.Cursor != "" {
		at, id, err := decodeCursor(q.Cursor)
		if err != nil {
			return nil, err
		}
		pageWhere += " AND (u.created_at, u.id) > (" + arg(at) + ", " + arg(id) + ")"
	}
	pageSQL := `SELECT ` + userColumns + ` FROM users u WHERE ` + pageWhere +
		` ORDER BY u.created_at, u.id LIMIT ` + arg(limit+1)

	page := &auth.UserPage{Users: []*auth.User{}}
	b := &pgx.Batch{}
	b.Queue(countSQL, countArgs...)
	b.Queue(pageSQL, args...)
	err := db.runSearch(ctx, SearchTimeout, b, func(br pgx.BatchResults) error {
		if err := br.QueryRow().Scan(&page.Total); err != nil {
			return err
		}
		rows, err := br.Query()
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			u, err := scanUser(rows)
			if err != nil {
				return err
			}
			page.Users = append(page.Users, u)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	if len(page.Users) > limit {
		page.Users = page.Users[:limit]
		last := page.Users[limit-1]
		page.NextCursor = encodeCursor(last.CreatedAt, last.ID)
	}
	if len(page.Users) == 0 {
		return page, nil
	}

	ids := make([]string, len(page.Users))
	byID := make(map[string]*auth.User, len(page.Users))
	for i, u := range page.Users {
		ids[i] = u.ID
		byID[u.ID] = u
	}
	b = &pgx.Batch{}
	queueMethods(b, projectID, ids)
	br := db.pool.SendBatch(ctx, b)
	if err := readMethods(br, byID); err != nil {
		br.Close()
		return nil, internal(err)
	}
	if err := br.Close(); err != nil {
		return nil, internal(err)
	}
	return page, nil
}

// SearchTimeout bounds the statements of one search (users, organizations,
// members): past it Postgres cancels them and the search answers
// EUnavailable instead of holding a connection. Default 2s, far above the
// p99 of BenchmarkHostileSearch (see README, "Input limits").
const SearchTimeout = 2 * time.Second

// runSearch runs the batch in a read-only transaction whose statements
// Postgres cancels after timeout (SET LOCAL statement_timeout, so the
// pooled connection keeps its own setting), reading the results with
// read. A cancelled statement is EUnavailable naming the search.
func (db *DB) runSearch(ctx context.Context, timeout time.Duration, b *pgx.Batch, read func(pgx.BatchResults) error) error {
	tx, err := db.pool.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
	if err != nil {
		return internal(err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // after Commit a no-op
	full := &pgx.Batch{}
	full.Queue("SELECT set_config('statement_timeout', $1, true)", strconv.FormatInt(timeout.Milliseconds(), 10))
	full.QueuedQueries = append(full.QueuedQueries, b.QueuedQueries...)
	br := tx.SendBatch(ctx, full)
	if _, err := br.Exec(); err != nil {
		br.Close()
		return searchError(err, timeout)
	}
	if err := read(br); err != nil {
		br.Close()
		return searchError(err, timeout)
	}
	if err := br.Close(); err != nil {
		return searchError(err, timeout)
	}
	if err := tx.Commit(ctx); err != nil {
		return searchError(err, timeout)
	}
	return nil
}

// searchError maps a cancelled search statement (SQLSTATE 57014) to
// EUnavailable; other errors as internal does.
func searchError(err error, timeout time.Duration) error {
	if pe := pgError(err); pe != nil && pe.Code == "57014" {
		return &auth.Error{Code: auth.EUnavailable, Message: fmt.Sprintf("The search took longer than %s and was cancelled; narrow the filters.", timeout), Err: err}
	}
	return internal(err)
}

// likePattern makes s a literal substring pattern for (I)LIKE.
func likePattern(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(s) + "%"
}

// A cursor is base64url("<created_at unix micros>:<user id>").
func encodeCursor(at time.Time, id string) string {
	return base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, "%d:%s", at.UnixMicro(), id))
}

func decodeCursor(s string) (time.Time, string, error) {
	bad := auth.Invalid("cursor", "The cursor is invalid.")
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return time.Time{}, "", bad
	}
	ts, id, ok := strings.Cut(string(b), ":")
	if !ok || id == "" {
		return time.Time{}, "", bad
	}
	us, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return time.Time{}, "", bad
	}
	return time.UnixMicro(us), id, nil
}
