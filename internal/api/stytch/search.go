package stytch

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/sesame-auth/sesame/internal/api/httpx"
	"github.com/sesame-auth/sesame/internal/auth"
)

type searchRequest struct {
	Cursor string `json:"cursor"`
	Limit  int    `json:"limit"`
	Query  *struct {
		Operator string `json:"operator"`
		Operands []struct {
			FilterName  string          `json:"filter_name"`
			FilterValue json.RawMessage `json:"filter_value"`
		} `json:"operands"`
	} `json:"query"`
}

type searchResponse struct {
	meta
	Results         []userJSON `json:"results"`
	ResultsMetadata struct {
		Total      int     `json:"total"`
		NextCursor *string `json:"next_cursor"`
	} `json:"results_metadata"`
}

// POST /v1/users/search
//
// totp_id matches users with any of the TOTP registrations named;
// totp_verified, like email_verified, users with a registration whose
// verified flag is the value. Filters on factors Sesame does not have (oauth_provider,
// webauthn_registration_id, crypto_wallet_id, crypto_wallet_address and
// the webauthn/crypto wallet *_verified flags) match no user, and password_exists matches every user when false and none when
// true: exactly what Stytch answers for a project where no user has such a
// factor. Each filter may appear once; an unknown filter_name, a value of
// the wrong type, or created_at_between under OR with other filters is a
// 400 invalid_search_filter naming the filter.
func (h *handler) searchUsers(r *http.Request, p *auth.Project) (response, error) {
	var req searchRequest
	if err := httpx.DecodeJSON(r, &req); err != nil {
		return nil, err
	}
	q, empty, err := buildUserQuery(&req)
	if err != nil {
		return nil, err
	}
	resp := &searchResponse{Results: []userJSON{}}
	if empty {
		return resp, nil
	}
	page, err := h.svc.SearchUsers(r.Context(), p, q)
	if err != nil {
		return nil, err
	}
	for _, u := range page.Users {
		resp.Results = append(resp.Results, newUserJSON(u))
	}
	resp.ResultsMetadata.Total = page.Total
	if page.NextCursor != "" {
		resp.ResultsMetadata.NextCursor = &page.NextCursor
	}
	return resp, nil
}

// operand outcomes.
type match int

const (
	matchSome match = iota // the operand filters
	matchNone              // no user can match it
	matchAll               // every user matches it
)

// Search bounds (README, "Input limits and email policy"): a query holds
// at most MaxSearchOperands operands, a list filter at most
// MaxSearchListValues values of at most MaxSearchValueBytes bytes each, and
// a fuzzy filter at most MaxSearchValueBytes bytes.
const (
	MaxSearchOperands   = 32
	MaxSearchListValues = 1000
	MaxSearchValueBytes = 256
)

// checkOperandCount refuses a query with more than MaxSearchOperands
// operands before any is decoded.
func checkOperandCount(n int) error {
	if n > MaxSearchOperands {
		return auth.Invalid("query.operands", "query.operands must hold at most %d operands.", MaxSearchOperands)
	}
	return nil
}

// checkListValues bounds a list filter's values.
func checkListValues(name string, vs []string) error {
	if len(vs) > MaxSearchListValues {
		return filterError(name, "filter_value must hold at most %d values", MaxSearchListValues)
	}
	for _, v := range vs {
		if len(v) > MaxSearchValueBytes {
			return filterError(name, "each value must be at most %d bytes", MaxSearchValueBytes)
		}
	}
	return nil
}

// checkFuzzyValue bounds a fuzzy filter's value.
func checkFuzzyValue(name, v string) error {
	if len(v) > MaxSearchValueBytes {
		return filterError(name, "filter_value must be at most %d bytes", MaxSearchValueBytes)
	}
	return nil
}

func filterError(name, format string, args ...any) error {
	return &auth.Error{Code: codeInvalidSearchFilter, Field: name, Message: "filter " + name + ": " + fmt.Sprintf(format, args...)}
}

// buildUserQuery translates a Stytch search query. empty reports that no
// user can match, so the store need not be asked.
func buildUserQuery(req *searchRequest) (q auth.UserQuery, empty bool, err error) {
	q = auth.UserQuery{Cursor: req.Cursor, Limit: req.Limit}
	if req.Query == nil || len(req.Query.Operands) == 0 {
		return q, false, nil
	}
	var or bool
	switch strings.ToUpper(req.Query.Operator) {
	case "", "AND":
	case "OR":
		or = true
	default:
		return q, false, auth.Invalid("operator", "query.operator must be AND or OR.")
	}
	if err := checkOperandCount(len(req.Query.Operands)); err != nil {
		return q, false, err
	}
	used := map[string]bool{}
	some, all, none, between := 0, false, false, false
	for _, op := range req.Query.Operands {
		if used[op.FilterName] {
			return q, false, filterError(op.FilterName, "may appear only once")
		}
		used[op.FilterName] = true
		if op.FilterName == "created_at_between" {
			between = true
		}
		m, err := applyFilter(&q, op.FilterName, op.FilterValue, used)
		if err != nil {
			return q, false, err
		}
		switch m {
		case matchSome:
			some++
		case matchNone:
			none = true
		case matchAll:
			all = true
		}
	}
	if !or {
		return q, none, nil
	}
	switch {
	case all:
		return auth.UserQuery{Cursor: req.Cursor, Limit: req.Limit}, false, nil
	case some == 0:
		return q, true, nil
	case between && some > 1:
		return q, false, filterError("created_at_between", "cannot be combined with other filters under OR")
	}
	q.Or = some > 1
	return q, false, nil
}

// applyFilter sets one filter on q and reports how it matches. used
// records the created_at bounds so they are not set twice.
func applyFilter(q *auth.UserQuery, name string, raw json.RawMessage, used map[string]bool) (match, error) {
	var (
		str  string
		strs []string
		b    bool
	)
	decode := func(v any, want string) error {
		if absent(raw) || json.Unmarshal(raw, v) != nil {
			return filterError(name, "filter_value must be %s", want)
		}
		return nil
	}
	list := func(dst *[]string) (match, error) {
		if err := decode(&strs, "an array of strings"); err != nil {
			return 0, err
		}
		if err := checkListValues(name, strs); err != nil {
			return 0, err
		}
		if len(strs) == 0 {
			return matchNone, nil
		}
		*dst = strs
		return matchSome, nil
	}
	fuzzy := func(dst *string) (match, error) {
		if err := decode(&str, "a string"); err != nil {
			return 0, err
		}
		if err := checkFuzzyValue(name, str); err != nil {
			return 0, err
		}
		if str == "" {
			return matchAll, nil
		}
		*dst = str
		return matchSome, nil
	}
	flag := func(dst **bool) (match, error) {
		if err := decode(&b, "a boolean"); err != nil {
			return 0, err
		}
		*dst = &b
		return matchSome, nil
	}
	bound := func(slot string, s string, dst **time.Time) error {
		if used[slot] {
			return filterError(name, "repeats a created_at bound")
		}
		used[slot] = true
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return filterError(name, "%q is not an RFC 3339 timestamp", s)
		}
		*dst = &t
		return nil
	}

	switch name {
	case "created_at_greater_than", "created_at_less_than":
		if err := decode(&str, "an RFC 3339 timestamp string"); err != nil {
			return 0, err
		}
		dst, slot := &q.CreatedAfter, "after"
		if name == "created_at_less_than" {
			dst, slot = &q.CreatedBefore, "before"
		}
		return matchSome, bound(slot, str, dst)
	case "created_at_between":
		var v struct {
			GreaterThan string `json:"greater_than"`
			LessThan    string `json:"less_than"`
		}
		if err := decode(&v, "an object {greater_than, less_than}"); err != nil {
			return 0, err
		}
		if v.GreaterThan == "" && v.LessThan == "" {
			return 0, filterError(name, "needs greater_than or less_than")
		}
		if v.GreaterThan != "" {
			if err := bound("after", v.GreaterThan, &q.CreatedAfter); err != nil {
				return 0, err
			}
		}
		if v.LessThan != "" {
			if err := bound("before", v.LessThan, &q.CreatedBefore); err != nil {
				return 0, err
			}
		}
		return matchSome, nil
	case "status":
		if err := decode(&str, "a string"); err != nil {
			return 0, err
		}
		if str != string(auth.UserActive) && str != string(auth.UserPending) {
			return 0, filterError(name, "must be active or pending")
		}
		q.Status = auth.UserStatus(str)
		return matchSome, nil
	case "user_id":
		return list(&q.UserIDs)
	case "email_address":
		return list(&q.EmailAddresses)
	case "email_id":
		return list(&q.EmailIDs)
	case "phone_number":
		return list(&q.PhoneNumbers)
	case "phone_id":
		return list(&q.PhoneIDs)
	case "full_name_fuzzy":
		return fuzzy(&q.FullNameFuzzy)
	case "email_address_fuzzy":
		return fuzzy(&q.EmailFuzzy)
	case "phone_number_fuzzy":
		return fuzzy(&q.PhoneFuzzy)
	case "email_verified":
		return flag(&q.EmailVerified)
	case "phone_verified":
		return flag(&q.PhoneVerified)
	case "totp_id":
		return list(&q.TOTPIDs)
	case "totp_verified":
		return flag(&q.TOTPVerified)

	// Factors Sesame does not have: no user has one.
	case "oauth_provider":
		if err := decode(&str, "a string"); err != nil {
			return 0, err
		}
		return matchNone, nil
	case "webauthn_registration_id", "crypto_wallet_id", "crypto_wallet_address":
		if err := decode(&strs, "an array of strings"); err != nil {
			return 0, err
		}
		return matchNone, nil
	case "webauthn_registration_verified", "crypto_wallet_verified":
		if err := decode(&b, "a boolean"); err != nil {
			return 0, err
		}
		return matchNone, nil
	case "password_exists":
		if err := decode(&b, "a boolean"); err != nil {
			return 0, err
		}
		if b {
			return matchNone, nil
		}
		return matchAll, nil
	}
	return 0, filterError(name, "unknown filter_name")
}
