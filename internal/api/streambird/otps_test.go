package streambird_test

import (
	"strings"
	"testing"
	"time"
)

func TestSendOTP(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	userID, pnID := f.createPhoneUser("+14155550050")
	_, emailID := f.createEmailUser("otp@example.com")

	tests := []struct {
		name, path, body string
		status           int
		typ              string
		msgHas           string
		check            func(t *testing.T, b map[string]any)
	}{
		{name: "sms send to a known number", path: "/otps/sms/send", body: `{"phone_number":"+14155550050","expires_in":5,"device_fingerprint":{"ip":"203.0.113.9","user_agent":"Mozilla/5.0"}}`, status: 200,
			check: func(t *testing.T, b map[string]any) {
				if b["phone_number_id"] != pnID || b["user_id"] != userID || b["user_active"] != true {
					t.Fatalf("body %v", b)
				}
			}},
		{name: "email send to a known address", path: "/otps/email/send", body: `{"email":"OTP@example.com"}`, status: 200,
			check: func(t *testing.T, b map[string]any) {
				if b["email_id"] != emailID {
					t.Fatalf("body %v", b)
				}
			}},
		{name: "sms login_or_create creates an active user", path: "/otps/sms/login_or_create", body: `{"phone_number":"+14155550051"}`, status: 200,
			check: func(t *testing.T, b map[string]any) {
				str(t, b, "phone_number_id")
				if b["user_created"] != true || b["status"] != "active" {
					t.Fatalf("body %v", b)
				}
			}},
		{name: "sms login_or_create for a known number creates nothing", path: "/otps/sms/login_or_create", body: `{"phone_number":"+14155550050"}`, status: 200,
			check: func(t *testing.T, b map[string]any) {
				if b["user_created"] != false || b["user_id"] != userID || b["phone_number_id"] != pnID {
					t.Fatalf("body %v", b)
				}
			}},
		{name: "requires_verification creates a pending user", path: "/otps/sms/login_or_create", body: `{"phone_number":"+14155550052","requires_verification":true}`, status: 200,
			check: func(t *testing.T, b map[string]any) {
				if b["status"] != "pending" {
					t.Fatalf("body %v", b)
				}
			}},
		{name: "the SDK's requies_verification typo also works", path: "/otps/sms/login_or_create", body: `{"phone_number":"+14155550053","requies_verification":true}`, status: 200,
			check: func(t *testing.T, b map[string]any) {
				if b["status"] != "pending" {
					t.Fatalf("body %v", b)
				}
			}},
		{name: "email login_or_create", path: "/otps/email/login_or_create", body: `{"email":"fresh@example.com","expires_in":10}`, status: 200,
			check: func(t *testing.T, b map[string]any) {
				str(t, b, "email_id")
				if b["user_created"] != true || b["status"] != "active" {
					t.Fatalf("body %v", b)
				}
			}},
		{name: "send to an unknown number is 404", path: "/otps/sms/send", body: `{"phone_number":"+14155550059"}`, status: 404, typ: "phone_number_not_found"},
		{name: "send to an unknown email is 404", path: "/otps/email/send", body: `{"email":"nobody@example.com"}`, status: 404, typ: "email_not_found"},
		{name: "invalid phone is 400", path: "/otps/sms/send", body: `{"phone_number":"555-1234"}`, status: 400, typ: "invalid_phone_number"},
		{name: "invalid email is 400", path: "/otps/email/login_or_create", body: `{"email":"a@b"}`, status: 400, typ: "invalid_email"},
		{name: "missing phone_number is 400 naming it", path: "/otps/sms/send", body: `{}`, status: 400, typ: "invalid_request", msgHas: "phone_number"},
		{name: "missing email is 400 naming it", path: "/otps/email/send", body: `{"phone_number":"+14155550050"}`, status: 400, typ: "invalid_request", msgHas: "email"},
		{name: "expires_in 0 is 400", path: "/otps/sms/send", body: `{"phone_number":"+14155550050","expires_in":0}`, status: 400, typ: "invalid_expires_in", msgHas: "expires_in"},
		{name: "expires_in 11 is 400", path: "/otps/sms/send", body: `{"phone_number":"+14155550050","expires_in":11}`, status: 400, typ: "invalid_expires_in", msgHas: "expires_in"},
		{name: "fractional expires_in is 400", path: "/otps/sms/send", body: `{"phone_number":"+14155550050","expires_in":1.5}`, status: 400, typ: "invalid_expires_in"},
		{name: "expires_in as string is 400", path: "/otps/sms/send", body: `{"phone_number":"+14155550050","expires_in":"5"}`, status: 400, typ: "invalid_request", msgHas: "expires_in"},
		{name: "bad device_fingerprint.ip is 400", path: "/otps/sms/send", body: `{"phone_number":"+14155550050","device_fingerprint":{"ip":"not-an-ip"}}`, status: 400, typ: "invalid_request", msgHas: "device_fingerprint.ip"},
		{name: "device_fingerprint of wrong type is 400", path: "/otps/sms/send", body: `{"phone_number":"+14155550050","device_fingerprint":"x"}`, status: 400, typ: "invalid_request", msgHas: "device_fingerprint"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := f.c.do("POST", "/v1/auth"+tc.path, tc.body)
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

func TestVerifyOTP(t *testing.T) {
	t.Parallel()
	verify := func(c *client, mid, code, extra string) *response {
		c.t.Helper()
		return c.do("POST", "/v1/auth/otps/verify", `{"method_id":`+q(mid)+`,"otp":`+q(code)+extra+`}`)
	}

	t.Run("wrong code gets the seed's exact error body", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		f.createPhoneUser("+14155550060")
		mid, code := f.sendSMS("+14155550060")
		res := verify(f.c, mid, wrongCode(code), "")
		if res.Status != 400 || res.Raw != seedInvalidOTP {
			t.Fatalf("got %d %s", res.Status, res.Raw)
		}
	})

	t.Run("malformed code is invalid_otp", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		f.createPhoneUser("+14155550060")
		mid, code := f.sendSMS("+14155550060")
		for _, bad := range []string{"12345", "1234567", "abcdef", " 12345"} {
			res := verify(f.c, mid, bad, "")
			if res.Status != 400 || res.Raw != seedInvalidOTP {
				t.Fatalf("otp %q: got %d %s", bad, res.Status, res.Raw)
			}
		}
		verify(f.c, mid, code, "").ok(t) // malformed tries did not count
	})

	t.Run("right code authenticates once; reuse fails", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		uid, _ := f.createPhoneUser("+14155550061")
		mid, code := f.sendSMS("+14155550061")
		b := verify(f.c, mid, code, "").ok(t)
		if b["user_id"] != uid || b["method_id"] != mid || b["method_type"] != "phone_number" {
			t.Fatalf("body %v", b)
		}
		verify(f.c, mid, code, "").fail(t, 400, "otp_expired")
	})

	t.Run("five wrong tries lock the code; then even the right one fails", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		f.createPhoneUser("+14155550062")
		mid, code := f.sendSMS("+14155550062")
		for i := 0; i < 5; i++ {
			verify(f.c, mid, wrongCode(code), "").fail(t, 400, "invalid_otp")
		}
		verify(f.c, mid, code, "").fail(t, 400, "otp_expired")
	})

	t.Run("a new send invalidates the previous code", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		f.createPhoneUser("+14155550063")
		mid, first := f.sendSMS("+14155550063")
		_, second := f.sendSMS("+14155550063")
		if first != second {
			res := verify(f.c, mid, first, "")
			if res.Status != 400 {
				t.Fatalf("old code: %d %s", res.Status, res.Raw)
			}
		}
		verify(f.c, mid, second, "").ok(t)
	})

	t.Run("expired code fails with otp_expired", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		f.createPhoneUser("+14155550064")
		f.env.Service.SetClock(func() time.Time { return time.Now().Add(-10 * time.Minute) })
		mid, code := f.sendSMS("+14155550064") // expires_in default 1 minute, issued 10 minutes ago
		f.env.Service.SetClock(time.Now)
		verify(f.c, mid, code, "").fail(t, 400, "otp_expired")
	})

	t.Run("expires_in is honoured", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		f.createPhoneUser("+14155550065")
		f.env.Service.SetClock(func() time.Time { return time.Now().Add(-3 * time.Minute) })
		b := f.c.do("POST", "/v1/auth/otps/sms/send", `{"phone_number":"+14155550065","expires_in":5}`).ok(t)
		f.env.Service.SetClock(time.Now)
		verify(f.c, str(t, b, "phone_number_id"), f.env.LastCode("+14155550065"), "").ok(t)
	})

	t.Run("session_expires_in creates a session", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		b := f.login("+14155550066")
		sess := obj(t, b, "session")
		if sess["session_token"] != b["session_token"] || str(t, b, "session_jwt") == "" {
			t.Fatalf("body %v", b)
		}
	})

	t.Run("session_token extends that session with the new factor", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		first := f.login("+14155550067")
		token := str(t, first, "session_token")
		uid := str(t, first, "user_id")
		f.c.do("POST", "/v1/auth/users/"+uid+"/update", `{"emails":[{"email":"second@example.com"}]}`).ok(t)
		b := f.c.do("POST", "/v1/auth/otps/email/send", `{"email":"second@example.com"}`).ok(t)
		res := verify(f.c, str(t, b, "email_id"), f.env.LastCode("second@example.com"), `,"session_token":`+q(token)).ok(t)
		if res["session_token"] != token || res["method_type"] != "email" {
			t.Fatalf("body %v", res)
		}
		factors := arr(t, obj(t, res, "session"), "factors")
		if len(factors) != 2 {
			t.Fatalf("factors %v, want sms and email", factors)
		}
		m := obj(t, factors[1].(map[string]any), "method")
		if m["method_type"] != "email" || m["email"] != "second@example.com" || m["email_id"] != b["email_id"] {
			t.Fatalf("email factor %v", m)
		}
	})

	t.Run("session of another user is rejected", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		token := str(t, f.login("+14155550068"), "session_token")
		f.createPhoneUser("+14155550069")
		mid, code := f.sendSMS("+14155550069")
		verify(f.c, mid, code, `,"session_token":`+q(token)).fail(t, 400, "session_user_mismatch")
	})

	t.Run("device_fingerprint is recorded on the session", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		f.createPhoneUser("+14155550070")
		mid, code := f.sendSMS("+14155550070")
		b := verify(f.c, mid, code, `,"session_expires_in":5,"device_fingerprint":{"ip":"198.51.100.7","user_agent":"UA/1"}`).ok(t)
		df := obj(t, obj(t, b, "session"), "device_fingerprint")
		if df["ip"] != "198.51.100.7" || df["user_agent"] != "UA/1" {
			t.Fatalf("device_fingerprint %v", df)
		}
	})

	t.Run("validation errors", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		f.createPhoneUser("+14155550071")
		mid, code := f.sendSMS("+14155550071")
		tests := []struct {
			name, body, typ, msgHas string
		}{
			{"missing method_id", `{"otp":"123456"}`, "invalid_request", "method_id"},
			{"missing otp", `{"method_id":` + q(mid) + `}`, "invalid_request", "otp"},
			{"otp as number", `{"method_id":` + q(mid) + `,"otp":123456}`, "invalid_request", "otp"},
			{"session_expires_in below 5", `{"method_id":` + q(mid) + `,"otp":` + q(code) + `,"session_expires_in":4}`, "invalid_session_expires_in", "session_expires_in"},
			{"session_expires_in above 525600", `{"method_id":` + q(mid) + `,"otp":` + q(code) + `,"session_expires_in":525601}`, "invalid_session_expires_in", "session_expires_in"},
			{"session_expires_in as string", `{"method_id":` + q(mid) + `,"otp":` + q(code) + `,"session_expires_in":"60"}`, "invalid_request", "session_expires_in"},
			{"both session_token and session_jwt", `{"method_id":` + q(mid) + `,"otp":` + q(code) + `,"session_token":"a","session_jwt":"b"}`, "too_many_session_arguments", ""},
			{"malformed method_id", `{"method_id":"a b","otp":"123456"}`, "invalid_method_id", ""},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				res := f.c.do("POST", "/v1/auth/otps/verify", tc.body)
				res.fail(t, 400, tc.typ)
				if tc.msgHas != "" && !strings.Contains(res.Body["error_message"].(string), tc.msgHas) {
					t.Fatalf("error_message %q does not name %s", res.Body["error_message"], tc.msgHas)
				}
			})
		}
		verify(f.c, mid, code, "").ok(t) // none of them consumed the code
	})

	t.Run("unknown method_id is 404 otp_not_found", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		verify(f.c, "phone-number-test-00000000-0000-4000-8000-000000000000", "123456", "").fail(t, 404, "otp_not_found")
	})

	t.Run("another project's secret cannot verify this project's method", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		f.createPhoneUser("+14155550072")
		mid, code := f.sendSMS("+14155550072")
		verify(f.other(), mid, code, "").fail(t, 404, "otp_not_found")
		verify(f.c, mid, code, "").ok(t)
	})

	t.Run("email OTP verifies with method_type email", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		b := f.c.do("POST", "/v1/auth/otps/email/login_or_create", `{"email":"eotp@example.com","requires_verification":true}`).ok(t)
		res := verify(f.c, str(t, b, "email_id"), f.env.LastCode("eotp@example.com"), "").ok(t)
		if res["method_type"] != "email" || res["user_id"] != b["user_id"] {
			t.Fatalf("body %v", res)
		}
		if u := f.c.do("GET", "/v1/auth/users/"+str(t, b, "user_id"), "").ok(t); u["status"] != "active" {
			t.Fatalf("pending user not activated: %v", u)
		}
	})
}
