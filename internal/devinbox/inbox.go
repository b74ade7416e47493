// Package devinbox is the development inbox of `bin/api -dev`: it keeps the
// last messages the console providers "sent" in memory and serves them as a
// page (/dev/inbox), as JSON for scripts (/dev/inbox.json) and as a live
// Server-Sent Events stream (/dev/inbox/events).
//
// Like internal/console, it shows one-time codes and magic links in clear:
// that is its purpose. The api mounts it in dev mode only; outside dev mode
// the same paths answer a JSON 404 (NotFound).
package devinbox

import (
	"context"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/sesame-auth/sesame/internal/auth"
)

// DefaultCapacity is how many messages an Inbox keeps when New is given 0.
const DefaultCapacity = 500

// maxField bounds every string kept from a message (bytes).
const maxField = 64 << 10

// Message is one captured message, as /dev/inbox.json and the event stream
// show it.
type Message struct {
	// Seq numbers messages from 1 in capture order (the SSE event id).
	Seq        uint64    `json:"seq"`
	ProviderID string    `json:"provider_id"` // e.g. "console-3"
	MessageID  string    `json:"message_id"`
	Channel    string    `json:"channel"` // sms, whatsapp or email
	To         string    `json:"to"`
	Subject    string    `json:"subject,omitempty"`
	Text       string    `json:"text"`
	HTML       string    `json:"html,omitempty"`
	Code       string    `json:"code,omitempty"` // the one-time code, if the message carries one
	Link       string    `json:"link,omitempty"` // the first http(s) URL (the magic link), if any
	SentAt     time.Time `json:"sent_at"`
}

// Inbox is a bounded, concurrency-safe ring of captured messages with live
// subscribers. The zero value is not usable; call New.
type Inbox struct {
	mu     sync.Mutex
	ring   []Message // capacity slots; ring[(start+i)%cap] is the i-th oldest
	start  int
	n      int
	seq    uint64
	subs   map[chan struct{}]struct{}
	closed chan struct{}
	now    func() time.Time
}

// New returns an empty Inbox keeping the last capacity messages
// (DefaultCapacity, 500, when capacity <= 0).
func New(capacity int) *Inbox {
	if capacity <= 0 {
		capacity = DefaultCapacity
	}
	return &Inbox{
		ring:   make([]Message, capacity),
		subs:   map[chan struct{}]struct{}{},
		closed: make(chan struct{}),
		now:    time.Now,
	}
}

// Add records m as sent with the provider's id and wakes the live streams.
// The oldest message is dropped when the inbox is full.
func (b *Inbox) Add(m *auth.OutboundMessage, providerID string) Message {
	msg := Message{
		ProviderID: bound(providerID),
		MessageID:  bound(m.MessageID),
		Channel:    bound(string(m.Channel)),
		To:         bound(m.To),
		Subject:    bound(m.Subject),
		Text:       bound(m.Text),
		HTML:       bound(m.HTML),
		Code:       FindCode(m.Text),
		Link:       FindLink(m.Text),
	}
	b.mu.Lock()
	b.seq++
	msg.Seq = b.seq
	msg.SentAt = b.now().UTC()
	if b.n < len(b.ring) {
		b.ring[(b.start+b.n)%len(b.ring)] = msg
		b.n++
	} else {
		b.ring[b.start] = msg
		b.start = (b.start + 1) % len(b.ring)
	}
	for ch := range b.subs {
		select {
		case ch <- struct{}{}:
		default: // already signalled; the stream reads everything new at once
		}
	}
	b.mu.Unlock()
	return msg
}

// Messages returns the kept messages, newest first.
func (b *Inbox) Messages() []Message {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]Message, 0, b.n)
	for i := b.n - 1; i >= 0; i-- {
		out = append(out, b.ring[(b.start+i)%len(b.ring)])
	}
	return out
}

// since returns the kept messages with Seq > after, oldest first.
func (b *Inbox) since(after uint64) []Message {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []Message
	for i := 0; i < b.n; i++ {
		if m := b.ring[(b.start+i)%len(b.ring)]; m.Seq > after {
			out = append(out, m)
		}
	}
	return out
}

// subscribe returns a channel signalled (without blocking Add) whenever a
// message arrives, and a func that ends the subscription.
func (b *Inbox) subscribe() (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	b.mu.Lock()
	b.subs[ch] = struct{}{}
	b.mu.Unlock()
	return ch, func() {
		b.mu.Lock()
		delete(b.subs, ch)
		b.mu.Unlock()
	}
}

// Close ends every live stream (so an http.Server shuts down without waiting
// for them) and refuses new ones. Add and Messages keep working.
func (b *Inbox) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	select {
	case <-b.closed:
	default:
		close(b.closed)
	}
}

// CloseOnDone closes the inbox when ctx is done.
func (b *Inbox) CloseOnDone(ctx context.Context) {
	go func() {
		select {
		case <-ctx.Done():
			b.Close()
		case <-b.closed:
		}
	}()
}

// Wrap returns a Sender that sends through s and records each message s
// accepted. A failed send is not recorded.
func (b *Inbox) Wrap(s auth.Sender) auth.Sender { return &tee{s: s, box: b} }

type tee struct {
	s   auth.Sender
	box *Inbox
}

func (t *tee) Send(ctx context.Context, m *auth.OutboundMessage) (string, error) {
	id, err := t.s.Send(ctx, m)
	if err == nil && m != nil {
		t.box.Add(m, id)
	}
	return id, err
}

var (
	urlRE = regexp.MustCompile(`https?://[^\s<>"']+`)
	// A code is a standalone group of 4 to 10 digits (see the contract's
	// "Messages"): not glued to other letters or digits.
	codeRE = regexp.MustCompile(`(?:^|[^\p{L}\p{N}])(\p{Nd}{4,10})(?:[^\p{L}\p{N}]|$)`)
)

// FindLink returns the first http or https URL in text, or "".
func FindLink(text string) string {
	l := strings.TrimRight(urlRE.FindString(text), ".,;:!?)")
	if l == "" || len(l) > maxField {
		return ""
	}
	if u, err := url.Parse(l); err != nil || u.Host == "" {
		return ""
	}
	return l
}

// FindCode returns the first standalone group of 4 to 10 digits in text
// outside any URL, or "".
func FindCode(text string) string {
	if len(text) > maxField {
		text = text[:maxField]
	}
	if m := codeRE.FindStringSubmatch(urlRE.ReplaceAllString(text, " ")); m != nil {
		return m[1]
	}
	return ""
}

// bound cuts s to maxField bytes, dropping a rune the cut splits.
func bound(s string) string {
	if len(s) <= maxField {
		return s
	}
	return strings.ToValidUTF8(s[:maxField], "")
}
