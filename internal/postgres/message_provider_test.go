package postgres_test

import (
	"strings"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/internal/auth"
)

func TestRecordProviderAttempt(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := ctxT(t)
	p := e.project(t)
	u := e.user(t, p, "", "+14155550100")
	tests := []struct {
		name         string
		attempts     []string // provider names; the last one accepts unless noAccept
		noAccept     bool
		wantTried    string
		wantProvider string
	}{
		{"OKAcceptedFirstTry", []string{"twilio"}, false, "twilio", "twilio"},
		{"OKFailoverKeepsOrder", []string{"twilio", "twilio", "india"}, false, "twilio,twilio,india", "india"},
		{"OKNoneAcceptedYet", []string{"gw", "gw"}, true, "gw,gw", ""},
		{"OKCappedAt32", strings.Split(strings.Repeat("a,", 40)+"b", ","), false, strings.TrimSuffix(strings.Repeat("a,", 32), ","), "b"},
	}
	// Each case records its attempts on their own (RecordProviderAttempt,
	// smsroute's Recorder) and with each attempt's outcome
	// (FinishDeliveryAttempt, what a Deliverer uses): same record.
	for _, withOutcome := range []bool{false, true} {
		for _, tt := range tests {
			name := tt.name
			if withOutcome {
				name += "WithOutcome"
			}
			t.Run(name, func(t *testing.T) {
				_, m := e.challenge(t, p, u, u.Phones[0].ID, auth.ChannelSMS, time.Hour)
				for i, name := range tt.attempts {
					accepted := i == len(tt.attempts)-1 && !tt.noAccept
					if !withOutcome {
						wantCode(t, e.db.RecordProviderAttempt(ctx, m.ID, name, accepted), "")
						continue
					}
					status, pid := auth.MessageRetrying, ""
					if accepted {
						status, pid = auth.MessageSent, "SM1"
					}
					wantCode(t, e.db.FinishDeliveryAttempt(ctx, m.ID, status, pid, "", auth.ProviderAttempt{Provider: name, Accepted: accepted}, nil), "")
				}
				got, err := e.db.FindMessage(ctx, p.ID, m.ID)
				wantCode(t, err, "")
				if strings.Join(got.ProvidersTried, ",") != tt.wantTried || got.Provider != tt.wantProvider {
					t.Fatalf("tried %q provider %q, want %q %q", got.ProvidersTried, got.Provider, tt.wantTried, tt.wantProvider)
				}
				if withOutcome && !tt.noAccept && (got.Status != auth.MessageSent || got.ProviderID != "SM1") {
					t.Fatalf("status %s provider id %q, want sent SM1", got.Status, got.ProviderID)
				}
			})
		}
	}
	t.Run("OKFinishWithoutAttemptKeepsRecord", func(t *testing.T) {
		_, m := e.challenge(t, p, u, u.Phones[0].ID, auth.ChannelSMS, time.Hour)
		wantCode(t, e.db.RecordProviderAttempt(ctx, m.ID, "twilio", true), "")
		wantCode(t, e.db.FinishDelivery(ctx, m.ID, auth.MessageSent, "SM2", ""), "")
		got, err := e.db.FindMessage(ctx, p.ID, m.ID)
		wantCode(t, err, "")
		if strings.Join(got.ProvidersTried, ",") != "twilio" || got.Provider != "twilio" {
			t.Fatalf("tried %q provider %q, want twilio twilio", got.ProvidersTried, got.Provider)
		}
	})
	t.Run("OKMissingMessageIsNotAnError", func(t *testing.T) {
		wantCode(t, e.db.RecordProviderAttempt(ctx, "message-test-gone", "twilio", true), "")
	})
}
