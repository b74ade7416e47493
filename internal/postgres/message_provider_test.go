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
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, m := e.challenge(t, p, u, u.Phones[0].ID, auth.ChannelSMS, time.Hour)
			for i, name := range tt.attempts {
				accepted := i == len(tt.attempts)-1 && !tt.noAccept
				wantCode(t, e.db.RecordProviderAttempt(ctx, m.ID, name, accepted), "")
			}
			got, err := e.db.FindMessage(ctx, p.ID, m.ID)
			wantCode(t, err, "")
			if strings.Join(got.ProvidersTried, ",") != tt.wantTried || got.Provider != tt.wantProvider {
				t.Fatalf("tried %q provider %q, want %q %q", got.ProvidersTried, got.Provider, tt.wantTried, tt.wantProvider)
			}
		})
	}
	t.Run("OKMissingMessageIsNotAnError", func(t *testing.T) {
		wantCode(t, e.db.RecordProviderAttempt(ctx, "message-test-gone", "twilio", true), "")
	})
}
