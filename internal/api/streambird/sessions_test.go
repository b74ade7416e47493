package streambird_test

import (
	"net/http"
	"testing"
	"time"
)

func TestSessionVerify(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	login := f.login("+14155550090")
	token, jwt := str(t, login, "session_token"), str(t, login, "session_jwt")
	sessID := str(t, obj(t, login, "session"), "id")

	t.Run("by token returns session, token and a fresh JWT", func(t *testing.T) {
		b := f.c.do("POST", "/v1/auth/sessions/verify", `{"session_token":`+q(token)+`}`).ok(t)
		s := obj(t, b, "session")
		if b["session_token"] != token || s["id"] != sessID || s["session_token"] != token || s["user_id"] != login["user_id"] {
			t.Fatalf("body %v", b)
		}
		str(t, b, "session_jwt")
		for _, k := range []string{"started_at", "expires_at", "last_active_at", "created_at", "updated_at"} {
			epochSeconds(t, s, k)
		}
		if len(arr(t, s, "factors")) != 1 {
			t.Fatalf("factors %v", s["factors"])
		}
	})
	t.Run("by JWT", func(t *testing.T) {
		b := f.c.do("POST", "/v1/auth/sessions/verify", `{"session_jwt":`+q(jwt)+`}`).ok(t)
		if obj(t, b, "session")["id"] != sessID || b["session_token"] != token {
			t.Fatalf("body %v", b)
		}
	})
	t.Run("session_expires_in extends the session", func(t *testing.T) {
		b := f.c.do("POST", "/v1/auth/sessions/verify", `{"session_token":`+q(token)+`,"session_expires_in":525600}`).ok(t)
		s := obj(t, b, "session")
		if left := epochSeconds(t, s, "expires_at") - time.Now().Unix(); left < 525600*60-120 {
			t.Fatalf("session expires in %ds, want about a year", left)
		}
	})
	tests := []struct {
		name, body string
		status     int
		typ        string
	}{
		{"neither token nor JWT is 400", `{}`, 400, "no_session_arguments"},
		{"both token and JWT is 400", `{"session_token":` + q(token) + `,"session_jwt":` + q(jwt) + `}`, 400, "too_many_session_arguments"},
		{"unknown token is 404", `{"session_token":"WJtR5BCy38Szd5AfoDpf0iqFKEt4EE5JhjlWUY7l3FtY"}`, 404, "session_not_found"},
		{"garbage JWT is 400", `{"session_jwt":"not.a.jwt"}`, 400, "invalid_session_jwt"},
		{"session_expires_in out of range is 400", `{"session_token":` + q(token) + `,"session_expires_in":1}`, 400, "invalid_session_expires_in"},
		{"token of wrong type is 400", `{"session_token":1}`, 400, "invalid_request"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f.c.do("POST", "/v1/auth/sessions/verify", tc.body).fail(t, tc.status, tc.typ)
		})
	}
	t.Run("another project's secret cannot verify the session", func(t *testing.T) {
		other := f.other()
		other.do("POST", "/v1/auth/sessions/verify", `{"session_token":`+q(token)+`}`).fail(t, 404, "session_not_found")
		res := other.do("POST", "/v1/auth/sessions/verify", `{"session_jwt":`+q(jwt)+`}`)
		if res.Status != 400 && res.Status != 404 {
			t.Fatalf("other project's JWT: %d %s", res.Status, res.Raw)
		}
	})
}

func TestSessionList(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	first := f.login("+14155550091")
	uid := str(t, first, "user_id")
	mid, code := f.sendSMS("+14155550091")
	second := f.c.do("POST", "/v1/auth/otps/verify", `{"method_id":`+q(mid)+`,"otp":`+q(code)+`,"session_expires_in":30}`).ok(t)

	t.Run("lists every live session with its token", func(t *testing.T) {
		b := f.c.do("GET", "/v1/auth/sessions/list?user_id="+uid, "").ok(t)
		ss := arr(t, b, "sessions")
		if len(ss) != 2 {
			t.Fatalf("%d sessions, want 2", len(ss))
		}
		tokens := map[any]bool{}
		for _, s := range ss {
			tokens[s.(map[string]any)["session_token"]] = true
		}
		if !tokens[first["session_token"]] || !tokens[second["session_token"]] {
			t.Fatalf("tokens %v", tokens)
		}
	})
	t.Run("user without sessions gets an empty list", func(t *testing.T) {
		other, _ := f.createPhoneUser("+14155550092")
		b := f.c.do("GET", "/v1/auth/sessions/list?user_id="+other, "").ok(t)
		if b["sessions"] == nil || len(arr(t, b, "sessions")) != 0 {
			t.Fatalf("body %v", b)
		}
	})
	t.Run("missing user_id is 400", func(t *testing.T) {
		f.c.do("GET", "/v1/auth/sessions/list", "").fail(t, 400, "invalid_request")
	})
	t.Run("unknown user is 404", func(t *testing.T) {
		f.c.do("GET", "/v1/auth/sessions/list?user_id=user-test-00000000-0000-4000-8000-000000000000", "").fail(t, 404, "user_not_found")
	})
	t.Run("another project's secret cannot list them", func(t *testing.T) {
		f.other().do("GET", "/v1/auth/sessions/list?user_id="+uid, "").fail(t, 404, "user_not_found")
	})
}

func TestSessionDelete(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	other := f.other()
	del := func(c *client, body string) *response {
		return c.do(http.MethodDelete, "/v1/auth/sessions/delete", body)
	}
	verifyToken := func(token string) *response {
		return f.c.do("POST", "/v1/auth/sessions/verify", `{"session_token":`+q(token)+`}`)
	}

	for _, tc := range []struct {
		name, field string
	}{
		{"by session_id", "session_id"},
		{"by session_token", "session_token"},
		{"by session_jwt", "session_jwt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			login := f.login(newPhone())
			token := str(t, login, "session_token")
			value := map[string]string{
				"session_id":    str(t, obj(t, login, "session"), "id"),
				"session_token": token,
				"session_jwt":   str(t, login, "session_jwt"),
			}[tc.field]
			body := `{` + q(tc.field) + `:` + q(value) + `}`

			// Another project cannot end it.
			res := del(other, body)
			if res.Status != 404 && res.Status != 400 {
				t.Fatalf("other project: %d %s", res.Status, res.Raw)
			}
			verifyToken(token).ok(t)

			b := del(f.c, body).ok(t)
			if b["message"] != "Successfully deleted session" || len(b) != 1 {
				t.Fatalf("body %v", b)
			}
			verifyToken(token).fail(t, 404, "session_not_found")
			if tc.field != "session_jwt" {
				del(f.c, body).fail(t, 404, "session_not_found")
			}
		})
	}
	t.Run("session_id of another project is 404", func(t *testing.T) {
		login := f.login(newPhone())
		del(other, `{"session_id":`+q(str(t, obj(t, login, "session"), "id"))+`}`).fail(t, 404, "session_not_found")
	})
	t.Run("no argument is 400", func(t *testing.T) {
		del(f.c, `{}`).fail(t, 400, "no_session_arguments")
	})
	t.Run("empty body is 400", func(t *testing.T) {
		del(f.c, ``).fail(t, 400, "no_session_arguments")
	})
	t.Run("two arguments is 400", func(t *testing.T) {
		del(f.c, `{"session_id":"a","session_token":"b"}`).fail(t, 400, "too_many_session_arguments")
	})
	t.Run("wrong type is 400", func(t *testing.T) {
		del(f.c, `{"session_id":["a"]}`).fail(t, 400, "invalid_request")
	})
	t.Run("NUL in session_id is 400", func(t *testing.T) {
		del(f.c, `{"session_id":"a\u0000b"}`).fail(t, 400, "invalid_request")
	})
}

func TestJWKS(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	check := func(t *testing.T, b map[string]any) {
		keys := arr(t, b, "keys")
		if len(keys) == 0 {
			t.Fatal("no keys")
		}
		k := keys[0].(map[string]any)
		if k["kty"] != "RSA" || k["kid"] == "" || k["n"] == nil || k["e"] == nil {
			t.Fatalf("key %v", k)
		}
		if _, private := k["d"]; private {
			t.Fatal("JWKS exposes a private key")
		}
	}
	t.Run("bearer", func(t *testing.T) {
		check(t, f.c.do("GET", "/v1/auth/jwks/default", "").ok(t))
	})
	t.Run("api_key query as the node SDK sends it", func(t *testing.T) {
		anon := &client{t: t, h: f.h}
		check(t, anon.do("GET", "/v1/auth/jwks/default?api_key="+f.env.Secret, "").ok(t))
	})
	t.Run("each project has its own keys", func(t *testing.T) {
		a := arr(t, f.c.do("GET", "/v1/auth/jwks/default", "").ok(t), "keys")[0].(map[string]any)["kid"]
		b := arr(t, f.other().do("GET", "/v1/auth/jwks/default", "").ok(t), "keys")[0].(map[string]any)["kid"]
		if a == b {
			t.Fatalf("two projects share kid %v", a)
		}
	})
}
