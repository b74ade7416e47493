package smsroute_test

import (
	"testing"

	"github.com/sesame-auth/sesame/internal/auth"
	"github.com/sesame-auth/sesame/internal/authtest"
	"github.com/sesame-auth/sesame/internal/smsroute"
)

// BenchmarkSend measures the router's own cost around an instant provider:
// routing and breaker bookkeeping alone, and with each attempt recorded in
// Postgres (one UPDATE of the message row).
func BenchmarkSend(b *testing.B) {
	env := authtest.New(b)
	if _, err := env.Service.SendOTP(b.Context(), env.Project, auth.SendOTPInput{Channel: auth.ChannelSMS, To: indiaPhone, LoginOrCreate: true}); err != nil {
		b.Fatal(err)
	}
	msgID := env.Publisher.Last(indiaPhone, auth.KindOTP).MessageID
	for _, bc := range []struct {
		name string
		rec  smsroute.Recorder
	}{{"RouteOnly", nil}, {"RecordedInPostgres", env.Store}} {
		b.Run(bc.name, func(b *testing.B) {
			r, err := smsroute.New(smsroute.Config{
				Providers: []smsroute.Provider{{Name: "twilio", Sender: &stub{}}, {Name: "india", Sender: &stub{}}},
				Routes:    []smsroute.Route{{Prefix: "+91", Providers: []string{"india", "twilio"}}},
				Recorder:  bc.rec,
			})
			if err != nil {
				b.Fatal(err)
			}
			m := &auth.OutboundMessage{MessageID: msgID, Channel: auth.ChannelSMS, To: indiaPhone, Text: "123456"}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := r.Send(b.Context(), m); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
