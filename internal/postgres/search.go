package postgres

import (
	"context"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

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
// Fuzzy filters are case-insensitive substring matches (at most 256 bytes). EmailVerified
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
	// An uncorrelated IN, not a correlated EXISTS: under OR, Postgres runs
	// it once (through the method's indexes) into a hash instead of once
	// per user; under AND it becomes the same semi-join.
	method := func(table, cond string) string {
		return `u.id IN (SELECT m.user_id FROM ` + table + ` m WHERE m.project_id = $1 AND ` + cond + `)`
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
	// 0008 (sesame_search_name is the indexed expression); emails are
	// stored lower-cased and phones have no case, so LIKE with the
	// lower-cased pattern is the case-insensitive match.
	fuzzy := []struct {
		field, value string
		cond         func(arg string) string
	}{
		{"full_name_fuzzy", q.FullNameFuzzy, func(m string) string {
			return strings.ReplaceAll(m, "$col", "sesame_search_name(u.first_name, u.middle_name, u.last_name)")
		}},
		{"email_address_fuzzy", q.EmailFuzzy, func(m string) string {
			return method("emails", strings.ReplaceAll(m, "$col", "m.address"))
		}},
		{"phone_number_fuzzy", q.PhoneFuzzy, func(m string) string {
			return method("phone_numbers", strings.ReplaceAll(m, "$col", "m.number"))
		}},
	}
	for _, f := range fuzzy {
		if f.value == "" {
			continue
		}
		match, err := fuzzyMatch(f.field, f.value, arg)
		if err != nil {
			return nil, err
		}
		conds = append(conds, f.cond(match))
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
// pooled connection keeps its own setting), without JIT or nested loops,
// reading the results with
// read. A cancelled statement is EUnavailable naming the search.
func (db *DB) runSearch(ctx context.Context, timeout time.Duration, b *pgx.Batch, read func(pgx.BatchResults) error) error {
	tx, err := db.pool.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
	if err != nil {
		return internal(err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // after Commit a no-op
	full := &pgx.Batch{}
	// JIT compiling costs ~100 ms whenever the planner's estimate is high
	// (as it is for OR of fuzzy filters), more than the search itself. No
	// nested loops: with ORDER BY ... LIMIT the planner would walk the
	// users in order probing each one's methods, which a filter whose
	// matches sort last (a hostile choice) turns into 100,000 probes; a
	// hash of the matches costs one scan whatever the order.
	full.Queue(`SELECT set_config('statement_timeout', $1, true), set_config('jit', 'off', true),
		set_config('enable_nestloop', 'off', true)`, strconv.FormatInt(timeout.Milliseconds(), 10))
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

// fuzzyMatch returns the condition of a fuzzy filter on the placeholder
// column "$col" (already lower-cased text), adding its argument with arg:
// "$col LIKE '%v%'", which the trigram index answers; for a value of one
// or two characters, from which pg_trgm extracts no trigram (the GIN index
// would read all of itself), "strpos($col, v) > 0", a plain scan. EInvalid
// naming field when v is longer than 256 bytes.
func fuzzyMatch(field, v string, arg func(any) string) (string, error) {
	pat, err := fuzzyArg(field, v)
	if err != nil {
		return "", err
	}
	if utf8.RuneCountInString(v) <= 2 {
		return "strpos($col, " + arg(strings.ToLower(v)) + ") > 0", nil
	}
	return "$col LIKE " + arg(pat), nil
}

// likePattern makes s a lower-cased literal substring pattern for LIKE
// against lower-cased text.
func likePattern(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(strings.ToLower(s)) + "%"
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
