package streambird_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/sesame-auth/sesame/internal/api/streambird"
)

func TestCreateUser(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.createPhoneUser("+14155550001") // for the duplicate case
	f.createEmailUser("taken@example.com")

	tests := []struct {
		name   string
		body   string
		status int
		typ    string
		msgHas string
		check  func(t *testing.T, b map[string]any)
	}{
		{name: "phone creates an active user", body: `{"phone_number":"+14155550002"}`, status: 200,
			check: func(t *testing.T, b map[string]any) {
				str(t, b, "phone_number_id")
				if b["status"] != "active" || b["email_id"] != "" {
					t.Fatalf("body %v", b)
				}
				if _, has := b["user"]; has {
					t.Fatal("user returned without include_user")
				}
			}},
		{name: "email creates a user with an email_id", body: `{"email":"New@Example.com"}`, status: 200,
			check: func(t *testing.T, b map[string]any) { str(t, b, "email_id") }},
		{name: "include_user returns the user object", body: `{"email":"inc@example.com","first_name":"Ada","last_name":"L","include_user":true}`, status: 200,
			check: func(t *testing.T, b map[string]any) {
				u := obj(t, b, "user")
				if u["first_name"] != "Ada" || u["last_name"] != "L" || u["user_id"] != b["user_id"] {
					t.Fatalf("user %v", u)
				}
			}},
		{name: "requires_verification creates a pending user", body: `{"phone_number":"+14155550003","requires_verification":true}`, status: 200,
			check: func(t *testing.T, b map[string]any) {
				if b["status"] != "pending" {
					t.Fatalf("status %v", b["status"])
				}
			}},
		{name: "invalid phone is 400 invalid_phone_number", body: `{"phone_number":"12345"}`, status: 400, typ: "invalid_phone_number"},
		{name: "invalid email is 400 invalid_email", body: `{"email":"not-an-email"}`, status: 400, typ: "invalid_email"},
		{name: "neither email nor phone is 400", body: `{"first_name":"x"}`, status: 400, typ: "invalid_request", msgHas: "phone_number"},
		{name: "empty body is 400", body: ``, status: 400, typ: "invalid_request"},
		{name: "phone_number of wrong type is 400 naming it", body: `{"phone_number":14155550004}`, status: 400, typ: "invalid_request", msgHas: "phone_number"},
		{name: "requires_verification of wrong type is 400", body: `{"email":"a@example.com","requires_verification":"yes"}`, status: 400, typ: "invalid_request", msgHas: "requires_verification"},
		{name: "malformed JSON is 400", body: `{"email":`, status: 400, typ: "invalid_request"},
		{name: "trailing data is 400", body: `{"email":"b@example.com"} {}`, status: 400, typ: "invalid_request"},
		{name: "duplicate phone is 400 duplicate_phone_number", body: `{"phone_number":"+1 415 555 0001"}`, status: 400, typ: "duplicate_phone_number"},
		{name: "duplicate email is 400 duplicate_email", body: `{"email":"TAKEN@example.com"}`, status: 400, typ: "duplicate_email"},
		{name: "overlong name is 400 naming it", body: `{"email":"long@example.com","first_name":"` + strings.Repeat("a", 300) + `"}`, status: 400, typ: "invalid_request", msgHas: "first_name"},
		{name: "NUL in a name is 400, not 500", body: `{"email":"nul@example.com","first_name":"a\u0000b"}`, status: 400, typ: "invalid_request", msgHas: "first_name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := f.c.do("POST", "/v1/auth/users/create", tc.body)
			if tc.status == 200 {
				b := res.ok(t)
				str(t, b, "user_id")
				tc.check(t, b)
				return
			}
			res.fail(t, tc.status, tc.typ)
			if tc.msgHas != "" && !strings.Contains(res.Body["error_message"].(string), tc.msgHas) {
				t.Fatalf("error_message %q does not name %s", res.Body["error_message"], tc.msgHas)
			}
		})
	}
}

func TestGetUserReturnsTheStreambirdUserObject(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	b := f.c.do("POST", "/v1/auth/users/create", `{"email":"get@example.com","phone_number":"+14155550010","first_name":"G","middle_name":"M","last_name":"L"}`).ok(t)
	id := str(t, b, "user_id")

	u := f.c.do("GET", "/v1/auth/users/"+id, "").ok(t)
	if u["user_id"] != id || u["app_id"] == "" || u["first_name"] != "G" || u["middle_name"] != "M" || u["last_name"] != "L" ||
		u["status"] != "active" || u["active"] != true {
		t.Fatalf("user %v", u)
	}
	epochSeconds(t, u, "created_at")
	epochSeconds(t, u, "updated_at")
	e := arr(t, u, "emails")[0].(map[string]any)
	if e["id"] != b["email_id"] || e["email"] != "get@example.com" || e["verified"] != false {
		t.Fatalf("email %v", e)
	}
	epochSeconds(t, e, "created_at")
	p := arr(t, u, "phone_numbers")[0].(map[string]any)
	if p["id"] != b["phone_number_id"] || p["phone_number"] != "+14155550010" || p["verified"] != false {
		t.Fatalf("phone %v", p)
	}
	for _, k := range []string{"idp_providers", "wallets", "totps"} {
		if a := arr(t, u, k); len(a) != 0 {
			t.Fatalf("%s = %v, want []", k, a)
		}
	}

	t.Run("unknown user is 404", func(t *testing.T) {
		f.c.do("GET", "/v1/auth/users/user-test-00000000-0000-4000-8000-000000000000", "").fail(t, 404, "user_not_found")
	})
	t.Run("another project's secret gets 404", func(t *testing.T) {
		f.other().do("GET", "/v1/auth/users/"+id, "").fail(t, 404, "user_not_found")
	})
}

func TestUpdateUser(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.createEmailUser("held@example.com")
	f.createPhoneUser("+14155550020")

	tests := []struct {
		name, method, body string
		status             int
		typ                string
		check              func(t *testing.T, u map[string]any)
	}{
		{name: "names change and missing parts stay", method: "POST", body: `{"first_name":"New","last_name":""}`, status: 200,
			check: func(t *testing.T, u map[string]any) {
				if u["first_name"] != "New" || u["middle_name"] != "Mid" || u["last_name"] != "" {
					t.Fatalf("user %v", u)
				}
			}},
		{name: "PUT attaches an email", method: "PUT", body: `{"emails":[{"email":"added@example.com"}]}`, status: 200,
			check: func(t *testing.T, u map[string]any) {
				if n := len(arr(t, u, "emails")); n != 2 {
					t.Fatalf("%d emails, want 2", n)
				}
			}},
		{name: "attaching the user's own email again is a no-op", method: "POST", body: `{"emails":[{"email":"ADDED@example.com"}]}`, status: 200,
			check: func(t *testing.T, u map[string]any) {
				if n := len(arr(t, u, "emails")); n != 2 {
					t.Fatalf("%d emails, want 2", n)
				}
			}},
		{name: "array-of-pairs body is repaired", method: "POST", body: `{"phone_numbers": ["phone_number": "+14155550021", "phone_number": "+14155550022"]}`, status: 200,
			check: func(t *testing.T, u map[string]any) {
				if n := len(arr(t, u, "phone_numbers")); n != 2 {
					t.Fatalf("%d phone numbers, want 2: %v", n, u["phone_numbers"])
				}
			}},
		{name: "repaired email pairs with whitespace and escapes", method: "PUT", body: "{\n \"emails\" : [ \"email\" : \"q\\u0075ote@example.com\" ] }", status: 200,
			check: func(t *testing.T, u map[string]any) {
				found := false
				for _, e := range arr(t, u, "emails") {
					found = found || e.(map[string]any)["email"] == "quote@example.com"
				}
				if !found {
					t.Fatalf("emails %v", u["emails"])
				}
			}},
		{name: "email held by another user is 400 duplicate_email", method: "POST", body: `{"emails":[{"email":"held@example.com"}]}`, status: 400, typ: "duplicate_email"},
		{name: "phone held by another user is 400 duplicate_phone_number", method: "POST", body: `{"phone_numbers":[{"phone_number":"+14155550020"}]}`, status: 400, typ: "duplicate_phone_number"},
		{name: "invalid phone is 400 invalid_phone_number", method: "POST", body: `{"phone_numbers":[{"phone_number":"+1"}]}`, status: 400, typ: "invalid_phone_number"},
		{name: "missing email in an entry is 400", method: "POST", body: `{"emails":[{}]}`, status: 400, typ: "invalid_email"},
		{name: "wrong type is 400 naming the field", method: "POST", body: `{"emails":[{"email":5}]}`, status: 400, typ: "invalid_request"},
		{name: "repaired body with a wrong type is 400", method: "POST", body: `{"phone_numbers": ["phone_number": 5]}`, status: 400, typ: "invalid_request"},
		{name: "unrepairable JSON is 400", method: "POST", body: `{"phone_numbers": ["phone_number": }`, status: 400, typ: "invalid_request"},
		{name: "emails not an array is 400", method: "POST", body: `{"emails":"a@example.com"}`, status: 400, typ: "invalid_request"},
	}
	b := f.c.do("POST", "/v1/auth/users/create", `{"email":"upd@example.com","first_name":"Old","middle_name":"Mid","last_name":"Last"}`).ok(t)
	id := str(t, b, "user_id")
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := f.c.do(tc.method, "/v1/auth/users/"+id+"/update", tc.body)
			if tc.status != 200 {
				res.fail(t, tc.status, tc.typ)
				return
			}
			body := res.ok(t)
			u := obj(t, body, "user")
			if body["user_id"] != id || len(arr(t, body, "emails")) != len(arr(t, u, "emails")) ||
				len(arr(t, body, "phone_numbers")) != len(arr(t, u, "phone_numbers")) {
				t.Fatalf("body %v", body)
			}
			tc.check(t, u)
		})
	}

	t.Run("streambird-node's doubled path works", func(t *testing.T) {
		u := obj(t, f.c.do("PUT", "/v1/auth/users/auth/users/"+id+"/update", `{"middle_name":"SDK"}`).ok(t), "user")
		if u["middle_name"] != "SDK" {
			t.Fatalf("user %v", u)
		}
	})
	t.Run("unknown user is 404", func(t *testing.T) {
		f.c.do("POST", "/v1/auth/users/user-test-00000000-0000-4000-8000-000000000000/update", `{"first_name":"x"}`).fail(t, 404, "user_not_found")
	})
	t.Run("another project's secret gets 404 and changes nothing", func(t *testing.T) {
		f.other().do("POST", "/v1/auth/users/"+id+"/update", `{"first_name":"Hacked"}`).fail(t, 404, "user_not_found")
		if u := f.c.do("GET", "/v1/auth/users/"+id, "").ok(t); u["first_name"] == "Hacked" {
			t.Fatal("another project updated the user")
		}
	})
}

func TestRepairPairArrays(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
		changed        bool
	}{
		{"seed body", `{"phone_numbers": ["phone_number": "+1"]}`, `{"phone_numbers": [{"phone_number": "+1"}]}`, true},
		{"several pairs become several objects", `["a": 1, "b": [2]]`, `[{"a": 1},{ "b": [2]}]`, true},
		{"mixed elements keep non-pairs", `[{"a":1}, "b": 2]`, `[{"a":1},{ "b": 2}]`, true},
		{"nested arrays", `{"x": [["k": "v"]]}`, `{"x": [[{"k": "v"}]]}`, true},
		{"colons inside strings are not pairs", `["a:b", "c"]`, ``, false},
		{"brackets inside strings are ignored", `{"a": "[\"k\": 1]"`, ``, false},
		{"unbalanced input is left alone", `["k": "v"`, ``, false},
		{"valid JSON without pairs is unchanged", `{"a": [1, 2, {"b": 3}]}`, ``, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, changed := streambird.RepairPairArrays([]byte(tc.in))
			if changed != tc.changed || (changed && string(got) != tc.want) {
				t.Fatalf("repair(%s) = %s, %v; want %s, %v", tc.in, got, changed, tc.want, tc.changed)
			}
		})
	}
}

func TestDeleteUserAndMethods(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	other := f.other()
	b := f.c.do("POST", "/v1/auth/users/create", `{"email":"del@example.com","phone_number":"+14155550030"}`).ok(t)
	id, emailID, phoneID := str(t, b, "user_id"), str(t, b, "email_id"), str(t, b, "phone_number_id")

	t.Run("another project cannot delete the email", func(t *testing.T) {
		other.do("DELETE", "/v1/auth/users/emails/"+emailID+"/delete", "{}").fail(t, 404, "email_not_found")
	})
	t.Run("another project cannot delete the phone number", func(t *testing.T) {
		other.do("DELETE", "/v1/auth/users/phone_numbers/"+phoneID+"/delete", "{}").fail(t, 404, "phone_number_not_found")
	})
	t.Run("another project cannot delete the user", func(t *testing.T) {
		other.do("DELETE", "/v1/auth/users/"+id+"/delete", "{}").fail(t, 404, "user_not_found")
	})
	t.Run("email delete detaches it", func(t *testing.T) {
		d := f.c.do("DELETE", "/v1/auth/users/emails/"+emailID+"/delete", "{}").ok(t)
		if d["user_id"] != id || d["message"] == "" {
			t.Fatalf("body %v", d)
		}
		if n := len(arr(t, f.c.do("GET", "/v1/auth/users/"+id, "").ok(t), "emails")); n != 0 {
			t.Fatalf("%d emails left", n)
		}
		f.c.do("DELETE", "/v1/auth/users/emails/"+emailID+"/delete", "{}").fail(t, 404, "email_not_found")
	})
	t.Run("phone delete detaches it", func(t *testing.T) {
		d := f.c.do("DELETE", "/v1/auth/users/phone_numbers/"+phoneID+"/delete", "").ok(t)
		if d["user_id"] != id || d["message"] == "" {
			t.Fatalf("body %v", d)
		}
		f.c.do("DELETE", "/v1/auth/users/phone_numbers/"+phoneID+"/delete", "").fail(t, 404, "phone_number_not_found")
	})
	t.Run("user delete removes it", func(t *testing.T) {
		d := f.c.do("DELETE", "/v1/auth/users/"+id+"/delete", "{}").ok(t)
		if d["user_id"] != id || d["message"] != "Successfully deleted user" {
			t.Fatalf("body %v", d)
		}
		f.c.do("GET", "/v1/auth/users/"+id, "").fail(t, 404, "user_not_found")
		f.c.do("DELETE", "/v1/auth/users/"+id+"/delete", "{}").fail(t, 404, "user_not_found")
	})
}

func TestSearchUsers(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	a := f.c.do("POST", "/v1/auth/users/create", `{"email":"alice@example.com","phone_number":"+14155550040"}`).ok(t)
	bob := f.c.do("POST", "/v1/auth/users/create", `{"email":"bob@example.com","requires_verification":true}`).ok(t)
	f.c.do("POST", "/v1/auth/users/create", `{"email":"carol@example.com"}`).ok(t)
	aliceID, bobID := str(t, a, "user_id"), str(t, bob, "user_id")
	f.other().do("POST", "/v1/auth/users/create", `{"email":"alice2@example.com"}`).ok(t)

	ids := func(t *testing.T, b map[string]any) []string {
		var out []string
		for _, u := range arr(t, b, "users") {
			out = append(out, u.(map[string]any)["user_id"].(string))
		}
		return out
	}
	tests := []struct {
		name   string
		body   string
		want   []string // nil: only count
		count  int
		status int
		typ    string
	}{
		{name: "no filters lists the project's users only", body: `{}`, count: 3, status: 200},
		{name: "email equals", body: `{"filters":{"operator":"AND","fields":[{"field":"email","operator":"equals","value":"ALICE@example.com"}]}}`, want: []string{aliceID}, status: 200},
		{name: "phone_number equals", body: `{"filters":{"fields":[{"field":"phone_number","operator":"equals","value":"+1 415 555 0040"}]}}`, want: []string{aliceID}, status: 200},
		{name: "user_id equals", body: `{"filters":{"fields":[{"field":"user_id","operator":"equals","value":"` + bobID + `"}]}}`, want: []string{bobID}, status: 200},
		{name: "status pending", body: `{"filters":{"fields":[{"field":"status","operator":"equals","value":"pending"}]}}`, want: []string{bobID}, status: 200},
		{name: "OR of two fields", body: `{"filters":{"operator":"OR","fields":[{"field":"email","operator":"equals","value":"alice@example.com"},{"field":"status","operator":"equals","value":"pending"}]}}`, count: 2, status: 200},
		{name: "AND of two fields", body: `{"filters":{"operator":"AND","fields":[{"field":"email","operator":"equals","value":"bob@example.com"},{"field":"status","operator":"equals","value":"active"}]}}`, count: 0, status: 200},
		{name: "AND of contradictory values matches nothing", body: `{"filters":{"operator":"AND","fields":[{"field":"user_id","operator":"equals","value":"` + aliceID + `"},{"field":"user_id","operator":"equals","value":"` + bobID + `"}]}}`, count: 0, status: 200},
		{name: "value array means any of", body: `{"filters":{"fields":[{"field":"email","operator":"equals","value":["alice@example.com","bob@example.com"]}]}}`, count: 2, status: 200},
		{name: "unknown field is 400", body: `{"filters":{"fields":[{"field":"shoe_size","operator":"equals","value":"9"}]}}`, status: 400, typ: "invalid_request"},
		{name: "unknown operator is 400", body: `{"filters":{"fields":[{"field":"email","operator":"contains","value":"a"}]}}`, status: 400, typ: "invalid_request"},
		{name: "unknown combinator is 400", body: `{"filters":{"operator":"XOR","fields":[]}}`, status: 400, typ: "invalid_request"},
		{name: "bad status value is 400", body: `{"filters":{"fields":[{"field":"status","operator":"equals","value":"deleted"}]}}`, status: 400, typ: "invalid_request"},
		{name: "numeric value is 400", body: `{"filters":{"fields":[{"field":"user_id","operator":"equals","value":5}]}}`, status: 400, typ: "invalid_request"},
		{name: "limit out of range is 400", body: `{"limit":0}`, status: 400, typ: "invalid_request"},
		{name: "limit as string is 400", body: `{"limit":"10"}`, status: 400, typ: "invalid_request"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := f.c.do("POST", "/v1/auth/users/search", tc.body)
			if tc.status != 200 {
				res.fail(t, tc.status, tc.typ)
				return
			}
			b := res.ok(t)
			got := ids(t, b)
			if tc.want != nil && (len(got) != len(tc.want) || got[0] != tc.want[0]) {
				t.Fatalf("users %v, want %v", got, tc.want)
			}
			if tc.want == nil && len(got) != tc.count {
				t.Fatalf("%d users, want %d", len(got), tc.count)
			}
			if b["has_more"] != false {
				t.Fatalf("has_more %v", b["has_more"])
			}
		})
	}
	t.Run("limit pages with has_more", func(t *testing.T) {
		b := f.c.do("POST", "/v1/auth/users/search", `{"limit":2}`).ok(t)
		if len(arr(t, b, "users")) != 2 || b["has_more"] != true || b["total_count"] != float64(3) {
			t.Fatalf("page %v", b)
		}
	})
	_ = http.StatusOK
}
