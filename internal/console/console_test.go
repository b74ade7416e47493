package console_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/sesame-auth/sesame/internal/auth"
	"github.com/sesame-auth/sesame/internal/console"
)

func TestSender_Send(t *testing.T) {
	t.Run("PrintsChannelToSubjectAndText", func(t *testing.T) {
		var buf bytes.Buffer
		s := console.New(&buf)
		id, err := s.Send(t.Context(), &auth.OutboundMessage{
			MessageID: "m1", Channel: auth.ChannelEmail, To: "ada@example.com",
			Subject: "Your verification code", Text: "Your code is:\n\n123456", HTML: "<p>ignored</p>",
		})
		if err != nil {
			t.Fatal(err)
		}
		if id != "console-1" {
			t.Errorf("id = %q", id)
		}
		out := buf.String()
		for _, want := range []string{"email", "ada@example.com", "m1", "Subject: Your verification code", "\n123456\n"} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
		if strings.Contains(out, "<p>") {
			t.Errorf("HTML part printed:\n%s", out)
		}
	})
	t.Run("StripsTerminalControlCharacters", func(t *testing.T) {
		var buf bytes.Buffer
		_, err := console.New(&buf).Send(t.Context(), &auth.OutboundMessage{
			Channel: auth.ChannelSMS, To: "+1555\x1b[2J0000", Text: "123456\x1b]0;pwned\x07 is your code",
		})
		if err != nil {
			t.Fatal(err)
		}
		if strings.ContainsAny(buf.String(), "\x1b\x07") {
			t.Errorf("control characters written: %q", buf.String())
		}
	})
	t.Run("WriteErrorIsRetryable", func(t *testing.T) {
		_, err := console.New(failWriter{}).Send(t.Context(), &auth.OutboundMessage{Channel: auth.ChannelSMS, To: "+1", Text: "x"})
		de := auth.AsDeliveryError(err)
		if err == nil || de.Permanent || de.Reason != "console write" {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("CanceledContextIsRetryable", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		var buf bytes.Buffer
		_, err := console.New(&buf).Send(ctx, &auth.OutboundMessage{Channel: auth.ChannelSMS, To: "+1", Text: "x"})
		if de := auth.AsDeliveryError(err); err == nil || de.Permanent || !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v", err)
		}
		if buf.Len() != 0 {
			t.Errorf("wrote %q", buf.String())
		}
	})
	t.Run("ConcurrentSendsDoNotInterleave", func(t *testing.T) {
		var buf bytes.Buffer // not safe for concurrent use on its own
		s := console.New(&buf)
		var wg sync.WaitGroup
		for i := range 50 {
			wg.Go(func() {
				_, err := s.Send(t.Context(), &auth.OutboundMessage{
					Channel: auth.ChannelSMS, To: "+15550000000",
					Text: strings.Repeat(string(rune('a'+i%26)), 200),
				})
				if err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		blocks := strings.Split(strings.TrimSuffix(buf.String(), "────\n"), "────\n──── ")
		if len(blocks) != 50 {
			t.Fatalf("got %d blocks", len(blocks))
		}
		for _, b := range blocks {
			lines := strings.Split(strings.TrimSpace(b), "\n")
			body := lines[len(lines)-1]
			if len(body) != 200 || strings.Count(body, body[:1]) != 200 {
				t.Errorf("interleaved body %q", body)
			}
		}
	})
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }
