package devinbox

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/sesame-auth/sesame/internal/auth"
	"github.com/sesame-auth/sesame/internal/console"
)

func TestFindCodeAndLink(t *testing.T) {
	tests := []struct {
		name, text, code, link string
	}{
		{"SMSCodeFirst", "123456 is your Sesame verification code. It expires in 10 minutes.", "123456", ""},
		{"EmailCodeOnItsOwnLine", "Your Sesame verification code is:\n\n04812\n\nIt expires in 5 minutes.", "04812", ""},
		{"MagicLinkNoCode", "Click the link below to log in.\n\nhttp://localhost:8080/v1/magic_links/redirect?token=ab-123456-cd&stytch_token_type=magic_links\n\nThis link expires in 60 minutes.",
			"", "http://localhost:8080/v1/magic_links/redirect?token=ab-123456-cd&stytch_token_type=magic_links"},
		{"LinkTrailingPunctuationDropped", "Open https://example.com/x?token=t1.", "", "https://example.com/x?token=t1"},
		{"DigitsGluedToLettersAreNoCode", "ref A123456 and 1234567890123", "", ""},
		{"TooShortIsNoCode", "It expires in 10 minutes.", "", ""},
		{"NonHTTPSchemeIsNoLink", "javascript:alert(1) ftp://x/y", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := FindCode(tt.text); got != tt.code {
				t.Errorf("FindCode = %q, want %q", got, tt.code)
			}
			if got := FindLink(tt.text); got != tt.link {
				t.Errorf("FindLink = %q, want %q", got, tt.link)
			}
		})
	}
}

func TestInbox_KeepsTheNewestUpToCapacity(t *testing.T) {
	b := New(3)
	for _, to := range []string{"a", "b", "c", "d", "e"} {
		b.Add(&auth.OutboundMessage{Channel: auth.Channel("sms"), To: to, Text: "x"}, "p")
	}
	var got []string
	for _, m := range b.Messages() {
		got = append(got, m.To)
	}
	if strings.Join(got, ",") != "e,d,c" {
		t.Fatalf("messages = %v, want e,d,c (newest first, oldest dropped)", got)
	}
	if s := b.since(3); len(s) != 2 || s[0].To != "d" || s[1].To != "e" {
		t.Fatalf("since(3) = %+v, want d then e", s)
	}
}

func TestInbox_BoundsEveryField(t *testing.T) {
	b := New(1)
	m := b.Add(&auth.OutboundMessage{To: "a" + strings.Repeat("é", maxField), Text: strings.Repeat("x", 2*maxField)}, "p")
	if len(m.To) > maxField || len(m.Text) != maxField {
		t.Fatalf("len(To) = %d, len(Text) = %d, want <= %d", len(m.To), len(m.Text), maxField)
	}
	if !utf8.ValidString(m.To) || len(m.To) != maxField-1 {
		t.Fatalf("a cut split a rune: len %d, valid %v", len(m.To), utf8.ValidString(m.To))
	}
}

type failingSender struct{}

func (failingSender) Send(context.Context, *auth.OutboundMessage) (string, error) {
	return "", auth.Retryable("down", 0, errors.New("down"))
}

func TestWrap_RecordsAcceptedMessagesOnly(t *testing.T) {
	b := New(0)
	var out strings.Builder
	ok := b.Wrap(console.New(&out))
	id, err := ok.Send(context.Background(), &auth.OutboundMessage{MessageID: "m1", Channel: "sms", To: "+14152222222", Text: "123456 is your code."})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "123456") {
		t.Fatalf("the console output stays: %q", out.String())
	}
	if _, err := b.Wrap(failingSender{}).Send(context.Background(), &auth.OutboundMessage{To: "x", Text: "999999"}); err == nil {
		t.Fatal("want the inner error")
	}
	msgs := b.Messages()
	if len(msgs) != 1 || msgs[0].ProviderID != id || msgs[0].Code != "123456" || msgs[0].MessageID != "m1" || msgs[0].Seq != 1 || msgs[0].SentAt.IsZero() {
		t.Fatalf("messages = %+v, want the accepted one only", msgs)
	}
}

func get(t *testing.T, url string, hdr map[string]string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func TestHandler_Routes(t *testing.T) {
	b := New(0)
	b.Add(&auth.OutboundMessage{Channel: "sms", To: "+14152222222", Text: "111111 is your code."}, "console-1")
	b.Add(&auth.OutboundMessage{Channel: "email", To: "Ada@example.com", Subject: "Your login link", Text: "Log in:\n\nhttp://h/x?token=tok\n", HTML: "<p>hi</p>"}, "console-2")
	mux := http.NewServeMux()
	Mount(mux, b.Handler())
	srv := httptest.NewServer(mux)
	defer srv.Close()

	tests := []struct {
		name, path string
		status     int
		ctype      string
		contains   []string
	}{
		{"PageIsHTMLWithCSP", "/dev/inbox", 200, "text/html; charset=utf-8", []string{"Sesame dev inbox", `src="/dev/inbox/inbox.js"`}},
		{"ScriptServed", "/dev/inbox/inbox.js", 200, "text/javascript; charset=utf-8", []string{"EventSource(\"/dev/inbox/events\")"}},
		{"StylesheetServed", "/dev/inbox/inbox.css", 200, "text/css; charset=utf-8", []string{".code"}},
		{"JSONNewestFirst", "/dev/inbox.json", 200, "application/json", []string{`"seq":2`, `"code":"111111"`, `"link":"http://h/x?token=tok"`}},
		{"JSONFilteredByRecipient", "/dev/inbox.json?to=ada@example.com", 200, "application/json", []string{`"to":"Ada@example.com"`}},
		{"UnknownSubpathJSON404", "/dev/inbox/nope", 404, "application/json", []string{`"error_type":"not_found"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := get(t, srv.URL+tt.path, nil)
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status || resp.Header.Get("Content-Type") != tt.ctype {
				t.Fatalf("%d %q, want %d %q: %s", resp.StatusCode, resp.Header.Get("Content-Type"), tt.status, tt.ctype, body)
			}
			for _, want := range tt.contains {
				if !strings.Contains(string(body), want) {
					t.Errorf("body lacks %q:\n%s", want, body)
				}
			}
		})
	}

	t.Run("JSONOrderAndFilter", func(t *testing.T) {
		var all struct{ Messages []Message }
		resp := get(t, srv.URL+"/dev/inbox.json", nil)
		_ = json.NewDecoder(resp.Body).Decode(&all)
		resp.Body.Close()
		if len(all.Messages) != 2 || all.Messages[0].Seq != 2 || all.Messages[1].Seq != 1 {
			t.Fatalf("messages = %+v, want seq 2 then 1", all.Messages)
		}
		resp = get(t, srv.URL+"/dev/inbox.json?to=%2B14150000000", nil)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.TrimSpace(string(body)) != `{"messages":[]}` {
			t.Fatalf("filtered = %s, want no messages", body)
		}
	})
	t.Run("PageCSPForbidsInlineScript", func(t *testing.T) {
		resp := get(t, srv.URL+"/dev/inbox", nil)
		resp.Body.Close()
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self';") {
			t.Fatalf("CSP = %q", csp)
		}
	})
}

func TestNotFound_AnswersJSON404(t *testing.T) {
	mux := http.NewServeMux()
	Mount(mux, NotFound())
	srv := httptest.NewServer(mux)
	defer srv.Close()
	for _, p := range []string{"/dev/inbox", "/dev/inbox.json", "/dev/inbox/events"} {
		resp := get(t, srv.URL+p, nil)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 404 || resp.Header.Get("Content-Type") != "application/json" || !strings.Contains(string(body), "only in dev mode") {
			t.Errorf("GET %s = %d %s", p, resp.StatusCode, body)
		}
	}
}

// readEvent reads one SSE "message" event and returns its id and data.
func readEvent(t *testing.T, r *bufio.Reader) (id string, data Message) {
	t.Helper()
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("stream ended: %v", err)
		}
		line = strings.TrimRight(line, "\n")
		switch {
		case strings.HasPrefix(line, "id: "):
			id = line[4:]
		case strings.HasPrefix(line, "data: "):
			if err := json.Unmarshal([]byte(line[6:]), &data); err != nil {
				t.Fatal(err)
			}
		case line == "" && id != "":
			return id, data
		}
	}
}

func TestEvents_ReplaysThenStreamsLive(t *testing.T) {
	b := New(0)
	b.Add(&auth.OutboundMessage{Channel: "sms", To: "a", Text: "111111"}, "p1")
	b.Add(&auth.OutboundMessage{Channel: "sms", To: "b", Text: "222222"}, "p2")
	srv := httptest.NewServer(b.Handler())
	defer srv.Close()

	resp := get(t, srv.URL+EventsPath, map[string]string{"Last-Event-ID": "1"})
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("%d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	r := bufio.NewReader(resp.Body)
	if id, m := readEvent(t, r); id != "2" || m.Code != "222222" {
		t.Fatalf("replay = %s %+v, want only the message after Last-Event-ID 1", id, m)
	}
	b.Add(&auth.OutboundMessage{Channel: "email", To: "c", Text: "http://h/?token=x"}, "p3")
	if id, m := readEvent(t, r); id != "3" || m.Link != "http://h/?token=x" {
		t.Fatalf("live = %s %+v", id, m)
	}

	// Closing the inbox ends the stream (the server can shut down) and
	// refuses new ones.
	b.Close()
	done := make(chan struct{})
	go func() { _, _ = io.Copy(io.Discard, r); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("stream still open after Close")
	}
	resp2 := get(t, srv.URL+EventsPath, nil)
	resp2.Body.Close()
	if resp2.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("after Close = %d, want 503", resp2.StatusCode)
	}
}

func TestEvents_BadLastEventIDIs400(t *testing.T) {
	srv := httptest.NewServer(New(0).Handler())
	defer srv.Close()
	resp := get(t, srv.URL+EventsPath, map[string]string{"Last-Event-ID": "x"})
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || !strings.Contains(string(body), "Last-Event-ID") {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
}
