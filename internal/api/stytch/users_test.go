package stytch_test

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestUserLifecycleReturnsStytchShapes(t *testing.T) {
	f := newFixture(t)
	c := f.c
	email, phone := uniqueEmail("Jane"), uniquePhone()

	created := c.ok("POST", "/v1/users", obj{
		"email": email, "phone_number": phone,
		"name":             obj{"first_name": "Jane", "last_name": "Doe"},
		"trusted_metadata": obj{"plan": "pro"},
		"external_id":      "ext-1",
		"roles":            []string{"stytch_user"},
	})
	userID := str(created, "user_id")
	if created["status"] != "active" || str(created, "email_id") == "" || str(created, "phone_id") == "" {
		t.Fatalf("create: %v", created)
	}
	u := sub(created, "user")
	checkUser(t, u)
	if em := checkArray(t, u, "emails")[0].(obj); em["email"] != strings.ToLower(email) || em["verified"] != false || em["email_id"] != created["email_id"] {
		t.Errorf("emails[0] = %v", em)
	}
	if sub(u, "trusted_metadata")["plan"] != "pro" || len(sub(u, "untrusted_metadata")) != 0 {
		t.Errorf("metadata: %v / %v", u["trusted_metadata"], u["untrusted_metadata"])
	}

	t.Run("get is flattened", func(t *testing.T) {
		got := c.ok("GET", "/v1/users/"+userID, nil)
		checkUser(t, got)
		if _, wrapped := got["user"]; wrapped {
			t.Errorf("get has a user wrapper: %v", got)
		}
		if got["user_id"] != userID || sub(got, "name")["first_name"] != "Jane" || got["external_id"] != "ext-1" {
			t.Errorf("get: %v", got)
		}
	})

	t.Run("update replaces the name and metadata", func(t *testing.T) {
		upd := c.ok("PUT", "/v1/users/"+userID, obj{
			"name":               obj{"first_name": "Janet"},
			"untrusted_metadata": obj{"theme": "dark"},
		})
		checkArray(t, upd, "emails")
		checkArray(t, upd, "phone_numbers")
		checkArray(t, upd, "crypto_wallets")
		uu := sub(upd, "user")
		checkUser(t, uu)
		if sub(uu, "name")["first_name"] != "Janet" || sub(uu, "name")["last_name"] != "" ||
			sub(uu, "untrusted_metadata")["theme"] != "dark" || sub(uu, "trusted_metadata")["plan"] != "pro" {
			t.Errorf("update: %v", uu)
		}
	})

	t.Run("update rejects unknown roles and bad metadata", func(t *testing.T) {
		c.fail("PUT", "/v1/users/"+userID, obj{"roles": []string{"admin"}}, 400, "bad_request")
		c.fail("PUT", "/v1/users/"+userID, obj{"trusted_metadata": []int{1}}, 400, "bad_request")
	})

	t.Run("delete phone then email", func(t *testing.T) {
		m := c.ok("DELETE", "/v1/users/phone_numbers/"+str(created, "phone_id"), nil)
		if m["user_id"] != userID || len(checkArray(t, sub(m, "user"), "phone_numbers")) != 0 {
			t.Errorf("delete phone: %v", m)
		}
		c.fail("DELETE", "/v1/users/phone_numbers/"+str(created, "phone_id"), nil, 404, "phone_number_not_found")
		m = c.ok("DELETE", "/v1/users/emails/"+str(created, "email_id"), nil)
		if len(checkArray(t, sub(m, "user"), "emails")) != 0 {
			t.Errorf("delete email: %v", m)
		}
		c.fail("DELETE", "/v1/users/emails/"+str(created, "email_id"), nil, 404, "email_not_found")
	})

	t.Run("delete user", func(t *testing.T) {
		if m := c.ok("DELETE", "/v1/users/"+userID, nil); m["user_id"] != userID {
			t.Errorf("delete: %v", m)
		}
		c.fail("GET", "/v1/users/"+userID, nil, 404, "user_not_found")
		c.fail("DELETE", "/v1/users/"+userID, nil, 404, "user_not_found")
	})
}

func TestCreateUserErrors(t *testing.T) {
	f := newFixture(t)
	email, phone := uniqueEmail("dup"), uniquePhone()
	f.c.ok("POST", "/v1/users", obj{"email": email, "phone_number": phone})
	for _, tc := range []struct {
		name      string
		body      obj
		status    int
		errorType string
	}{
		{"duplicate email", obj{"email": email}, 400, "duplicate_email"},
		{"duplicate email other case", obj{"email": strings.ToUpper(email)}, 400, "duplicate_email"},
		{"duplicate phone", obj{"phone_number": phone}, 400, "duplicate_phone_number"},
		{"invalid phone", obj{"phone_number": "12345"}, 400, "invalid_phone_number"},
		{"invalid email", obj{"email": "not-an-email"}, 400, "invalid_email"},
		{"neither email nor phone", obj{"name": obj{"first_name": "A"}}, 400, "bad_request"},
		{"unknown role", obj{"email": uniqueEmail("r"), "roles": []string{"admin"}}, 400, "bad_request"},
		{"metadata not an object", obj{"email": uniqueEmail("m"), "trusted_metadata": "x"}, 400, "bad_request"},
	} {
		t.Run(tc.name, func(t *testing.T) { f.c.fail("POST", "/v1/users", tc.body, tc.status, tc.errorType) })
	}
}

func TestCreatePendingUser(t *testing.T) {
	f := newFixture(t)
	m := f.c.ok("POST", "/v1/users", obj{"email": uniqueEmail("p"), "create_user_as_pending": true})
	if m["status"] != "pending" || sub(m, "user")["status"] != "pending" || m["phone_id"] != "" {
		t.Errorf("pending create: %v", m)
	}
}

func TestUserSearchFiltersAndPaginates(t *testing.T) {
	f := newFixture(t)
	c := f.c
	var ids []string
	var emails []string
	for i := 0; i < 5; i++ {
		e := uniqueEmail(fmt.Sprintf("search%d", i))
		body := obj{"email": e, "name": obj{"first_name": fmt.Sprintf("Zed%d", i)}}
		if i%2 == 0 {
			body["phone_number"] = uniquePhone()
		}
		if i == 4 {
			body["create_user_as_pending"] = true
		}
		ids = append(ids, str(c.ok("POST", "/v1/users", body), "user_id"))
		emails = append(emails, e)
	}
	search := func(q obj) obj {
		t.Helper()
		return c.ok("POST", "/v1/users/search", q)
	}
	count := func(m obj) int {
		t.Helper()
		res := checkArray(t, m, "results")
		for _, r := range res {
			checkUser(t, r.(obj))
		}
		if total, _ := sub(m, "results_metadata")["total"].(float64); int(total) != len(res) && sub(m, "results_metadata")["next_cursor"] == nil {
			t.Errorf("total %v with %d results and no next page", total, len(res))
		}
		return len(res)
	}
	one := func(name string, value any) obj {
		return obj{"query": obj{"operator": "AND", "operands": []obj{{"filter_name": name, "filter_value": value}}}}
	}
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	past := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)

	for _, tc := range []struct {
		name string
		q    obj
		want int
	}{
		{"no query returns everyone", obj{}, 5},
		{"user_id", one("user_id", []string{ids[0], ids[1]}), 2},
		{"empty user_id list matches nobody", one("user_id", []string{}), 0},
		{"email_address", one("email_address", []string{emails[3]}), 1},
		{"email_address_fuzzy", one("email_address_fuzzy", "search2"), 1},
		{"full_name_fuzzy", one("full_name_fuzzy", "Zed"), 5},
		{"status pending", one("status", "pending"), 1},
		{"phone_verified false", one("phone_verified", false), 3},
		{"created_at_greater_than past", one("created_at_greater_than", past), 5},
		{"created_at_greater_than future", one("created_at_greater_than", future), 0},
		{"created_at_between", one("created_at_between", obj{"greater_than": past, "less_than": future}), 5},
		{"oauth_provider matches nobody", one("oauth_provider", "google"), 0},
		{"totp_id matches nobody", one("totp_id", []string{"totp-test-1"}), 0},
		{"password_exists false matches everyone", one("password_exists", false), 5},
		{"password_exists true matches nobody", one("password_exists", true), 0},
		{"AND with a factor filter is empty", obj{"query": obj{"operator": "AND", "operands": []obj{
			{"filter_name": "user_id", "filter_value": []string{ids[0]}},
			{"filter_name": "webauthn_registration_verified", "filter_value": true}}}}, 0},
		{"OR ignores a factor filter", obj{"query": obj{"operator": "OR", "operands": []obj{
			{"filter_name": "user_id", "filter_value": []string{ids[0]}},
			{"filter_name": "crypto_wallet_id", "filter_value": []string{"x"}}}}}, 1},
		{"OR of two ids", obj{"query": obj{"operator": "OR", "operands": []obj{
			{"filter_name": "user_id", "filter_value": []string{ids[0]}},
			{"filter_name": "email_id", "filter_value": []string{"email-test-00000000-0000-0000-0000-000000000000"}},
			{"filter_name": "email_address", "filter_value": []string{emails[1]}}}}}, 2},
		{"OR with password_exists false is everyone", obj{"query": obj{"operator": "OR", "operands": []obj{
			{"filter_name": "user_id", "filter_value": []string{ids[0]}},
			{"filter_name": "password_exists", "filter_value": false}}}}, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := count(search(tc.q)); got != tc.want {
				t.Errorf("got %d results, want %d", got, tc.want)
			}
		})
	}

	t.Run("cursor pagination ends with a null next_cursor", func(t *testing.T) {
		seen := map[string]bool{}
		cursor := any(nil)
		for page := 0; ; page++ {
			if page > 10 {
				t.Fatal("pagination does not end")
			}
			m := search(obj{"limit": 2, "cursor": cursor})
			for _, r := range checkArray(t, m, "results") {
				id := str(r.(obj), "user_id")
				if seen[id] {
					t.Errorf("user %s returned twice", id)
				}
				seen[id] = true
			}
			meta := sub(m, "results_metadata")
			if total, _ := meta["total"].(float64); total != 5 {
				t.Errorf("total = %v, want 5", meta["total"])
			}
			nc, present := meta["next_cursor"]
			if !present {
				t.Fatal("results_metadata.next_cursor is missing")
			}
			if nc == nil {
				break
			}
			cursor = nc
		}
		if len(seen) != 5 {
			t.Errorf("paged through %d users, want 5", len(seen))
		}
	})

	t.Run("bad filters name the filter", func(t *testing.T) {
		for _, q := range []obj{
			one("no_such_filter", "x"),
			one("user_id", "not-an-array"),
			one("created_at_greater_than", "yesterday"),
			one("status", "deleted"),
			one("email_verified", nil),
			{"query": obj{"operator": "AND", "operands": []obj{
				{"filter_name": "status", "filter_value": "active"}, {"filter_name": "status", "filter_value": "pending"}}}},
			{"query": obj{"operator": "OR", "operands": []obj{
				{"filter_name": "created_at_between", "filter_value": obj{"greater_than": past}},
				{"filter_name": "status", "filter_value": "active"}}}},
		} {
			m := c.fail("POST", "/v1/users/search", q, 400, "invalid_search_filter")
			if msg := str(m, "error_message"); len(msg) < 8 || msg[:7] != "filter " {
				t.Errorf("message does not name the filter: %q", msg)
			}
		}
		c.fail("POST", "/v1/users/search", obj{"query": obj{"operator": "XOR", "operands": []obj{{"filter_name": "status", "filter_value": "active"}}}}, 400, "bad_request")
		c.fail("POST", "/v1/users/search", obj{"limit": 5000}, 400, "bad_request")
	})
}
