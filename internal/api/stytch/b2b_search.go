package stytch

import (
	"encoding/json"
	"slices"
	"strings"

	"github.com/sesame-auth/sesame/internal/auth"
)

// B2B search queries (§C.2, §C.3) have the consumer search's shape:
// {operator: AND|OR, operands: [{filter_name, filter_value}]}, and the same
// rules: each filter once, an unknown filter_name or a value of the wrong
// type is a 400 invalid_search_filter naming the filter, an empty list
// matches nothing and an empty fuzzy string everything.

// operandFunc applies one operand to a query and reports how it matches.
type operandFunc func(name string, raw json.RawMessage) (match, error)

// walkOperands applies every operand of req once and says how they
// combine: or (several filtering operands under OR), empty (nothing can
// match: the store need not be asked) and reset (an OR operand matches
// everything, so the query must not filter at all).
func walkOperands(req *searchRequest, apply operandFunc) (or, empty, reset bool, err error) {
	if req.Query == nil || len(req.Query.Operands) == 0 {
		return false, false, false, nil
	}
	var isOr bool
	switch strings.ToUpper(req.Query.Operator) {
	case "", "AND":
	case "OR":
		isOr = true
	default:
		return false, false, false, auth.Invalid("operator", "query.operator must be AND or OR.")
	}
	if err := checkOperandCount(len(req.Query.Operands)); err != nil {
		return false, false, false, err
	}
	used := map[string]bool{}
	some, all, none := 0, false, false
	for _, op := range req.Query.Operands {
		slot := filterSlot(op.FilterName)
		if used[slot] {
			return false, false, false, filterError(op.FilterName, "may appear only once")
		}
		used[slot] = true
		m, err := apply(op.FilterName, op.FilterValue)
		if err != nil {
			return false, false, false, err
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
	if !isOr {
		return false, none, false, nil
	}
	switch {
	case all:
		return false, false, true, nil
	case some == 0:
		return false, true, false, nil
	}
	return some > 1, false, false, nil
}

// filterSlot names the query field a filter sets, so that two names of the
// same filter cannot both be given.
func filterSlot(name string) string {
	switch name {
	case "member_mfa_phone_numbers":
		return "member_phone_numbers"
	case "member_mfa_phone_number_fuzzy":
		return "member_phone_number_fuzzy"
	}
	return name
}

// filterDecoders decode one operand's value as a list, a fuzzy string or
// a flag, with the consumer search's outcomes.
type filterDecoders struct {
	name string
	raw  json.RawMessage
}

func (d filterDecoders) decode(v any, want string) error {
	if absent(d.raw) || json.Unmarshal(d.raw, v) != nil {
		return filterError(d.name, "filter_value must be %s", want)
	}
	return nil
}

// list sets dst to a non-empty list; an empty one matches nothing.
func (d filterDecoders) list(dst *[]string) (match, error) {
	var v []string
	if err := d.decode(&v, "an array of strings"); err != nil {
		return 0, err
	}
	if err := checkListValues(d.name, v); err != nil {
		return 0, err
	}
	if len(v) == 0 {
		return matchNone, nil
	}
	*dst = v
	return matchSome, nil
}

// fuzzy sets dst to a non-empty string; "" matches everything.
func (d filterDecoders) fuzzy(dst *string) (match, error) {
	var v string
	if err := d.decode(&v, "a string"); err != nil {
		return 0, err
	}
	if err := checkFuzzyValue(d.name, v); err != nil {
		return 0, err
	}
	if v == "" {
		return matchAll, nil
	}
	*dst = v
	return matchSome, nil
}

func (d filterDecoders) flag(dst **bool) (match, error) {
	var v bool
	if err := d.decode(&v, "a boolean"); err != nil {
		return 0, err
	}
	*dst = &v
	return matchSome, nil
}

// buildOrganizationQuery translates an organization search. empty reports
// that no organization can match.
//
// Sesame has no SSO connections: sso_connection_id matches no
// organization, and has_active_sso_connection matches none when true and
// all when false.
func buildOrganizationQuery(req *searchRequest) (q auth.OrganizationQuery, empty bool, err error) {
	q = auth.OrganizationQuery{Cursor: req.Cursor, Limit: req.Limit}
	or, empty, reset, err := walkOperands(req, func(name string, raw json.RawMessage) (match, error) {
		d := filterDecoders{name: name, raw: raw}
		switch name {
		case "organization_ids":
			return d.list(&q.OrganizationIDs)
		case "organization_slugs":
			return d.list(&q.OrganizationSlugs)
		case "member_emails":
			return d.list(&q.MemberEmails)
		case "allowed_domains":
			return d.list(&q.AllowedDomains)
		case "claimed_email_domains":
			return d.list(&q.ClaimedEmailDomains)
		case "organization_name_fuzzy":
			return d.fuzzy(&q.OrganizationNameFuzzy)
		case "organization_slug_fuzzy":
			return d.fuzzy(&q.OrganizationSlugFuzzy)
		case "member_email_fuzzy":
			return d.fuzzy(&q.MemberEmailFuzzy)
		case "allowed_domain_fuzzy":
			return d.fuzzy(&q.AllowedDomainFuzzy)
		case "sso_connection_id":
			var s string
			if err := d.decode(&s, "a string"); err != nil {
				return 0, err
			}
			return matchNone, nil
		case "has_active_sso_connection":
			var b bool
			if err := d.decode(&b, "a boolean"); err != nil {
				return 0, err
			}
			if b {
				return matchNone, nil
			}
			return matchAll, nil
		}
		return 0, filterError(name, "unknown filter_name")
	})
	if err != nil || empty {
		return q, empty, err
	}
	if reset {
		return auth.OrganizationQuery{Cursor: req.Cursor, Limit: req.Limit}, false, nil
	}
	q.Or = or
	return q, false, nil
}

// memberSearchRequest is the member search body: the consumer search's
// fields and the organizations to search in.
type memberSearchRequest struct {
	searchRequest
	OrganizationIDs []string `json:"organization_ids"`
}

// memberStatuses are the values the statuses filter accepts.
var memberStatuses = []auth.MemberStatus{auth.MemberActive, auth.MemberPending, auth.MemberInvited, auth.MemberDeleted}

// buildMemberQuery translates a member search within req.OrganizationIDs.
// empty reports that no member can match. The MFA phone filters answer to
// the SDK's names (member_phone_numbers, member_phone_number_fuzzy) and
// to Stytch's API names (member_mfa_phone_numbers,
// member_mfa_phone_number_fuzzy); a member has no other phone.
func buildMemberQuery(req *memberSearchRequest) (q auth.MemberQuery, empty bool, err error) {
	if len(req.OrganizationIDs) == 0 {
		return q, false, auth.Invalid("organization_ids", "organization_ids must name at least one organization.")
	}
	if len(req.OrganizationIDs) > MaxSearchListValues {
		return q, false, auth.Invalid("organization_ids", "organization_ids must name at most %d organizations.", MaxSearchListValues)
	}
	base := auth.MemberQuery{OrganizationIDs: req.OrganizationIDs, Cursor: req.Cursor, Limit: req.Limit}
	q = base
	or, empty, reset, err := walkOperands(&req.searchRequest, func(name string, raw json.RawMessage) (match, error) {
		d := filterDecoders{name: name, raw: raw}
		switch name {
		case "member_ids":
			return d.list(&q.MemberIDs)
		case "member_emails":
			return d.list(&q.MemberEmails)
		case "member_phone_numbers", "member_mfa_phone_numbers":
			return d.list(&q.MemberPhoneNumbers)
		case "member_email_fuzzy":
			return d.fuzzy(&q.MemberEmailFuzzy)
		case "member_phone_number_fuzzy", "member_mfa_phone_number_fuzzy":
			return d.fuzzy(&q.MemberPhoneNumberFuzzy)
		case "member_is_breakglass":
			return d.flag(&q.MemberIsBreakglass)
		case "statuses":
			var ss []string
			m, err := d.list(&ss)
			if err != nil || m == matchNone {
				return m, err
			}
			for _, s := range ss {
				st := auth.MemberStatus(strings.ToLower(s))
				if !slices.Contains(memberStatuses, st) {
					return 0, filterError(name, "%q is not a member status (active, pending, invited or deleted)", truncateText(s, 64))
				}
				q.Statuses = append(q.Statuses, st)
			}
			return matchSome, nil
		}
		return 0, filterError(name, "unknown filter_name")
	})
	if err != nil || empty {
		return q, empty, err
	}
	if reset {
		return base, false, nil
	}
	q.Or = or
	return q, false, nil
}

// truncateText cuts s to at most n bytes for an error message, on a rune
// boundary.
func truncateText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}
