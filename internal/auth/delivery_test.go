package auth_test

import (
	"testing"
	"time"

	"github.com/sesame-auth/sesame/internal/auth"
	"github.com/sesame-auth/sesame/internal/authtest"
)

// A redelivered message whose lease another worker holds is retried right
// after that lease ends, never sent while it lives; one whose lease lapsed
// (its attempt provably ended) is sent at once.
func TestDelivererLeaseHeldByAnotherWorker(t *testing.T) {
	const phone = "+14155550123"
	render := func(ev *auth.Event) *auth.OutboundMessage {
		return &auth.OutboundMessage{MessageID: ev.MessageID, Channel: ev.Channel, To: ev.To, Text: "code"}
	}
	tests := []struct {
		name           string
		otherLease     time.Duration
		wantCalls      int
		wantRetryAfter [2]time.Duration // bounds; zero: no error
		status         auth.MessageStatus
	}{
		{"LiveLeaseRetriedWhenItEndsNotSent", 7 * time.Second, 0, [2]time.Duration{6 * time.Second, 7 * time.Second}, auth.MessageSending},
		{"LapsedLeaseSentAtOnce", -time.Second, 1, [2]time.Duration{}, auth.MessageSent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := authtest.New(t)
			mustSend(t, env, env.Project, auth.SendOTPInput{Channel: auth.ChannelSMS, To: phone, LoginOrCreate: true})
			ev := env.Events()[0]
			if d, err := env.Store.BeginDelivery(t.Context(), ev.MessageID, tt.otherLease); err != nil || d != auth.DeliverySend {
				t.Fatalf("other worker's BeginDelivery = %v, %v", d, err)
			}
			s := &fakeSender{}
			err := (&auth.Deliverer{Store: env.Store, Sender: s, Render: render}).Deliver(t.Context(), ev)
			if s.calls != tt.wantCalls {
				t.Fatalf("provider calls = %d, want %d", s.calls, tt.wantCalls)
			}
			if tt.wantRetryAfter == [2]time.Duration{} {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
			} else {
				de := auth.AsDeliveryError(err)
				if err == nil || de.Permanent || de.RetryAfter < tt.wantRetryAfter[0] || de.RetryAfter > tt.wantRetryAfter[1] {
					t.Fatalf("err = %v (retry after %s), want retryable in %v", err, de.RetryAfter, tt.wantRetryAfter)
				}
			}
			m, err := env.Service.GetMessage(t.Context(), env.Project, ev.MessageID)
			if err != nil {
				t.Fatal(err)
			}
			if m.Status != tt.status {
				t.Fatalf("status = %s, want %s", m.Status, tt.status)
			}
		})
	}
}
