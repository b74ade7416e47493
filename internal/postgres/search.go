package postgres

import (
	"context"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"

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
// Fuzzy filters are case-insensitive substring matches (at most 256 bytes).
// EmailVerified (PhoneVerified) matches users having an email (phone) whose
// verified flag equals the value; TOTPVerified likewise with a TOTP
// registration. Every filter but TOTPVerified is a condition on the users
// row or one array of ids (migration 0013), so the count and the page are
// each one scan or bitmap of users, or together one (userSQL). Round
// trips: the lists' resolution if any, the count and a bounded walk for
// the page, the sorted matches if the walk did not find the page, then
// the page's emails and phones. EInvalid for a bad limit or cursor.
func (db *DB) SearchUsers(ctx context.Context, projectID string, q auth.UserQuery) (*auth.UserPage, error) {
	s, err := userSearch(projectID, q)
	if err != nil {
		return nil, err
	}
	limit := s.limit
	page := &auth.UserPage{}
	if err := db.runSearchSteps(ctx, SearchTimeout, s.steps(page)...); err != nil {
		return nil, err
	}
	page.Users, page.NextCursor = trimPage(page.Users, limit, func(u *auth.User) (time.Time, string) { return u.CreatedAt, u.ID })
	if len(page.Users) == 0 {
		return page, nil
	}

	ids := make([]string, len(page.Users))
	byID := make(map[string]*auth.User, len(page.Users))
	for i, u := range page.Users {
		ids[i] = u.ID
		byID[u.ID] = u
	}
	b := &pgx.Batch{}
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

// searchSQL is a search's two statements: the total count and one page
// (limit+1 rows, the last telling whether there is a next page).
type searchSQL struct {
	limit               int
	countSQL, pageSQL   string
	countArgs, pageArgs []any
	// resolveSQL, when set, returns one array of user ids per method list,
	// to be set at slots of countArgs and pageArgs.
	resolveSQL  string
	resolveArgs []any
	slots       []int
}

// userSQL is SearchUsers' statements: the lists resolution if any
// (searchSQL.resolveSQL); then, when idList, oneSQL alone; otherwise the
// walk (pageSQL: the first limit+1 matches among the first walkUsers users
// from the cursor, with reachSQL), then the count (countSQL) if the walk
// filled the page or reached the last user, else oneSQL (the count and
// the page in one scan).
type userSQL struct {
	*searchSQL
	oneSQL, reachSQL string
	oneArgs          []any
	reachArgs        []any
	idList           bool
}

// walkUsers is how many users the walk reads at most for a page of limit:
// 10 per row of the page, at most 10,000 (the most a walk that does not
// find its page costs on top of oneSQL: 1% of a scan of 100,000 users
// for the default page). A walk fills its page within that many users
// when one in ten matches (evenly). 20 per row made a two-character value
// whose 11,000 matches sort late (a scan, then the sort) 14% slower than
// without a walk.
func walkUsers(limit int) int {
	return min(10*(limit+1), 10_000)
}

// userSearch builds SearchUsers' statements. EInvalid for a bad limit,
// cursor or fuzzy value.
func userSearch(projectID string, q auth.UserQuery) (*userSQL, error) {
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
	// Exact-value lists of methods (at most 1,000 values each, README
	// "Input limits") are resolved to user ids first (resolver), in the
	// same transaction, through the methods' unique indexes: all of them
	// and user_ids to one array, their union under OR, their intersection
	// under AND, so that the count and the page probe users once per id
	// and filter by one array. Five arrays of 1,000 under OR were 5,000
	// probes in the count and the page each, or a scan filtering every
	// user by five arrays (68 ms under load).
	var r resolver
	var lists []string
	methods := func(table, col string, values []string) {
		if len(values) > 0 {
			lists = append(lists, `SELECT m.user_id FROM `+table+` m WHERE m.project_id = $1 AND m.`+col+` = ANY(`+r.arg(values)+`::text[])`)
		}
	}
	if len(q.EmailAddresses) > 0 {
		addrs := make([]string, len(q.EmailAddresses))
		for i, a := range q.EmailAddresses {
			addrs[i] = strings.ToLower(strings.TrimSpace(a))
		}
		methods("emails", "address", addrs)
	}
	methods("emails", "id", q.EmailIDs)
	methods("phone_numbers", "number", q.PhoneNumbers)
	methods("phone_numbers", "id", q.PhoneIDs)
	methods("totps", "id", q.TOTPIDs)
	// idList: the users are those of one array, at most 6,000 ids (the
	// user ids and five lists of 1,000).
	idList := false
	var conds []string
	switch {
	case len(lists) > 0:
		if len(q.UserIDs) > 0 {
			lists = append(lists, `SELECT unnest(`+r.arg(q.UserIDs)+`::text[])`)
		}
		op := " INTERSECT "
		if q.Or {
			op = " UNION "
		}
		conds = append(conds, "u.id = ANY("+r.column(strings.Join(lists, op), arg)+"::text[])")
		idList = true
	case len(q.UserIDs) > 0:
		conds = append(conds, "u.id = ANY("+arg(q.UserIDs)+"::text[])")
		idList = true
	}
	if q.CreatedAfter != nil {
		conds = append(conds, "u.created_at > "+arg(*q.CreatedAfter))
	}
	if q.CreatedBefore != nil {
		conds = append(conds, "u.created_at < "+arg(*q.CreatedBefore))
	}
	if q.Status != "" {
		conds = append(conds, "u.status = "+arg(string(q.Status)))
	}
	// The fuzzy filters and the verified flags are conditions on the
	// users row alone: migration 0013 keeps each user's name (lower-cased),
	// emails and phone numbers (newline-joined) and whether it has a
	// verified or an unverified email or phone on it, with trigram indexes
	// on the three strings. Emails are stored lower-cased and phones have
	// no case, so LIKE with the lower-cased pattern is the case-insensitive
	// match.
	fuzzy := []struct {
		field, value, col string
		joined            bool
	}{
		{"full_name_fuzzy", q.FullNameFuzzy, "u.search_name", false},
		{"email_address_fuzzy", q.EmailFuzzy, "u.search_emails", true},
		{"phone_number_fuzzy", q.PhoneFuzzy, "u.search_phones", true},
	}
	for _, f := range fuzzy {
		if f.value == "" {
			continue
		}
		match, err := fuzzyMatch(f.field, f.value, f.joined, arg)
		if err != nil {
			return nil, err
		}
		conds = append(conds, strings.ReplaceAll(match, "$col", f.col))
	}
	if q.EmailVerified != nil {
		conds = append(conds, flag(*q.EmailVerified, "u.search_email_verified", "u.search_email_unverified"))
	}
	if q.PhoneVerified != nil {
		conds = append(conds, flag(*q.PhoneVerified, "u.search_phone_verified", "u.search_phone_unverified"))
	}
	if q.TOTPVerified != nil {
		// An uncorrelated IN, hashed once (users have few TOTP
		// registrations, none in most projects).
		conds = append(conds, `u.id IN (SELECT m.user_id FROM totps m WHERE m.project_id = $1 AND m.verified = `+arg(*q.TOTPVerified)+`)`)
	}
	where := "u.project_id = $1"
	if len(conds) > 0 {
		op := " AND "
		if q.Or {
			op = " OR "
		}
		where += " AND (" + strings.Join(conds, op) + ")"
	}
	// Arguments: the filters' (count), the cursor's and the page size
	// (walk, oneSQL): each statement takes a prefix.
	nWhere := len(args)
	after, reachAfter, reachArgs := "true", "true", []any{projectID}
	if q.Cursor != "" {
		at, id, err := decodeCursor(q.Cursor)
		if err != nil {
			return nil, err
		}
		after = "(u.created_at, u.id) > (" + arg(at) + ", " + arg(id) + ")"
		reachAfter, reachArgs = "(u.created_at, u.id) > ($2, $3)", append(reachArgs, at, id)
	}
	pageSize := arg(limit + 1)
	nOne := len(args)
	oneSQL := oneScan(where, after, pageSize)
	// The walk: the users from the cursor in created order, at most
	// walkUsers of them (the inner LIMIT, which no filter passes), tested
	// there; reach counts them (an index-only walk of the same users), so
	// a walk that found fewer than limit+1 matches is the page when it
	// reached the last user. Postgres has no statistics for strpos nor
	// for the ids of an array, and for a LIKE they do not tell where the
	// matches sort: a walk without the bound read all 100,000 users when
	// the matches sorted last (119 ms).
	walked := func(cols, after string) string {
		return `SELECT ` + cols + ` FROM users u WHERE u.project_id = $1 AND ` + after +
			` ORDER BY u.created_at, u.id LIMIT ` + strconv.Itoa(walkUsers(limit))
	}
	walkSQL := `SELECT ` + userColumns + ` FROM (` + walked("*", after) + `) u WHERE ` + where +
		` ORDER BY u.created_at, u.id LIMIT ` + pageSize
	reachSQL := `SELECT count(*) FROM (` + walked("", reachAfter) + `) u`
	countSQL := `SELECT count(*) FROM users u WHERE ` + where
	out := &userSQL{
		searchSQL: r.search(projectID, limit, countSQL, args[:nWhere], walkSQL, args[:nOne]),
		reachSQL:  reachSQL,
		reachArgs: reachArgs,
		oneSQL:    oneSQL,
		oneArgs:   args[:nOne],
		// Matches bounded by one id array (unless ORed with another
		// filter): at most 6,000 users, which oneSQL reads through the
		// primary key.
		idList: idList && (!q.Or || len(conds) == 1),
	}
	return out, nil
}

// oneScan returns the statement that counts the users matching where and
// returns a page of them (readTotalAndPage): the matches' ids and created
// times, counted by a window (the exact total, whatever the cursor),
// those following the cursor (after) first in (created_at, id) order, cut
// to pageSize; then those users' rows, each with the total and whether it
// follows the cursor. A page past the last match still returns matches
// (not following the cursor) to carry the total; no row at all means no
// match. One scan of the matches where a count and a page took two. The
// sort key is one column for the rows that follow the cursor (a boolean
// first key made every comparison of the 100,000-row sort fall through to
// the second one: about a quarter more CPU for the statement).
func oneScan(where, after, pageSize string) string {
	return `WITH p AS MATERIALIZED (SELECT s.id, s.total FROM (
			SELECT u.id, u.created_at, ` + after + ` AS after, count(*) OVER () AS total FROM users u WHERE ` + where + `
		) s ORDER BY CASE WHEN s.after THEN s.created_at END, s.id LIMIT ` + pageSize + `)
	SELECT ` + userColumns + `, (SELECT p.total FROM p LIMIT 1), ` + after + ` AS after
	FROM users u WHERE u.project_id = $1 AND u.id = ANY(ARRAY(SELECT p.id FROM p))
	ORDER BY after DESC, u.created_at, u.id`
}

// steps returns the search's steps, reading the page and the total into
// page.
func (s *userSQL) steps(page *auth.UserPage) []searchStep {
	var steps []searchStep
	if s.resolveSQL != "" {
		steps = append(steps, s.resolveStep())
	}
	one := searchStep{
		batch: func() *pgx.Batch {
			b := &pgx.Batch{}
			if s.idList {
				// Probes of the primary key (the planner estimated a
				// scan of all users filtering by 1,000 ids cheaper).
				b.Queue(`SET LOCAL enable_seqscan = off`)
			}
			b.Queue(s.oneSQL, s.oneArgs...)
			if s.idList {
				b.Queue(`SET LOCAL enable_seqscan TO DEFAULT`)
			}
			return b
		},
		read: func(br pgx.BatchResults) (err error) {
			if s.idList {
				if _, err := br.Exec(); err != nil {
					return err
				}
			}
			if page.Users, err = readTotalAndPage(br, &page.Total, scanUser); err != nil {
				return err
			}
			if s.idList {
				_, err = br.Exec()
			}
			return err
		},
	}
	if s.idList {
		return append(steps, one)
	}
	queue := func(sql string, args ...any) *pgx.Batch {
		b := &pgx.Batch{}
		b.Queue(sql, args...)
		return b
	}
	readSorted := func(br pgx.BatchResults) error {
		rows, err := br.Query()
		if err != nil {
			return err
		}
		page.Users, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (*auth.User, error) { return scanUser(row) })
		return err
	}
	// walked: the walk found the page, because it filled it or reached
	// the last user. The walk runs first, alone (a few ms at most): when
	// it found the page, the count follows; when it did not, one scan
	// (oneSQL) counts the matches and sorts the page out of them, where a
	// count, then a scan and a sort of the matches, read every user
	// twice (a two-character email, 11,000 matches that sort late: 65 ms
	// mean and 98-105 ms p99 on a quiet box).
	walked := false
	return append(steps, searchStep{
		batch: func() *pgx.Batch {
			b := queue(s.pageSQL, s.pageArgs...)
			b.Queue(s.reachSQL, s.reachArgs...)
			return b
		},
		read: func(br pgx.BatchResults) error {
			if err := readSorted(br); err != nil {
				return err
			}
			var n int
			if err := br.QueryRow().Scan(&n); err != nil {
				return err
			}
			walked = len(page.Users) > s.limit || n < walkUsers(s.limit)
			return nil
		},
	}, searchStep{
		batch: func() *pgx.Batch {
			if walked {
				return queue(s.countSQL, s.countArgs...)
			}
			return queue(s.oneSQL, s.oneArgs...)
		},
		read: func(br pgx.BatchResults) (err error) {
			if walked {
				return br.QueryRow().Scan(&page.Total)
			}
			page.Users, err = readTotalAndPage(br, &page.Total, scanUser)
			return err
		},
	})
}

// A resolver collects the exact-value lists of a search that are resolved
// to ids before the count and the page run (searchSQL.steps): ids that
// reach the statements as a constant array, which a unique index answers
// (a BitmapOr entry under OR) and which Postgres hashes when it filters
// rows by it. An array computed inside the statement (ARRAY(SELECT ...) or
// an IN under OR) is a parameter or a subplan that Postgres searches
// linearly or evaluates for every row: 1,000 ids × 4 lists × 12,000 rows
// walked in order was 1.8 s, and 1,000 domains && each organization's
// domains over 100,000 organizations passed the 2 s timeout.
type resolver struct {
	selects []string
	args    []any
	slots   []int
}

// ids adds the id query q, whose "$V" is values and "$1" the project, and
// returns the placeholder (added with arg) that will hold its ids.
func (r *resolver) ids(q string, values any, arg func(any) string) string {
	return r.column(strings.ReplaceAll(q, "$V", r.arg(values)), arg)
}

// arg adds v to the resolve statement's arguments and returns its
// placeholder there.
func (r *resolver) arg(v any) string {
	r.args = append(r.args, v)
	return "$" + strconv.Itoa(len(r.args)+1)
}

// column adds the id query q (with placeholders from r.arg, "$1" being the
// project) and returns the placeholder (added with arg) that will hold its
// ids.
func (r *resolver) column(q string, arg func(any) string) string {
	r.selects = append(r.selects, "ARRAY("+q+")")
	ph := arg(nil) // set to the resolved ids
	n, _ := strconv.Atoi(ph[1:])
	r.slots = append(r.slots, n-1)
	return ph
}

// search returns the search's statements.
func (r *resolver) search(projectID string, limit int, countSQL string, countArgs []any, pageSQL string, pageArgs []any) *searchSQL {
	out := &searchSQL{limit: limit, countSQL: countSQL, countArgs: countArgs, pageSQL: pageSQL, pageArgs: pageArgs, slots: r.slots}
	if len(r.selects) > 0 {
		out.resolveSQL = `SELECT ` + strings.Join(r.selects, ", ")
		out.resolveArgs = append([]any{projectID}, r.args...)
	}
	return out
}

// resolved sets the user ids of the method lists (one []string per
// resolveSQL column, in order) into both statements' arguments.
func (s *searchSQL) resolved(ids [][]string) {
	for i, slot := range s.slots {
		s.countArgs[slot] = ids[i]
		s.pageArgs[slot] = ids[i]
	}
}

// steps returns the search's statements as runSearchSteps steps: the
// lists resolution if any, then the count and the page, read by read.
func (s *searchSQL) steps(read func(pgx.BatchResults) error) []searchStep {
	var steps []searchStep
	if s.resolveSQL != "" {
		steps = append(steps, s.resolveStep())
	}
	return append(steps, searchStep{
		batch: func() *pgx.Batch {
			b := &pgx.Batch{}
			b.Queue(s.countSQL, s.countArgs...)
			b.Queue(s.pageSQL, s.pageArgs...)
			return b
		},
		read: read,
	})
}

// resolveStep returns the step that resolves the lists (resolveSQL) and
// sets their ids into the statements' arguments.
func (s *searchSQL) resolveStep() searchStep {
	return searchStep{
		batch: func() *pgx.Batch {
			// Every list has an index; without seq scans (this
			// statement only) the planner takes it: it scanned all of
			// emails (20-70 ms) rather than probe its unique index for
			// 1,000 addresses (6 ms), and all organizations comparing
			// each one's domains with 1,000 rather than read the GIN
			// index.
			b := &pgx.Batch{}
			b.Queue(`SET LOCAL enable_seqscan = off`)
			b.Queue(s.resolveSQL, s.resolveArgs...)
			b.Queue(`SET LOCAL enable_seqscan TO DEFAULT`)
			return b
		},
		read: func(br pgx.BatchResults) error {
			ids := make([][]string, len(s.slots))
			dst := make([]any, len(ids))
			for i := range ids {
				dst[i] = &ids[i]
			}
			if _, err := br.Exec(); err != nil {
				return err
			}
			if err := br.QueryRow().Scan(dst...); err != nil {
				return err
			}
			if _, err := br.Exec(); err != nil {
				return err
			}
			s.resolved(ids)
			return nil
		},
	}
}

// SearchTimeout bounds the statements of one search (users, organizations,
// members): past it Postgres cancels them and the search answers
// EUnavailable instead of holding a connection. Default 2s, far above the
// p99 of BenchmarkHostileSearch (see README, "Input limits").
const SearchTimeout = 2 * time.Second

// runSearch runs the batch in a read-only transaction whose statements
// Postgres cancels after timeout (SET LOCAL statement_timeout, so the
// pooled connection keeps its own setting), with the planner settings
// below, reading the results with read. A cancelled statement is
// EUnavailable naming the search.
func (db *DB) runSearch(ctx context.Context, timeout time.Duration, b *pgx.Batch, read func(pgx.BatchResults) error) error {
	return db.runSearchSteps(ctx, timeout, searchStep{batch: func() *pgx.Batch { return b }, read: read})
}

// A searchStep is one batch of a search and the reading of its results;
// batch is called once the previous step is read, so it may use its
// results, and may return nil (but for the first step) to skip the step.
type searchStep struct {
	batch func() *pgx.Batch
	read  func(pgx.BatchResults) error
}

// runSearchSteps runs the steps in order in one runSearch transaction.
func (db *DB) runSearchSteps(ctx context.Context, timeout time.Duration, steps ...searchStep) error {
	tx, err := db.pool.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
	if err != nil {
		return internal(err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // after Commit a no-op
	for i, st := range steps {
		b := st.batch()
		if b == nil && i > 0 {
			continue // nothing to run (the first step carries the settings)
		}
		if i == 0 {
			full := &pgx.Batch{}
			// JIT compiling costs ~100 ms whenever the planner's estimate
			// is high (as it is for OR of fuzzy filters), more than the
			// search itself. No nested loops: with ORDER BY ... LIMIT the
			// planner would walk the users in order probing each one's
			// TOTP registrations, 100,000 probes when the matches sort
			// last (a hostile choice); a hash of the matches costs one
			// scan whatever the order. work_mem 16 MB: the hash of
			// 100,000 organization ids a member filter matches spilled to
			// disk at the default 4 MB. Custom plans always: a cached generic plan sees the
			// id lists as parameters, which it cannot hash. No parallel
			// workers: on a busy machine waiting for them cost more than
			// they saved (a 100 ms p99 over a 20 ms median), and one
			// search should not take every core.
			full.Queue(`SELECT set_config('statement_timeout', $1, true), set_config('jit', 'off', true),
				set_config('enable_nestloop', 'off', true), set_config('work_mem', '16MB', true),
				set_config('plan_cache_mode', 'force_custom_plan', true),
				set_config('max_parallel_workers_per_gather', '0', true)`,
				strconv.FormatInt(timeout.Milliseconds(), 10))
			full.QueuedQueries = append(full.QueuedQueries, b.QueuedQueries...)
			b = full
		}
		br := tx.SendBatch(ctx, b)
		if i == 0 {
			if _, err := br.Exec(); err != nil {
				br.Close()
				return searchError(err, timeout)
			}
		}
		if err := st.read(br); err != nil {
			br.Close()
			return searchError(err, timeout)
		}
		if err := br.Close(); err != nil {
			return searchError(err, timeout)
		}
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
// "$col LIKE '%v%'", which the trigram index answers; for a value from
// which pg_trgm extracts no trigram (likeTrigrams: "n1", "%%%"), where the
// GIN index would read all of itself, "strpos($col, v) > 0", a plain scan. A joined
// column holds several values separated by newlines, which no value
// holds, so a v holding a newline matches nothing ("false") rather than
// across two values. EInvalid naming field when v is longer than 256 bytes.
func fuzzyMatch(field, v string, joined bool, arg func(any) string) (string, error) {
	pat, err := fuzzyArg(field, v)
	if err != nil {
		return "", err
	}
	if joined && strings.ContainsRune(v, '\n') {
		return "false", nil
	}
	if !likeTrigrams(strings.ToLower(v)) {
		return "strpos($col, " + arg(strings.ToLower(v)) + ") > 0", nil
	}
	return "$col LIKE " + arg(pat), nil
}

// likeTrigrams reports whether pg_trgm extracts a trigram from the
// pattern '%v%': it splits v into words (runs of letters and digits) and
// pads a word with two blanks before it when a literal character precedes
// it and one after it when one follows, keeping the trigrams of padded
// words of three characters or more. Without one, the GIN index reads all
// of itself (256 "%" characters cost 100-180 ms that way), while strpos
// over every row costs one plain scan.
func likeTrigrams(v string) bool {
	runes := []rune(v)
	for i := 0; i < len(runes); {
		if !isWordRune(runes[i]) {
			i++
			continue
		}
		j := i
		for j < len(runes) && isWordRune(runes[j]) {
			j++
		}
		n := j - i
		if i > 0 {
			n += 2
		}
		if j < len(runes) {
			n++
		}
		if n >= 3 {
			return true
		}
		i = j
	}
	return false
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// flag returns the condition "has a method whose verified flag is v" on
// the two columns that record whether a user has a verified and an
// unverified one.
func flag(v bool, verified, unverified string) string {
	if v {
		return verified
	}
	return unverified
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

// readCountAndPage reads what a search queued: its total count into total,
// then one page of rows, each scanned with scan (never nil).
func readCountAndPage[T any](br pgx.BatchResults, total *int, scan func(pgx.Row) (T, error)) ([]T, error) {
	if err := br.QueryRow().Scan(total); err != nil {
		return nil, err
	}
	rows, err := br.Query()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	items := []T{}
	for rows.Next() {
		it, err := scan(rows)
		if err != nil {
			return nil, err
		}
		items = append(items, it)
	}
	return items, rows.Err()
}

// readTotalAndPage reads the one statement of a search that returns its
// page with, on every row, the total count and whether the row follows the
// cursor (oneScan): the rows that do not are dropped, and no row means no
// match.
func readTotalAndPage[T any](br pgx.BatchResults, total *int, scan func(pgx.Row) (T, error)) ([]T, error) {
	rows, err := br.Query()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	*total = 0
	items := []T{}
	for rows.Next() {
		var after bool
		it, err := scan(extraColumns{rows, []any{total, &after}})
		if err != nil {
			return nil, err
		}
		if after {
			items = append(items, it)
		}
	}
	return items, rows.Err()
}

// extraColumns is a row whose Scan also scans the columns that follow
// the caller's into extra.
type extraColumns struct {
	pgx.Row
	extra []any
}

func (r extraColumns) Scan(dest ...any) error {
	return r.Row.Scan(append(dest, r.extra...)...)
}

// trimPage cuts a page fetched with LIMIT limit+1 to limit items and
// returns the cursor after the last one kept, or "" when there is no next
// page. key gives an item's (created_at, id), the search order.
func trimPage[T any](items []T, limit int, key func(T) (time.Time, string)) ([]T, string) {
	if len(items) <= limit {
		return items, ""
	}
	items = items[:limit]
	return items, encodeCursor(key(items[limit-1]))
}
