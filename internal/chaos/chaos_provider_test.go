//go:build chaos

package chaos_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/internal/fakeprovider"
)

// TestChaos_ProviderHangsPastTheClientTimeout makes both fakes answer
// after 12 s, past the clients' 10 s timeout, for the first sends, then
// answer at once. The hung calls must be abandoned and retried, so
// everything arrives. A hung provider may still accept what the client gave
// up on (the fake does: it answers 201 after 12 s to a client that left),
// and the worker cannot know: that is the duplicate window, so each hung
// call may be delivered twice, and nothing else may be.
func TestChaos_ProviderHangsPastTheClientTimeout(t *testing.T) {
	d := start(t, options{smsWorkers: 1, emailWorkers: 1})
	d.twilio.SetLatency(12 * time.Second)
	d.sg.SetLatency(12 * time.Second)
	const n = 20
	tl := newTally()
	d.burst(tl, 3, n, 4, true, -1, nil)
	if !waitFor(10*time.Second, func() bool { return d.twilio.Requests()+d.sg.Requests() >= n }) {
		t.Fatalf("only %d provider calls started", d.twilio.Requests()+d.sg.Requests())
	}
	d.twilio.SetLatency(0)
	d.sg.SetLatency(0)
	hung := d.twilio.Requests() + d.sg.Requests()
	r := d.settle(tl, 90*time.Second, nil)
	calls := d.twilio.Requests() + d.sg.Requests()
	report(t, "provider-hangs", r, "hung_calls="+itoa(hung)+" provider_calls="+itoa(calls))
	if calls <= hung {
		t.Errorf("%d provider calls, %d of them hung: the hung calls were not retried", calls, hung)
	}
	if r.duplicated > hung || r.dead != 0 {
		t.Errorf("duplicated=%d dead=%d, want at most the %d hung calls and 0", r.duplicated, r.dead, hung)
	}
}

// TestChaos_Provider429RetryAfterIsHonoured throttles the first sends with
// 429 and Retry-After: 3 at both fakes: they arrive once, not before the
// provider allowed.
func TestChaos_Provider429RetryAfterIsHonoured(t *testing.T) {
	d := start(t, options{smsWorkers: 1, emailWorkers: 1})
	const n, throttled = 20, 5
	h := http.Header{}
	h.Set("Retry-After", "3")
	d.twilio.FailNextWith(throttled, fakeprovider.Failure{Status: 429, TwilioCode: 20429, Header: h})
	d.sg.FailNextWith(throttled, fakeprovider.Failure{Status: 429, Header: h})
	tl := newTally()
	d.burst(tl, 4, n, 4, true, -1, nil)
	r := d.settle(tl, 90*time.Second, nil)
	calls := d.twilio.Requests() + d.sg.Requests()
	report(t, "provider-429-retry-after", r, "provider_calls="+itoa(calls))
	if calls != r.accepted+2*throttled {
		t.Errorf("%d provider calls, want %d (each throttled send retried once)", calls, r.accepted+2*throttled)
	}
	if r.worstDelay < 3*time.Second {
		t.Errorf("worst delay %s: a throttled send was retried before Retry-After", r.worstDelay)
	}
	if r.duplicated != 0 || r.dead != 0 {
		t.Errorf("duplicated=%d dead=%d, want 0 and 0", r.duplicated, r.dead)
	}
}

// TestChaos_PermanentRefusalsAreFailedNotRetried answers Twilio 21211
// (invalid To) and SendGrid 400 for some sends: those are terminated at
// once (one provider call each), recorded as failed with the provider's
// reason in the operator API, and the rest arrive. Each failed message can
// be replayed: its payload left Postgres with its outbox row at publish
// and came back from the event the worker failed (migration 0020).
func TestChaos_PermanentRefusalsAreFailedNotRetried(t *testing.T) {
	d := start(t, options{smsWorkers: 1, emailWorkers: 1, concurrency: 1})
	const n, refused = 20, 3
	d.twilio.FailNextWith(refused, fakeprovider.Failure{Status: 400, TwilioCode: 21211})
	d.sg.FailNextWith(refused, fakeprovider.Failure{Status: 400,
		Body: `{"errors":[{"message":"Does not contain a valid address.","field":"personalizations.0.to.0.email","help":null}]}`, ContentType: "application/json"})
	tl := newTally()
	d.burst(tl, 5, n, 1, true, -1, nil)
	// The failed ones are whichever sends reached each fake first; find
	// them in the operator API.
	var failed []map[string]any
	waitFor(30*time.Second, func() bool { failed = d.messages("failed"); return len(failed) >= 2*refused })
	refusedTo := map[string]bool{}
	for _, m := range failed {
		to, _ := m["recipient"].(string)
		refusedTo[strings.ToLower(to)] = true
		lastErr, _ := m["last_error"].(string)
		if attempts, _ := m["attempts"].(float64); attempts != 1 || lastErr == "" {
			t.Errorf("failed message %v: attempts=%v last_error=%q, want 1 attempt and the provider's reason", m["message_id"], m["attempts"], lastErr)
		}
	}
	r := d.settle(tl, 60*time.Second, refusedTo)
	calls := d.twilio.Requests() + d.sg.Requests()
	report(t, "provider-permanent-21211-400", r, "provider_calls="+itoa(calls))
	if r.dead != 2*refused {
		t.Errorf("dead=%d, want %d (the refused ones, nothing else)", r.dead, 2*refused)
	}
	if calls != r.accepted {
		t.Errorf("%d provider calls for %d sends: a refused send was retried", calls, r.accepted)
	}
	if r.delivered != r.accepted-2*refused || r.duplicated != 0 {
		t.Errorf("delivered=%d duplicated=%d, want %d and 0", r.delivered, r.duplicated, r.accepted-2*refused)
	}
	for _, m := range failed {
		id, _ := m["message_id"].(string)
		if st, body := d.post("/v1/messages/"+id+"/replay", map[string]any{}); st != 200 {
			t.Errorf("replay of failed message %s: %d %v, want 200", id, st, body)
		}
	}
}
