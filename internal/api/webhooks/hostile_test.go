package webhooks_test

import (
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/internal/auth"
)

// TestHostileSignedReportsAreRefusedAndRecordNothing posts correctly
// signed reports that would mark a message delivered but for one hostile
// part: each is a 4xx JSON answer and the message stays sent.
func TestHostileSignedReportsAreRefusedAndRecordNothing(t *testing.T) {
	e := newEnv(t)
	sgID := strings.ReplaceAll(auth.NewUUID(), "-", "")[:22]
	emailMsg := e.sentMessage(t, auth.ChannelEmail, sgID)
	smsMsg := e.sentMessage(t, auth.ChannelSMS, "SM"+strings.ReplaceAll(auth.NewUUID(), "-", ""))
	smsSID := e.message(t, smsMsg).ProviderID
	event := `{"event":"delivered","sg_message_id":"` + sgID + `.filter0","sg_event_id":"ev-` + sgID + `"`
	batch := func(extra string) string { return `[` + event + `,"x":"` + extra + `"}]` }
	sendgrid := []struct {
		name, body string
		status     int
	}{
		{"trailing data", `[` + event + `}]] junk`, 400},
		{"second JSON value", `[` + event + `}][]`, 400},
		{"NUL escape", batch(`a\u0000b`), 400},
		{"raw invalid UTF-8", batch("a\xffb"), 400},
		{"lone surrogate", batch(`a\ud800b`), 400},
		{"oversize body", batch(strings.Repeat("a", 4<<20)), 413},
		{"not JSON", `event=delivered`, 400},
	}
	for _, tc := range sendgrid {
		t.Run("sendgrid/"+tc.name, func(t *testing.T) {
			ts := strconv.FormatInt(time.Now().Unix(), 10)
			w := e.serve(sendgridRequest([]byte(tc.body), sendgridSignature(t, e.sgKey, ts, []byte(tc.body)), ts))
			var m map[string]any
			if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil || w.Code != tc.status {
				t.Fatalf("= %d %.200s (%v), want %d in JSON", w.Code, w.Body, err, tc.status)
			}
		})
	}
	form := func(k, v string) url.Values {
		return url.Values{"MessageSid": {smsSID}, "MessageStatus": {"delivered"}, k: {v}}
	}
	twilio := []struct {
		name   string
		form   url.Values
		status int
	}{
		{"NUL in a value", form("AccountSid", "AC\x00"), 400},
		{"invalid UTF-8 in a value", form("To", "+1\xff"), 400},
		{"invalid UTF-8 in a key", form("X\xff", "1"), 400},
		{"oversize body", form("Body", strings.Repeat("a", 70<<10)), 413},
	}
	for _, tc := range twilio {
		t.Run("twilio/"+tc.name, func(t *testing.T) {
			w := e.serve(twilioRequest(tc.form, twilioSignature(twilioToken, publicURL+twilioPath, tc.form)))
			var m map[string]any
			if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil || w.Code != tc.status {
				t.Fatalf("= %d %.200s (%v), want %d in JSON", w.Code, w.Body, err, tc.status)
			}
		})
	}
	for _, id := range []string{emailMsg, smsMsg} {
		if m := e.message(t, id); m.Status != auth.MessageSent || m.DeliveredAt != nil {
			t.Errorf("message %s after hostile reports: %s, want still sent", id, m.Status)
		}
	}
	// The same reports without the hostile part are recorded (the test
	// above would otherwise prove nothing).
	// A batch over the API's 1 MiB body cap but under SendGrid's 4 MiB is
	// a batch SendGrid may send: taken.
	ok := `[` + event + `}]` + strings.Repeat(" ", 2<<20)
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	if w := e.serve(sendgridRequest([]byte(ok), sendgridSignature(t, e.sgKey, ts, []byte(ok)), ts)); w.Code != 200 {
		t.Fatalf("clean batch: %d %s", w.Code, w.Body)
	}
	clean := url.Values{"MessageSid": {smsSID}, "MessageStatus": {"delivered"}}
	if w := e.serve(twilioRequest(clean, twilioSignature(twilioToken, publicURL+twilioPath, clean))); w.Code != 200 {
		t.Fatalf("clean callback: %d %s", w.Code, w.Body)
	}
	for _, id := range []string{emailMsg, smsMsg} {
		if m := e.message(t, id); m.Status != auth.MessageDelivered {
			t.Errorf("message %s after clean reports: %s, want delivered", id, m.Status)
		}
	}
}
