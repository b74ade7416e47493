package stytch

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/sesame-auth/sesame/internal/auth"
)

func TestSearchBoundsRefuseHostileFiltersNamingThem(t *testing.T) {
	long := strings.Repeat("a", MaxSearchValueBytes+1)
	many := make([]string, MaxSearchListValues+1)
	for i := range many {
		many[i] = fmt.Sprint(i)
	}
	manyJSON, _ := json.Marshal(many)
	ops := func(n int) string {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = fmt.Sprintf(`{"filter_name":"f%d","filter_value":"x"}`, i)
		}
		return `{"query":{"operator":"OR","operands":[` + strings.Join(parts, ",") + `]}}`
	}
	one := func(name, value string) string {
		return `{"query":{"operands":[{"filter_name":"` + name + `","filter_value":` + value + `}]}}`
	}
	tests := []struct {
		name, kind, body, field string
	}{
		{"too many user operands", "users", ops(MaxSearchOperands + 1), "query.operands"},
		{"long user fuzzy value", "users", one("email_address_fuzzy", `"`+long+`"`), "email_address_fuzzy"},
		{"too many user ids", "users", one("user_id", string(manyJSON)), "user_id"},
		{"long user id", "users", one("user_id", `["`+long+`"]`), "user_id"},
		{"too many organization operands", "orgs", ops(MaxSearchOperands + 1), "query.operands"},
		{"long organization fuzzy value", "orgs", one("organization_name_fuzzy", `"`+long+`"`), "organization_name_fuzzy"},
		{"too many member emails", "members", one("member_emails", string(manyJSON)), "member_emails"},
		{"long member fuzzy value", "members", one("member_email_fuzzy", `"`+long+`"`), "member_email_fuzzy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var req searchRequest
			if err := json.Unmarshal([]byte(tt.body), &req); err != nil {
				t.Fatal(err)
			}
			var err error
			switch tt.kind {
			case "users":
				_, _, err = buildUserQuery(&req)
			case "orgs":
				_, _, err = buildOrganizationQuery(&req)
			case "members":
				_, _, err = buildMemberQuery(&memberSearchRequest{searchRequest: req, OrganizationIDs: []string{"organization-test-1"}})
			}
			var ae *auth.Error
			if !errors.As(err, &ae) || ae.Field != tt.field {
				t.Fatalf("err = %v, want a refusal naming %q", err, tt.field)
			}
		})
	}
}
