// Package console is a development auth.Sender that prints each message to
// an io.Writer (normally the terminal running `bin/api -dev`) instead of
// sending it.
//
// It prints the message text, so one-time codes and magic links appear in
// the output: that is its purpose, and it is the only place in Sesame where
// a code is printed. Never wire it up in production.
package console

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sesame-auth/sesame/internal/auth"
)

// Sender writes messages to W. It is safe for concurrent use: each message is
// written with a single Write call while holding a lock, so messages never
// interleave.
type Sender struct {
	mu  sync.Mutex
	w   io.Writer
	seq atomic.Uint64
	now func() time.Time
}

var _ auth.Sender = (*Sender)(nil)

// New returns a Sender writing to w.
func New(w io.Writer) *Sender {
	return &Sender{w: w, now: time.Now}
}

// Send prints m and returns a provider id of the form "console-N". A write
// error is returned as auth.Retryable("console write").
func (s *Sender) Send(ctx context.Context, m *auth.OutboundMessage) (string, error) {
	if m == nil {
		return "", auth.Permanent("console nil message", nil)
	}
	if err := ctx.Err(); err != nil {
		return "", auth.Retryable("console canceled", 0, err)
	}
	id := "console-" + strconv.FormatUint(s.seq.Add(1), 10)

	var b strings.Builder
	fmt.Fprintf(&b, "──── %s %s to %s (%s, message %s) ────\n",
		s.now().Format(time.TimeOnly), clean(string(m.Channel)), clean(m.To), id, clean(m.MessageID))
	if m.Subject != "" {
		fmt.Fprintf(&b, "Subject: %s\n\n", clean(m.Subject))
	}
	b.WriteString(clean(m.Text))
	if !strings.HasSuffix(m.Text, "\n") {
		b.WriteByte('\n')
	}
	b.WriteString("────\n")

	s.mu.Lock()
	_, err := io.WriteString(s.w, b.String())
	s.mu.Unlock()
	if err != nil {
		return "", auth.Retryable("console write", 0, err)
	}
	return id, nil
}

// clean drops control characters other than newline and tab, so an address
// or text cannot move the cursor or recolor the developer's terminal.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' {
			return r
		}
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return -1
		}
		return r
	}, s)
}
