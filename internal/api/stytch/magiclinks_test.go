package stytch_test

import (
	"net/url"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/internal/auth"
)

// lastLink returns the newest magic link event sent to email.
func (f *fixture) lastLink(t testing.TB, email string) *auth.Event {
	t.Helper()
	ev := f.env.Publisher.Last(email, auth.KindMagicLink)
	if ev == nil {
		t.Fatalf("no magic link was sent to %s", email)
	}
	return ev
}

func TestMagicLinkSignupThenLogin(t *testing.T) {
	f := newFixture(t)
	c := f.c
	email := uniqueEmail("ml")

	m := c.ok("POST", "/v1/magic_links/email/login_or_create", obj{
		"email": email, "login_magic_link_url": "https://app.example/login", "signup_magic_link_url": "https://app.example/signup?x=1",
	})
	if m["user_created"] != true || str(m, "email_id") == "" {
		t.Fatalf("login_or_create: %v", m)
	}
	ev := f.lastLink(t, email)
	u, err := url.Parse(ev.URL)
	if err != nil || u.Scheme+"://"+u.Host+u.Path != "https://app.example/signup" || u.Query().Get("stytch_token_type") != "magic_links" ||
		u.Query().Get("x") != "1" || u.Query().Get("token") == "" {
		t.Errorf("signup link = %q", ev.URL)
	}
	if d := ev.ExpiresAt.Sub(ev.CreatedAt); d != 10080*time.Minute {
		t.Errorf("signup link lives %v, want 10080m", d)
	}

	a := c.ok("POST", "/v1/magic_links/authenticate", obj{"token": f.env.LastToken(email), "session_duration_minutes": 60})
	if a["user_id"] != m["user_id"] || a["method_id"] != m["email_id"] || sub(a, "user")["status"] != "active" {
		t.Errorf("authenticate: %v", a)
	}
	fs := factors(sub(a, "session"))
	if len(fs) != 1 || fs[0]["type"] != "magic_link" || fs[0]["delivery_method"] != "email" || sub(fs[0], "email_factor")["email_id"] != m["email_id"] {
		t.Errorf("factors = %v", fs)
	}
	c.fail("POST", "/v1/magic_links/authenticate", obj{"token": f.env.LastToken(email)}, 401, "unable_to_auth_magic_link")

	second := c.ok("POST", "/v1/magic_links/email/login_or_create", obj{"email": email, "login_magic_link_url": "https://app.example/login"})
	if second["user_created"] != false || second["user_id"] != m["user_id"] {
		t.Errorf("second login_or_create: %v", second)
	}
	ev = f.lastLink(t, email)
	if d := ev.ExpiresAt.Sub(ev.CreatedAt); d != 60*time.Minute {
		t.Errorf("login link lives %v, want 60m", d)
	}
	if u, _ := url.Parse(ev.URL); u.Path != "/login" {
		t.Errorf("login link = %q", ev.URL)
	}

	sent := c.ok("POST", "/v1/magic_links/email/send", obj{"email": email, "login_expiration_minutes": 5})
	if _, has := sent["user_created"]; has || sent["email_id"] != m["email_id"] {
		t.Errorf("send: %v", sent)
	}
	ev = f.lastLink(t, email)
	if d := ev.ExpiresAt.Sub(ev.CreatedAt); d != 5*time.Minute {
		t.Errorf("link lives %v, want 5m", d)
	}
	a = c.ok("POST", "/v1/magic_links/authenticate", obj{"token": f.env.LastToken(email)})
	if a["session_token"] != "" || a["session_jwt"] != "" || a["session"] != nil {
		t.Errorf("authenticate without duration started a session: %v", a)
	}
}

func TestMagicLinkErrors(t *testing.T) {
	f := newFixture(t)
	known := uniqueEmail("known")
	f.c.ok("POST", "/v1/users", obj{"email": known})
	for _, tc := range []struct {
		name      string
		path      string
		body      obj
		status    int
		errorType string
	}{
		{"send to an unknown email", "/v1/magic_links/email/send", obj{"email": uniqueEmail("x")}, 404, "email_not_found"},
		{"invalid email", "/v1/magic_links/email/login_or_create", obj{"email": "nope"}, 400, "invalid_email"},
		{"login expiration below 5", "/v1/magic_links/email/send", obj{"email": known, "login_expiration_minutes": 4}, 400, "bad_request"},
		{"signup expiration above 10080", "/v1/magic_links/email/login_or_create", obj{"email": known, "signup_expiration_minutes": 10081}, 400, "bad_request"},
		{"relative redirect url", "/v1/magic_links/email/send", obj{"email": known, "login_magic_link_url": "/login"}, 400, "bad_request"},
		{"unknown token", "/v1/magic_links/authenticate", obj{"token": "CprTtwhnRNiMBiUS2jSLcWYrfuO2POeBNdo5HhW6qTM="}, 404, "magic_link_not_found"},
		{"missing token", "/v1/magic_links/authenticate", obj{}, 400, "bad_request"},
		{"embedded for an unknown user", "/v1/magic_links", obj{"user_id": "user-test-00000000-0000-0000-0000-000000000000"}, 404, "user_not_found"},
		{"embedded without user", "/v1/magic_links", obj{}, 400, "invalid_user_id"},
		{"revoke an invite that does not exist", "/v1/magic_links/email/revoke_invite", obj{"email": known}, 404, "invite_not_found"},
	} {
		t.Run(tc.name, func(t *testing.T) { f.c.fail("POST", tc.path, tc.body, tc.status, tc.errorType) })
	}
}

func TestMagicLinkPKCE(t *testing.T) {
	f := newFixture(t)
	c := f.c
	email := uniqueEmail("pkce")
	verifier := "a-code-verifier-of-sufficient-length-0123456789"
	c.ok("POST", "/v1/magic_links/email/login_or_create", obj{"email": email, "code_challenge": auth.PKCEChallenge(verifier)})
	token := f.env.LastToken(email)
	c.fail("POST", "/v1/magic_links/authenticate", obj{"token": token, "code_verifier": "the-wrong-verifier-0123456789-0123456789"}, 400, "pkce_mismatch")
	c.fail("POST", "/v1/magic_links/authenticate", obj{"token": token}, 400, "pkce_mismatch")
	a := c.ok("POST", "/v1/magic_links/authenticate", obj{"token": token, "code_verifier": verifier, "session_duration_minutes": 30})
	checkSession(t, sub(a, "session"))
}

func TestMagicLinkInviteAndRevoke(t *testing.T) {
	f := newFixture(t)
	c := f.c
	email := uniqueEmail("invite")
	m := c.ok("POST", "/v1/magic_links/email/invite", obj{
		"email": email, "name": obj{"first_name": "Ivy"}, "invite_magic_link_url": "https://app.example/invite",
		"untrusted_metadata": obj{"source": "invite"},
	})
	userID := str(m, "user_id")
	u := c.ok("GET", "/v1/users/"+userID, nil)
	if u["status"] != "pending" || sub(u, "name")["first_name"] != "Ivy" || sub(u, "untrusted_metadata")["source"] != "invite" {
		t.Fatalf("invited user: %v", u)
	}
	ev := f.lastLink(t, email)
	if ev.LinkKind != auth.MagicLinkInvite {
		t.Errorf("link kind = %s", ev.LinkKind)
	}
	if pu, _ := url.Parse(ev.URL); pu.Host != "app.example" || pu.Path != "/invite" {
		t.Errorf("invite link = %q", ev.URL)
	}

	if r := c.ok("POST", "/v1/magic_links/email/revoke_invite", obj{"email": email}); len(r) != 2 {
		t.Errorf("revoke_invite body = %v", r)
	}
	c.fail("POST", "/v1/magic_links/authenticate", obj{"token": f.env.LastToken(email)}, 404, "magic_link_not_found")
	c.fail("POST", "/v1/magic_links/email/revoke_invite", obj{"email": email}, 404, "invite_not_found")

	c.ok("POST", "/v1/magic_links/email/invite", obj{"email": email})
	a := c.ok("POST", "/v1/magic_links/authenticate", obj{"token": f.env.LastToken(email)})
	if sub(a, "user")["status"] != "active" {
		t.Errorf("invited user not activated: %v", a["user"])
	}
	c.fail("POST", "/v1/magic_links/email/invite", obj{"email": email}, 400, "bad_request")
	c.fail("POST", "/v1/magic_links/email/invite", obj{"email": uniqueEmail("i"), "invite_expiration_minutes": 3}, 400, "bad_request")
}

func TestEmbeddableMagicLink(t *testing.T) {
	f := newFixture(t)
	c := f.c
	user := c.ok("POST", "/v1/users", obj{"email": uniqueEmail("embed")})
	before := len(f.env.Events())
	m := c.ok("POST", "/v1/magic_links", obj{"user_id": user["user_id"], "expiration_minutes": 15})
	if m["user_id"] != user["user_id"] || str(m, "token") == "" {
		t.Fatalf("create: %v", m)
	}
	if len(f.env.Events()) != before {
		t.Error("an embeddable link was sent")
	}
	a := c.ok("POST", "/v1/magic_links/authenticate", obj{"token": m["token"], "session_duration_minutes": 60})
	fs := factors(sub(a, "session"))
	if len(fs) != 1 || fs[0]["type"] != "magic_link" || fs[0]["delivery_method"] != "embedded" || str(sub(fs[0], "embeddable_magic_link_factor"), "embedded_id") == "" {
		t.Errorf("factors = %v", fs)
	}
	c.fail("POST", "/v1/magic_links", obj{"user_id": user["user_id"], "expiration_minutes": 10081}, 400, "bad_request")
}
