package stytch_test

import (
	"strings"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/internal/auth"
	"github.com/sesame-auth/sesame/internal/authtest"
)

func TestOTPLoginOrCreateThenAuthenticateStartsASession(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		channel, field, idField, factorKey, valueKey string
		to                                           func() string
	}{
		{"sms", "phone_number", "phone_id", "phone_number_factor", "phone_number", uniquePhone},
		{"whatsapp", "phone_number", "phone_id", "phone_number_factor", "phone_number", uniquePhone},
		{"email", "email", "email_id", "email_factor", "email_address", func() string { return uniqueEmail("otp") }},
	} {
		t.Run(tc.channel, func(t *testing.T) {
			c := f.c
			to := tc.to()
			path := "/v1/otps/" + tc.channel + "/login_or_create"
			first := c.ok("POST", path, obj{tc.field: to})
			methodID := str(first, tc.idField)
			if first["user_created"] != true || methodID == "" || str(first, "user_id") == "" {
				t.Fatalf("first login_or_create: %v", first)
			}
			second := c.ok("POST", path, obj{tc.field: to, "expiration_minutes": 10})
			if second["user_created"] != false || second[tc.idField] != methodID || second["user_id"] != first["user_id"] {
				t.Fatalf("second login_or_create: %v", second)
			}
			code := f.env.LastCode(to)
			if ev := f.env.Events(); ev[len(ev)-1].Channel != auth.Channel(tc.channel) {
				t.Errorf("event channel = %s", ev[len(ev)-1].Channel)
			}

			wrong := "000001"
			if code == wrong {
				wrong = "000002"
			}
			c.fail("POST", "/v1/otps/authenticate", obj{"method_id": methodID, "code": wrong}, 404, "otp_code_not_found")

			m := c.ok("POST", "/v1/otps/authenticate", obj{
				"method_id": methodID, "code": code, "session_duration_minutes": 60,
				"session_custom_claims": obj{"tier": "gold"},
			})
			if m["user_id"] != first["user_id"] || m["method_id"] != methodID || m["reset_sessions"] != false ||
				str(m, "session_token") == "" || strings.Count(str(m, "session_jwt"), ".") != 2 {
				t.Fatalf("authenticate: %v", m)
			}
			u := sub(m, "user")
			checkUser(t, u)
			verified := false
			for _, key := range []string{"emails", "phone_numbers"} {
				for _, e := range checkArray(t, u, key) {
					if e.(obj)[tc.idField] == methodID {
						verified = e.(obj)["verified"] == true
					}
				}
			}
			if !verified {
				t.Errorf("method %s is not verified after authenticate: %v", methodID, u)
			}
			s := sub(m, "session")
			checkSession(t, s)
			if sub(s, "custom_claims")["tier"] != "gold" || s["user_id"] != first["user_id"] {
				t.Errorf("session: %v", s)
			}
			fs := factors(s)
			if len(fs) != 1 || fs[0]["type"] != "otp" || fs[0]["delivery_method"] != tc.channel {
				t.Fatalf("factors: %v", fs)
			}
			detail := sub(fs[0], tc.factorKey)
			if detail[tc.idField] != methodID || detail[tc.valueKey] == "" {
				t.Errorf("%s = %v", tc.factorKey, fs[0])
			}
			checkTime(t, "last_authenticated_at", fs[0]["last_authenticated_at"])
			expires := checkTime(t, "expires_at", s["expires_at"])
			if d := time.Until(expires); d < 58*time.Minute || d > 61*time.Minute {
				t.Errorf("session expires in %v, want ~60m", d)
			}

			c.fail("POST", "/v1/otps/authenticate", obj{"method_id": methodID, "code": code}, 401, "unable_to_auth_otp_code")
		})
	}
}

func TestOTPAuthenticateWithoutDurationStartsNoSession(t *testing.T) {
	f := newFixture(t)
	phoneID, code := f.sendSMS(t, f.c, uniquePhone())
	m := f.c.ok("POST", "/v1/otps/authenticate", obj{"method_id": phoneID, "code": code})
	if m["session_token"] != "" || m["session_jwt"] != "" {
		t.Errorf("session_token/session_jwt = %q/%q, want empty", m["session_token"], m["session_jwt"])
	}
	if s, present := m["session"]; present && s != nil {
		t.Errorf("session = %v, want absent", s)
	}
	checkUser(t, sub(m, "user"))
}

func TestOTPSendAndAuthenticateErrors(t *testing.T) {
	f := newFixture(t)
	known := uniquePhone()
	f.c.ok("POST", "/v1/users", obj{"phone_number": known})
	phoneID, _ := f.sendSMS(t, f.c, uniquePhone())
	for _, tc := range []struct {
		name      string
		path      string
		body      obj
		status    int
		errorType string
	}{
		{"sms send to an unknown number", "/v1/otps/sms/send", obj{"phone_number": uniquePhone()}, 404, "phone_number_not_found"},
		{"whatsapp send to an unknown number", "/v1/otps/whatsapp/send", obj{"phone_number": uniquePhone()}, 404, "phone_number_not_found"},
		{"email send to an unknown email", "/v1/otps/email/send", obj{"email": uniqueEmail("nobody")}, 404, "email_not_found"},
		{"invalid phone", "/v1/otps/sms/login_or_create", obj{"phone_number": "+1"}, 400, "invalid_phone_number"},
		{"phone without plus", "/v1/otps/sms/send", obj{"phone_number": "4155550100"}, 400, "invalid_phone_number"},
		{"invalid email", "/v1/otps/email/login_or_create", obj{"email": "a@"}, 400, "invalid_email"},
		{"expiration above 10", "/v1/otps/sms/send", obj{"phone_number": known, "expiration_minutes": 11}, 400, "bad_request"},
		{"negative expiration", "/v1/otps/sms/send", obj{"phone_number": known, "expiration_minutes": -1}, 400, "bad_request"},
		{"huge expiration", "/v1/otps/sms/send", obj{"phone_number": known, "expiration_minutes": 1 << 62}, 400, "bad_request"},
		{"attach to an unknown user", "/v1/otps/sms/send", obj{"phone_number": uniquePhone(), "user_id": "user-test-00000000-0000-0000-0000-000000000000"}, 404, "user_not_found"},
		{"attach with an unknown session", "/v1/otps/sms/send", obj{"phone_number": uniquePhone(), "session_token": "nope"}, 404, "session_not_found"},
		{"missing method_id", "/v1/otps/authenticate", obj{"code": "123456"}, 400, "invalid_method_id"},
		{"malformed method_id", "/v1/otps/authenticate", obj{"method_id": "phone number", "code": "123456"}, 400, "invalid_method_id"},
		{"unknown method_id", "/v1/otps/authenticate", obj{"method_id": "phone-number-test-00000000-0000-0000-0000-000000000000", "code": "123456"}, 404, "otp_code_not_found"},
		{"short code", "/v1/otps/authenticate", obj{"method_id": phoneID, "code": "123"}, 400, "bad_request"},
		{"both session token and jwt", "/v1/otps/authenticate", obj{"method_id": phoneID, "code": "123456", "session_token": "a", "session_jwt": "b"}, 400, "too_many_session_arguments"},
		{"session duration too short", "/v1/otps/authenticate", obj{"method_id": phoneID, "code": "123456", "session_duration_minutes": 4}, 400, "invalid_session_duration_minutes"},
		{"session duration too long", "/v1/otps/authenticate", obj{"method_id": phoneID, "code": "123456", "session_duration_minutes": 527041}, 400, "invalid_session_duration_minutes"},
	} {
		t.Run(tc.name, func(t *testing.T) { f.c.fail("POST", tc.path, tc.body, tc.status, tc.errorType) })
	}
}

func TestOTPExpirationDefaultsToTwoMinutes(t *testing.T) {
	f := newFixture(t)
	phone := uniquePhone()
	for _, tc := range []struct {
		body obj
		want time.Duration
	}{
		{obj{"phone_number": phone}, 2 * time.Minute},
		{obj{"phone_number": phone, "expiration_minutes": 1}, time.Minute},
		{obj{"phone_number": phone, "expiration_minutes": 10}, 10 * time.Minute},
	} {
		f.c.ok("POST", "/v1/otps/sms/login_or_create", tc.body)
		ev := f.env.Events()
		last := ev[len(ev)-1]
		if d := last.ExpiresAt.Sub(last.CreatedAt); d != tc.want {
			t.Errorf("%v: code lives %v, want %v", tc.body, d, tc.want)
		}
	}
}

func TestOTPSendAttachesToAnExistingUser(t *testing.T) {
	f := newFixture(t)
	c := f.c
	user := c.ok("POST", "/v1/users", obj{"email": uniqueEmail("attach")})
	userID := str(user, "user_id")

	phone := uniquePhone()
	m := c.ok("POST", "/v1/otps/sms/send", obj{"phone_number": phone, "user_id": userID})
	if m["user_id"] != userID || str(m, "phone_id") == "" {
		t.Fatalf("send with user_id: %v", m)
	}
	if _, has := m["user_created"]; has {
		t.Errorf("send has user_created: %v", m)
	}
	got := c.ok("GET", "/v1/users/"+userID, nil)
	if ph := checkArray(t, got, "phone_numbers"); len(ph) != 1 || ph[0].(obj)["phone_number"] != phone {
		t.Errorf("phone not attached: %v", got)
	}

	// With a session token: attach an email to the session's user and
	// append the factor to that session.
	auth1 := c.ok("POST", "/v1/otps/authenticate", obj{"method_id": m["phone_id"], "code": f.env.LastCode(phone), "session_duration_minutes": 30})
	email := uniqueEmail("attach2")
	sent := c.ok("POST", "/v1/otps/email/send", obj{"email": email, "session_token": auth1["session_token"]})
	if sent["user_id"] != userID {
		t.Fatalf("send with session_token: %v", sent)
	}
	auth2 := c.ok("POST", "/v1/otps/authenticate", obj{
		"method_id": sent["email_id"], "code": f.env.LastCode(email), "session_token": auth1["session_token"],
	})
	if sub(auth2, "session")["session_id"] != sub(auth1, "session")["session_id"] || len(factors(sub(auth2, "session"))) != 2 {
		t.Errorf("factor not appended to the session: %v", auth2["session"])
	}
	// A session of one user cannot attach to another user_id.
	c.fail("POST", "/v1/otps/sms/send", obj{"phone_number": phone, "session_jwt": auth2["session_jwt"], "user_id": str(c.ok("POST", "/v1/users", obj{"email": uniqueEmail("x")}), "user_id")}, 400, "bad_request")
}

func TestOTPCreateUserAsPendingActivatesOnAuthenticate(t *testing.T) {
	f := newFixture(t)
	email := uniqueEmail("pending")
	m := f.c.ok("POST", "/v1/otps/email/login_or_create", obj{"email": email, "create_user_as_pending": true})
	if u := f.c.ok("GET", "/v1/users/"+str(m, "user_id"), nil); u["status"] != "pending" {
		t.Fatalf("status = %v, want pending", u["status"])
	}
	a := f.c.ok("POST", "/v1/otps/authenticate", obj{"method_id": m["email_id"], "code": f.env.LastCode(email)})
	if sub(a, "user")["status"] != "active" {
		t.Errorf("status after authenticate = %v, want active", sub(a, "user")["status"])
	}
}

func TestOTPSendOverTheLimitIsTooManyRequests(t *testing.T) {
	f := newFixture(t, authtest.WithConfig(auth.Config{SendLimit: 2}))
	phone := uniquePhone()
	f.c.ok("POST", "/v1/otps/sms/login_or_create", obj{"phone_number": phone})
	f.c.ok("POST", "/v1/otps/sms/login_or_create", obj{"phone_number": phone})
	m := f.c.fail("POST", "/v1/otps/sms/login_or_create", obj{"phone_number": phone}, 429, "too_many_requests")
	if m["error_message"] != "Too many requests have been made." {
		t.Errorf("error_message = %v", m["error_message"])
	}
}

func TestSandboxValuesBypassOnlyInTestProjects(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct{ path, field, value, idField string }{
		{"/v1/otps/sms/login_or_create", "phone_number", auth.SandboxPhone, "phone_id"},
		{"/v1/otps/email/login_or_create", "email", auth.SandboxEmail, "email_id"},
	} {
		t.Run("test project "+tc.value, func(t *testing.T) {
			before := len(f.env.Events())
			m := f.c.ok("POST", tc.path, obj{tc.field: tc.value})
			if n := len(f.env.Events()); n != before {
				t.Errorf("%d messages were sent to a sandbox value", n-before)
			}
			f.c.fail("POST", "/v1/otps/authenticate", obj{"method_id": m[tc.idField], "code": "123456"}, 404, "otp_code_not_found")
			a := f.c.ok("POST", "/v1/otps/authenticate", obj{"method_id": m[tc.idField], "code": auth.SandboxCode, "session_duration_minutes": 5})
			checkSession(t, sub(a, "session"))
			// The sandbox code works again: it is not consumed.
			f.c.ok("POST", "/v1/otps/authenticate", obj{"method_id": m[tc.idField], "code": auth.SandboxCode})
		})
	}
	t.Run("live project", func(t *testing.T) {
		live := f.project(t, true)
		before := len(f.env.Events())
		m := live.ok("POST", "/v1/otps/sms/login_or_create", obj{"phone_number": auth.SandboxPhone})
		if !strings.HasPrefix(str(m, "phone_id"), "phone-number-live-") {
			t.Errorf("phone_id = %v, want a live id", m["phone_id"])
		}
		if len(f.env.Events()) != before+1 {
			t.Fatal("a live project did not send to the sandbox number")
		}
		if f.env.LastCode(auth.SandboxPhone) == auth.SandboxCode {
			t.Log("the random code happened to be the sandbox code; nothing more to check")
			return
		}
		fm := live.fail("POST", "/v1/otps/authenticate", obj{"method_id": m["phone_id"], "code": auth.SandboxCode}, 404, "otp_code_not_found")
		if !strings.HasPrefix(str(fm, "request_id"), "request-id-live-") {
			t.Errorf("request_id = %v, want a live request id", fm["request_id"])
		}
	})
}
