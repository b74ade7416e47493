package streambird_test

import (
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestMagicLinkLoginOrCreate(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tests := []struct {
		name, body string
		status     int
		typ        string
		msgHas     string
		check      func(t *testing.T, b map[string]any)
	}{
		{name: "new email creates the user and sends a registration link",
			body:   `{"email":"ml@example.com","login_redirect_url":"https://app.example.com/login","registration_redirect_url":"https://app.example.com/signup","registration_expires_in":30}`,
			status: 200,
			check: func(t *testing.T, b map[string]any) {
				if b["user_created"] != true || b["status"] != "active" {
					t.Fatalf("body %v", b)
				}
				str(t, b, "email_id")
				epochSeconds(t, b, "created_at")
				epochSeconds(t, b, "updated_at")
				ev := f.env.Publisher.Last("ml@example.com", "magiclink")
				if ev == nil || !strings.HasPrefix(ev.URL, "https://app.example.com/signup?") {
					t.Fatalf("link event %+v", ev)
				}
				if d := time.Until(ev.ExpiresAt); d < 29*time.Minute || d > 31*time.Minute {
					t.Fatalf("link expires in %v, want 30m", d)
				}
			}},
		{name: "known email sends a login link",
			body:   `{"email":"ML@example.com","login_redirect_url":"https://app.example.com/login"}`,
			status: 200,
			check: func(t *testing.T, b map[string]any) {
				if b["user_created"] != false {
					t.Fatalf("body %v", b)
				}
				ev := f.env.Publisher.Last("ml@example.com", "magiclink")
				if !strings.HasPrefix(ev.URL, "https://app.example.com/login?") {
					t.Fatalf("link %s", ev.URL)
				}
				if d := time.Until(ev.ExpiresAt); d < 59*time.Minute || d > 61*time.Minute {
					t.Fatalf("link expires in %v, want the default 60m", d)
				}
			}},
		{name: "requires_verification creates a pending user", body: `{"email":"pending-ml@example.com","requires_verification":true}`, status: 200,
			check: func(t *testing.T, b map[string]any) {
				if b["status"] != "pending" {
					t.Fatalf("body %v", b)
				}
			}},
		{name: "app scheme redirect is accepted", body: `{"email":"app@example.com","login_redirect_url":"myapp://auth/callback"}`, status: 200,
			check: func(t *testing.T, b map[string]any) {}},
		{name: "missing email is 400", body: `{}`, status: 400, typ: "invalid_request", msgHas: "email"},
		{name: "invalid email is 400", body: `{"email":"nope"}`, status: 400, typ: "invalid_email"},
		{name: "login_expires_in 4 is 400", body: `{"email":"x@example.com","login_expires_in":4}`, status: 400, typ: "invalid_expires_in", msgHas: "login_expires_in"},
		{name: "registration_expires_in 10081 is 400", body: `{"email":"x@example.com","registration_expires_in":10081}`, status: 400, typ: "invalid_expires_in", msgHas: "registration_expires_in"},
		{name: "relative redirect is 400", body: `{"email":"x@example.com","login_redirect_url":"/login"}`, status: 400, typ: "invalid_request", msgHas: "login_redirect_url"},
		{name: "javascript redirect is 400", body: `{"email":"x@example.com","registration_redirect_url":"javascript:alert(1)"}`, status: 400, typ: "invalid_request", msgHas: "registration_redirect_url"},
		{name: "redirect of wrong type is 400", body: `{"email":"x@example.com","login_redirect_url":true}`, status: 400, typ: "invalid_request", msgHas: "login_redirect_url"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := f.c.do("POST", "/v1/auth/magic_links/email/login_or_create", tc.body)
			if tc.status != 200 {
				res.fail(t, tc.status, tc.typ)
				if tc.msgHas != "" && !strings.Contains(res.Body["error_message"].(string), tc.msgHas) {
					t.Fatalf("error_message %q does not name %s", res.Body["error_message"], tc.msgHas)
				}
				return
			}
			b := res.ok(t)
			str(t, b, "user_id")
			tc.check(t, b)
		})
	}
}

func TestMagicLinkVerify(t *testing.T) {
	t.Parallel()
	send := func(f *fixture, email string) map[string]any {
		f.t.Helper()
		return f.c.do("POST", "/v1/auth/magic_links/email/login_or_create", `{"email":`+q(email)+`}`).ok(f.t)
	}

	t.Run("token verifies once", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		b := send(f, "once@example.com")
		token := f.env.LastToken("once@example.com")
		res := f.c.do("POST", "/v1/auth/magic_links/verify", `{"token":`+q(token)+`}`).ok(t)
		if res["user_id"] != b["user_id"] || res["method_id"] != b["email_id"] || res["method_type"] != "email" {
			t.Fatalf("body %v", res)
		}
		if _, has := res["session_token"]; has {
			t.Fatalf("session without session_expires_in: %v", res)
		}
		f.c.do("POST", "/v1/auth/magic_links/verify", `{"token":`+q(token)+`}`).fail(t, 400, "magic_link_expired")
	})

	t.Run("session_expires_in creates a session with a magic_link factor", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		b := send(f, "sess@example.com")
		res := f.c.do("POST", "/v1/auth/magic_links/verify", `{"token":`+q(f.env.LastToken("sess@example.com"))+`,"session_expires_in":1440}`).ok(t)
		str(t, res, "session_token")
		str(t, res, "session_jwt")
		factor := arr(t, obj(t, res, "session"), "factors")[0].(map[string]any)
		m := obj(t, factor, "method")
		if factor["type"] != "magic_link" || factor["delivery_channel"] != "email" || m["email_id"] != b["email_id"] || m["email"] != "sess@example.com" {
			t.Fatalf("factor %v", factor)
		}
	})

	t.Run("unknown token is 400 invalid_magic_token", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		f.c.do("POST", "/v1/auth/magic_links/verify", `{"token":"DOYoip3rvIMMW5lgItikFK-Ak1CfMsgjuiCyI7uuU94"}`).fail(t, 400, "invalid_magic_token")
	})

	t.Run("missing token is 400 invalid_magic_token", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		f.c.do("POST", "/v1/auth/magic_links/verify", `{}`).fail(t, 400, "invalid_magic_token")
	})

	t.Run("token of wrong type is 400", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		f.c.do("POST", "/v1/auth/magic_links/verify", `{"token":42}`).fail(t, 400, "invalid_request")
	})

	t.Run("another project's secret cannot verify the token", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		send(f, "xproj@example.com")
		token := f.env.LastToken("xproj@example.com")
		f.other().do("POST", "/v1/auth/magic_links/verify", `{"token":`+q(token)+`}`).fail(t, 400, "invalid_magic_token")
		f.c.do("POST", "/v1/auth/magic_links/verify", `{"token":`+q(token)+`}`).ok(t)
	})

	t.Run("expired link is 400 magic_link_expired", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		f.env.Service.SetClock(func() time.Time { return time.Now().Add(-2 * time.Hour) })
		send(f, "old@example.com") // 60-minute link issued two hours ago
		f.env.Service.SetClock(time.Now)
		f.c.do("POST", "/v1/auth/magic_links/verify", `{"token":`+q(f.env.LastToken("old@example.com"))+`}`).fail(t, 400, "magic_link_expired")
	})
}

func TestMagicLinkInvite(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	t.Run("invite creates a pending user", func(t *testing.T) {
		b := f.c.do("POST", "/v1/auth/magic_links/invite", `{"email":"inv@example.com","first_name":"In","invite_redirect_url":"https://app.example.com/invite","invite_expires_in":120}`).ok(t)
		if b["user_created"] != true || b["status"] != "pending" {
			t.Fatalf("body %v", b)
		}
		str(t, b, "email_id")
		ev := f.env.Publisher.Last("inv@example.com", "magiclink")
		if ev == nil || !strings.HasPrefix(ev.URL, "https://app.example.com/invite?") {
			t.Fatalf("event %+v", ev)
		}
		u := f.c.do("GET", "/v1/auth/users/"+str(t, b, "user_id"), "").ok(t)
		if u["first_name"] != "In" {
			t.Fatalf("user %v", u)
		}
		// Accepting the invite activates the user.
		f.c.do("POST", "/v1/auth/magic_links/verify", `{"token":`+q(f.env.LastToken("inv@example.com"))+`}`).ok(t)
		if u := f.c.do("GET", "/v1/auth/users/"+str(t, b, "user_id"), "").ok(t); u["status"] != "active" {
			t.Fatalf("user %v", u)
		}
	})
	t.Run("inviting an active user is 400", func(t *testing.T) {
		f.createEmailUser("active@example.com")
		f.c.do("POST", "/v1/auth/magic_links/invite", `{"email":"active@example.com"}`).fail(t, 400, "conflict")
	})
	t.Run("invite_expires_in out of range is 400", func(t *testing.T) {
		f.c.do("POST", "/v1/auth/magic_links/invite", `{"email":"inv2@example.com","invite_expires_in":1}`).fail(t, 400, "invalid_expires_in")
	})
	t.Run("missing email is 400", func(t *testing.T) {
		f.c.do("POST", "/v1/auth/magic_links/invite", `{"first_name":"x"}`).fail(t, 400, "invalid_request")
	})
}

func TestMagicLinkCreateEmbeddable(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	uid, _ := f.createPhoneUser("+14155550080")
	t.Run("token verifies for the user", func(t *testing.T) {
		b := f.c.do("POST", "/v1/auth/magic_links/create", `{"user_id":`+q(uid)+`,"expires_in":15}`).ok(t)
		token := str(t, b, "token")
		if b["user_id"] != uid {
			t.Fatalf("body %v", b)
		}
		if _, err := url.ParseQuery("token=" + token); err != nil {
			t.Fatalf("token is not URL safe: %v", err)
		}
		res := f.c.do("POST", "/v1/auth/magic_links/verify", `{"token":`+q(token)+`,"session_expires_in":5}`).ok(t)
		if res["user_id"] != uid || res["method_type"] != "email" {
			t.Fatalf("body %v", res)
		}
		f.c.do("POST", "/v1/auth/magic_links/verify", `{"token":`+q(token)+`}`).fail(t, 400, "magic_link_expired")
	})
	t.Run("unknown user is 404", func(t *testing.T) {
		f.c.do("POST", "/v1/auth/magic_links/create", `{"user_id":"user-test-00000000-0000-4000-8000-000000000000"}`).fail(t, 404, "user_not_found")
	})
	t.Run("another project's user is 404", func(t *testing.T) {
		f.other().do("POST", "/v1/auth/magic_links/create", `{"user_id":`+q(uid)+`}`).fail(t, 404, "user_not_found")
	})
	t.Run("missing user_id is 400", func(t *testing.T) {
		f.c.do("POST", "/v1/auth/magic_links/create", `{}`).fail(t, 400, "invalid_request")
	})
	t.Run("expires_in out of range is 400", func(t *testing.T) {
		f.c.do("POST", "/v1/auth/magic_links/create", `{"user_id":`+q(uid)+`,"expires_in":10081}`).fail(t, 400, "invalid_expires_in")
	})
}
