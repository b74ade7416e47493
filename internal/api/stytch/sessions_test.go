package stytch_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/internal/jwt"
)

// jwtPayload decodes the claims of a JWT without verifying it.
func jwtPayload(t testing.TB, token string) obj {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", token)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m obj
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestSessionAuthenticateByTokenOrJWT(t *testing.T) {
	f := newFixture(t)
	c := f.c
	login := f.login(t, c, nil)
	token, jwtStr := str(login, "session_token"), str(login, "session_jwt")
	sessionID := str(sub(login, "session"), "session_id")

	claims := jwtPayload(t, jwtStr)
	if claims["iss"] != "stytch.com/"+c.id || claims["sub"] != login["user_id"] || sub(claims, jwt.SessionClaim)["id"] != sessionID {
		t.Errorf("JWT claims: %v", claims)
	}

	for _, tc := range []struct {
		name string
		body obj
	}{
		{"token", obj{"session_token": token}},
		{"jwt", obj{"session_jwt": jwtStr}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := c.ok("POST", "/v1/sessions/authenticate", tc.body)
			s := sub(m, "session")
			checkSession(t, s)
			checkUser(t, sub(m, "user"))
			if s["session_id"] != sessionID || m["session_token"] != token || strings.Count(str(m, "session_jwt"), ".") != 2 {
				t.Errorf("authenticate: %v", m)
			}
		})
	}

	t.Run("duration extends from now", func(t *testing.T) {
		m := c.ok("POST", "/v1/sessions/authenticate", obj{"session_token": token, "session_duration_minutes": 600})
		exp := checkTime(t, "expires_at", sub(m, "session")["expires_at"])
		if d := time.Until(exp); d < 598*time.Minute || d > 601*time.Minute {
			t.Errorf("session expires in %v, want ~600m", d)
		}
	})

	t.Run("an expired JWT of a live session is accepted", func(t *testing.T) {
		list, err := f.env.Service.ListSessions(context.Background(), f.env.Project, str(login, "user_id"))
		if err != nil || len(list) != 1 {
			t.Fatalf("ListSessions: %v %v", list, err)
		}
		old := jwt.New(f.env.Store, f.env.Keys, jwt.Options{Now: func() time.Time { return time.Now().Add(-time.Hour) }})
		expired, err := old.SignSession(context.Background(), list[0])
		if err != nil {
			t.Fatal(err)
		}
		if exp, _ := jwtPayload(t, expired)["exp"].(float64); time.Unix(int64(exp), 0).After(time.Now()) {
			t.Fatal("the test JWT is not expired")
		}
		m := c.ok("POST", "/v1/sessions/authenticate", obj{"session_jwt": expired})
		fresh := jwtPayload(t, str(m, "session_jwt"))
		if exp, _ := fresh["exp"].(float64); time.Unix(int64(exp), 0).Before(time.Now()) {
			t.Errorf("the returned JWT is expired: %v", fresh)
		}
	})

	for _, tc := range []struct {
		name      string
		body      obj
		status    int
		errorType string
	}{
		{"both token and jwt", obj{"session_token": token, "session_jwt": jwtStr}, 400, "too_many_session_arguments"},
		{"neither", obj{}, 400, "no_session_arguments"},
		{"unknown token", obj{"session_token": "WJtR5BCy38Szd5AfoDpf0iqFKEt4EE5JhjlWUY7l3FtY"}, 404, "session_not_found"},
		{"garbage jwt", obj{"session_jwt": "not.a.jwt"}, 401, "unable_to_parse_session_jwt"},
		{"tampered jwt", obj{"session_jwt": jwtStr[:len(jwtStr)-4] + "AAAA"}, 401, "unable_to_parse_session_jwt"},
		{"duration too short", obj{"session_token": token, "session_duration_minutes": 1}, 400, "invalid_session_duration_minutes"},
		{"authorization_check", obj{"session_token": token, "authorization_check": obj{"resource_id": "r", "action": "a"}}, 400, "bad_request"},
	} {
		t.Run(tc.name, func(t *testing.T) { c.fail("POST", "/v1/sessions/authenticate", tc.body, tc.status, tc.errorType) })
	}
}

func TestSessionCustomClaims(t *testing.T) {
	f := newFixture(t)
	c := f.c
	login := f.login(t, c, obj{"session_custom_claims": obj{"a": 1, "b": "x", "iss": "evil", "sub": "evil"}})
	got := sub(sub(login, "session"), "custom_claims")
	if got["a"] != float64(1) || got["b"] != "x" || got["iss"] != nil || got["sub"] != nil {
		t.Errorf("custom_claims = %v: want a and b, reserved claims ignored", got)
	}
	if p := jwtPayload(t, str(login, "session_jwt")); p["iss"] != "stytch.com/"+c.id || p["a"] != float64(1) {
		t.Errorf("JWT payload: %v", p)
	}

	m := c.ok("POST", "/v1/sessions/authenticate", obj{"session_token": login["session_token"], "session_custom_claims": obj{"a": nil, "c": true}})
	got = sub(sub(m, "session"), "custom_claims")
	if _, has := got["a"]; has || got["b"] != "x" || got["c"] != true {
		t.Errorf("custom_claims after update = %v: want a deleted, b kept, c added", got)
	}
	if p := jwtPayload(t, str(m, "session_jwt")); p["c"] != true || p["a"] != nil {
		t.Errorf("JWT payload after update: %v", p)
	}

	big := obj{"blob": strings.Repeat("x", 5000)}
	c.fail("POST", "/v1/sessions/authenticate", obj{"session_token": login["session_token"], "session_custom_claims": big}, 400, "invalid_session_custom_claims")
	phoneID, code := f.sendSMS(t, c, uniquePhone())
	c.fail("POST", "/v1/otps/authenticate", obj{"method_id": phoneID, "code": code, "session_duration_minutes": 60, "session_custom_claims": big}, 400, "invalid_session_custom_claims")
}

func TestSessionOptionsRequireMatchingAttributes(t *testing.T) {
	f := newFixture(t)
	c := f.c
	login := f.login(t, c, obj{"attributes": obj{"ip_address": "203.0.113.1", "user_agent": "Browser/1"}})
	if a := sub(sub(login, "session"), "attributes"); a["ip_address"] != "203.0.113.1" || a["user_agent"] != "Browser/1" {
		t.Fatalf("session attributes = %v", a)
	}
	token := login["session_token"]
	c.ok("POST", "/v1/sessions/authenticate", obj{"session_token": token, "attributes": obj{"ip_address": "203.0.113.1", "user_agent": "Browser/1"},
		"options": obj{"ip_match_required": true, "user_agent_match_required": true}})
	c.fail("POST", "/v1/sessions/authenticate", obj{"session_token": token, "attributes": obj{"ip_address": "198.51.100.7", "user_agent": "Browser/1"},
		"options": obj{"ip_match_required": true}}, 401, "attribute_mismatch")
	c.fail("POST", "/v1/sessions/authenticate", obj{"session_token": token, "attributes": obj{"ip_address": "203.0.113.1", "user_agent": "Other/2"},
		"options": obj{"user_agent_match_required": true}}, 401, "attribute_mismatch")

	// On a second factor: the OTP authenticate options apply to the session being extended.
	email := uniqueEmail("opt")
	sent := c.ok("POST", "/v1/otps/email/send", obj{"email": email, "session_token": token})
	c.fail("POST", "/v1/otps/authenticate", obj{"method_id": sent["email_id"], "code": f.env.LastCode(email), "session_token": token,
		"attributes": obj{"ip_address": "198.51.100.7"}, "options": obj{"ip_match_required": true}}, 401, "attribute_mismatch")
}

func TestListAndRevokeSessions(t *testing.T) {
	f := newFixture(t)
	c := f.c
	login := f.login(t, c, nil)
	userID := str(login, "user_id")

	m := c.ok("GET", "/v1/sessions?user_id="+userID, nil)
	list := checkArray(t, m, "sessions")
	if len(list) != 1 || list[0].(obj)["session_id"] != sub(login, "session")["session_id"] {
		t.Fatalf("sessions: %v", m)
	}
	checkSession(t, list[0].(obj))
	if _, leaks := list[0].(obj)["session_token"]; leaks {
		t.Error("the session list carries session tokens")
	}
	c.fail("GET", "/v1/sessions", nil, 400, "invalid_user_id")

	for _, tc := range []struct {
		name string
		body func(login obj) obj
	}{
		{"by session_id", func(l obj) obj { return obj{"session_id": sub(l, "session")["session_id"]} }},
		{"by session_token", func(l obj) obj { return obj{"session_token": l["session_token"]} }},
		{"by session_jwt", func(l obj) obj { return obj{"session_jwt": l["session_jwt"]} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := f.login(t, c, nil)
			m := c.ok("POST", "/v1/sessions/revoke", tc.body(l))
			if len(m) != 2 {
				t.Errorf("revoke body = %v, want only request_id and status_code", m)
			}
			c.fail("POST", "/v1/sessions/authenticate", obj{"session_token": l["session_token"]}, 404, "session_not_found")
			c.fail("POST", "/v1/sessions/revoke", tc.body(l), 404, "session_not_found")
			if got := checkArray(t, c.ok("GET", "/v1/sessions?user_id="+str(l, "user_id"), nil), "sessions"); len(got) != 0 {
				t.Errorf("revoked session still listed: %v", got)
			}
		})
	}
	c.fail("POST", "/v1/sessions/revoke", obj{}, 400, "no_session_revoke_arguments")
	c.fail("POST", "/v1/sessions/revoke", obj{"session_id": "a", "session_token": "b"}, 400, "too_many_session_revoke_arguments")
}

func TestSecondFactorExtendsTheSessionAndAppendsTheFactor(t *testing.T) {
	f := newFixture(t)
	c := f.c
	login := f.login(t, c, obj{"session_duration_minutes": 10})
	token := str(login, "session_token")
	email := uniqueEmail("second")
	sent := c.ok("POST", "/v1/magic_links/email/send", obj{"email": email, "session_token": token})
	if sent["user_id"] != login["user_id"] {
		t.Fatalf("email not attached to the session's user: %v", sent)
	}
	m := c.ok("POST", "/v1/magic_links/authenticate", obj{"token": f.env.LastToken(email), "session_jwt": login["session_jwt"], "session_duration_minutes": 120})
	s := sub(m, "session")
	if s["session_id"] != sub(login, "session")["session_id"] || m["session_token"] != token {
		t.Fatalf("not the same session: %v", m)
	}
	fs := factors(s)
	if len(fs) != 2 || fs[0]["type"] != "otp" || fs[1]["type"] != "magic_link" || fs[1]["delivery_method"] != "email" ||
		sub(fs[1], "email_factor")["email_address"] != email {
		t.Errorf("factors = %v", fs)
	}
	if d := time.Until(checkTime(t, "expires_at", s["expires_at"])); d < 118*time.Minute {
		t.Errorf("session expires in %v, want ~120m", d)
	}
}
