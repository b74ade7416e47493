package streambird_test

import (
	"fmt"
	"net/http"
	"testing"
)

// The requests of seed 000_ed2e06343c1dde23.txt, byte for byte (secret,
// headers and bodies, including the invalid update body). Only the ids
// the server generates are substituted into the later requests.
const (
	seedSecret = "sk_test_KJuRUZmh1XC342h1n39gH84MuSZDyD13NfhtDkaY6IfwpQA0H"

	seedCreateBody = `{
    "phone_number": "+14152222222"
}`
	seedUpdateBody = `{
    "phone_numbers": [
        "phone_number": "+14152222222"
    ]
}`
	seedSendBody = `{
    "phone_number": "+14152222222"
}`
	// seedVerifyBody is the seed's verify body with its method_id and otp replaced.
	seedVerifyBody = `{
    "method_id": %s,
    "otp": %s
}`

	// seedInvalidOTP is the seed's error body for a wrong code, in this
	// package's field order.
	seedInvalidOTP = `{"status_code":400,"error_type":"invalid_otp","error_message":"Invalid OTP Code."}`
)

func seedRequest(c *client, method, path, body string) *response {
	c.t.Helper()
	return c.doWith(method, path, body, func(r *http.Request) {
		r.Header.Set("Authorization", "Bearer "+seedSecret)
		r.Header.Set("Content-Type", "application/json")
	})
}

func TestSeedFlowCreatesUpdatesSendsAndVerifies(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	c := f.seedProject(seedSecret)

	// 2 - Create user.
	created := seedRequest(c, "POST", "/v1/auth/users/create", seedCreateBody).ok(t)
	userID := str(t, created, "user_id")
	if created["status"] != "active" {
		t.Fatalf("status %v, want active", created["status"])
	}
	pnID := str(t, created, "phone_number_id")

	// 2 - Update user with the seed's (invalid JSON) body: accepted, and
	// attaching the number the user already has is a no-op.
	updated := seedRequest(c, "POST", "/v1/auth/users/"+userID+"/update", seedUpdateBody).ok(t)
	if updated["user_id"] != userID {
		t.Fatalf("update user_id %v, want %s", updated["user_id"], userID)
	}
	phones := arr(t, updated, "phone_numbers")
	if len(phones) != 1 || phones[0].(map[string]any)["phone_number"] != "+14152222222" || phones[0].(map[string]any)["id"] != pnID {
		t.Fatalf("phone_numbers %v, want the one number %s", phones, pnID)
	}

	// 3 - Send OTP by SMS: the response of the seed.
	sent := seedRequest(c, "POST", "/v1/auth/otps/sms/send", seedSendBody).ok(t)
	if sent["phone_number_id"] != pnID || sent["user_id"] != userID || sent["user_active"] != true {
		t.Fatalf("send response %v, want phone_number_id %s, user_id %s, user_active true", sent, pnID, userID)
	}
	code := f.env.LastCode("+14152222222")

	// 4 - A wrong code: exactly the seed's error body.
	wrong := seedRequest(c, "POST", "/v1/auth/otps/verify", fmt.Sprintf(seedVerifyBody, q(pnID), q(wrongCode(code))))
	if wrong.Status != 400 || wrong.Raw != seedInvalidOTP {
		t.Fatalf("wrong code: %d %s, want 400 %s", wrong.Status, wrong.Raw, seedInvalidOTP)
	}

	// 4 - The right code, no session parameters: no session.
	ok := seedRequest(c, "POST", "/v1/auth/otps/verify", fmt.Sprintf(seedVerifyBody, q(pnID), q(code))).ok(t)
	if ok["method_id"] != pnID || ok["method_type"] != "phone_number" || ok["user_id"] != userID {
		t.Fatalf("verify response %v", ok)
	}
	for _, k := range []string{"session_token", "session_jwt", "session"} {
		if _, has := ok[k]; has {
			t.Fatalf("verify without session_expires_in returned %s: %v", k, ok)
		}
	}

	// With session_expires_in a session is created and its token returned.
	seedRequest(c, "POST", "/v1/auth/otps/sms/send", seedSendBody).ok(t)
	code = f.env.LastCode("+14152222222")
	withSession := seedRequest(c, "POST", "/v1/auth/otps/verify",
		`{"method_id": `+q(pnID)+`, "otp": `+q(code)+`, "session_expires_in": 60}`).ok(t)
	token := str(t, withSession, "session_token")
	str(t, withSession, "session_jwt")
	sess := obj(t, withSession, "session")
	if sess["session_token"] != token || sess["user_id"] != userID {
		t.Fatalf("session %v, want token and user_id of the response", sess)
	}
	if got := epochSeconds(t, sess, "expires_at") - epochSeconds(t, sess, "started_at"); got < 3590 || got > 3610 {
		t.Fatalf("session lasts %ds, want 3600", got)
	}
	factor := arr(t, sess, "factors")[0].(map[string]any)
	method := obj(t, factor, "method")
	if factor["delivery_channel"] != "sms" || factor["type"] != "otp" || method["method_id"] != pnID ||
		method["method_type"] != "phone_number" || method["phone_number_id"] != pnID || method["phone_number"] != "+14152222222" {
		t.Fatalf("factor %v", factor)
	}
	epochSeconds(t, method, "last_verified_at")
	obj(t, sess, "device_fingerprint")

	// The phone number is now verified on the user.
	u := seedRequest(c, "GET", "/v1/auth/users/"+userID, "").ok(t)
	if arr(t, u, "phone_numbers")[0].(map[string]any)["verified"] != true {
		t.Fatalf("phone not verified after OTP: %v", u)
	}
}
