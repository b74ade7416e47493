package postgres_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/sesame-auth/sesame/internal/auth"
)

// BenchmarkSendVerify runs the store side of one OTP login: resolve (create)
// the phone's user, issue a challenge with its outbox message, count the
// attempt and consume it.
func BenchmarkSendVerify(b *testing.B) {
	e := newEnv(b)
	ctx := b.Context()
	p := e.project(b)
	payload := make([]byte, 256)
	i := 0
	for b.Loop() {
		i++
		phone := fmt.Sprintf("+1415%07d", i)
		userID, methodID, _, _, err := e.db.ResolveMethod(ctx, p, auth.ChannelSMS, phone, true, true)
		if err != nil {
			b.Fatal(err)
		}
		c := &auth.Challenge{ID: auth.NewID(auth.PrefixChallenge, p), ProjectID: p.ID, UserID: userID, MethodID: methodID,
			Channel: auth.ChannelSMS, CodeHMAC: hash(phone), ExpiresAt: time.Now().Add(10 * time.Minute)}
		m := &auth.Message{ID: auth.NewID(auth.PrefixMessage, p), Recipient: phone}
		if err := e.db.CreateChallenge(ctx, c, m, payload); err != nil {
			b.Fatal(err)
		}
		if _, err := e.db.AttemptChallenge(ctx, p.ID, methodID, 5); err != nil {
			b.Fatal(err)
		}
		if err := e.db.ConsumeChallenge(ctx, p.ID, c.ID); err != nil {
			b.Fatal(err)
		}
	}
}
