package fakeprovider

import (
	"bytes"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/mail"
	"net/textproto"
	"strings"
	"sync"
	"time"
)

// SMTPOptions configures a fake SMTP server.
type SMTPOptions struct {
	// Listener to serve on. Default: a fresh 127.0.0.1:0 listener. The fake
	// takes ownership of it.
	Listener net.Listener
	// TLS, when set, is offered as STARTTLS, or wraps every connection when
	// ImplicitTLS is true. Default nil: plain text only.
	TLS         *tls.Config
	ImplicitTLS bool
	// Username and Password, when set, make AUTH (PLAIN or LOGIN) mandatory
	// before MAIL. Default empty: no AUTH offered.
	Username, Password string
}

// SMTPMessage is one message the fake SMTP server accepted.
type SMTPMessage struct {
	From       string
	To         []string
	Subject    string
	Text       string // text/plain part, transfer encoding removed
	HTML       string // text/html part, transfer encoding removed
	AuthMech   string // "PLAIN", "LOGIN" or "" (no AUTH)
	TLS        bool   // the session was encrypted (STARTTLS or implicit)
	MessageID  string // Message-ID header
	ReceivedAt time.Time
}

// SMTPFailure is an injected reply. Stage is the command it answers:
// "MAIL", "RCPT" or "DATA" (the reply after the message body). Reply is a
// full SMTP reply line, e.g. "451 4.3.0 try again later".
type SMTPFailure struct {
	Stage string
	Reply string
}

// SMTP is a minimal SMTP server for tests and end-to-end runs: EHLO,
// STARTTLS, implicit TLS, AUTH PLAIN and LOGIN, MAIL, RCPT, DATA, RSET, NOOP
// and QUIT. It records accepted messages (Messages, WaitFor), can fail the
// next commands with a given reply (FailNext) and can hang (SetHang).
type SMTP struct {
	ln   net.Listener
	opts SMTPOptions

	mu       sync.Mutex
	msgs     []SMTPMessage
	failures []SMTPFailure
	hang     bool
	changed  chan struct{}
	conns    map[net.Conn]struct{}
	closed   chan struct{}
	once     sync.Once
	wg       sync.WaitGroup
}

// NewSMTP starts a fake SMTP server.
func NewSMTP(opts SMTPOptions) (*SMTP, error) {
	ln := opts.Listener
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			return nil, err
		}
	}
	if opts.ImplicitTLS {
		if opts.TLS == nil {
			ln.Close()
			return nil, errors.New("fakeprovider: implicit TLS needs a TLS config")
		}
		ln = tls.NewListener(ln, opts.TLS)
	}
	s := &SMTP{ln: ln, opts: opts, changed: make(chan struct{}), conns: map[net.Conn]struct{}{}, closed: make(chan struct{})}
	s.wg.Add(1)
	go s.serve()
	return s, nil
}

// Addr is the server's host:port.
func (s *SMTP) Addr() string { return s.ln.Addr().String() }

// Close stops the server and cuts open sessions.
func (s *SMTP) Close() {
	s.once.Do(func() {
		close(s.closed)
		s.ln.Close()
		s.mu.Lock()
		for c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
	})
	s.wg.Wait()
}

// FailNext makes the next n commands of f.Stage answer f.Reply.
func (s *SMTP) FailNext(n int, f SMTPFailure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.failures = append(s.failures, f)
	}
}

// SetHang makes new sessions get no greeting at all (a server that accepts
// connections and never answers) until SetHang(false).
func (s *SMTP) SetHang(h bool) {
	s.mu.Lock()
	s.hang = h
	s.mu.Unlock()
}

// Messages returns the accepted messages, oldest first.
func (s *SMTP) Messages() []SMTPMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]SMTPMessage(nil), s.msgs...)
}

// Reset forgets messages and queued failures.
func (s *SMTP) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs, s.failures = nil, nil
}

// WaitFor waits up to timeout for a message to the recipient and returns the
// latest one.
func (s *SMTP) WaitFor(to string, timeout time.Duration) (SMTPMessage, bool) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		s.mu.Lock()
		ch := s.changed
		for i := len(s.msgs) - 1; i >= 0; i-- {
			for _, r := range s.msgs[i].To {
				if strings.EqualFold(r, to) {
					m := s.msgs[i]
					s.mu.Unlock()
					return m, true
				}
			}
		}
		s.mu.Unlock()
		select {
		case <-ch:
		case <-t.C:
			return SMTPMessage{}, false
		case <-s.closed:
			return SMTPMessage{}, false
		}
	}
}

// Handler serves the accepted messages for out-of-band suites:
//
//	GET /smtp/messages[?to=R][&wait=5s]   JSON array of Message (provider "smtp")
func (s *SMTP) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /smtp/messages", func(w http.ResponseWriter, r *http.Request) {
		to := r.URL.Query().Get("to")
		wait, err := parseWait(r.URL.Query().Get("wait"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if to != "" && wait > 0 {
			s.WaitFor(to, wait)
		}
		out := []Message{}
		for _, m := range s.Messages() {
			for _, rcpt := range m.To {
				if to == "" || strings.EqualFold(rcpt, to) {
					out = append(out, m.message(rcpt))
					break
				}
			}
		}
		writeJSON(w, http.StatusOK, out)
	})
	return mux
}

func (m SMTPMessage) message(to string) Message {
	code, tok := emailCodeAndToken(m.Text, m.HTML)
	return Message{Provider: "smtp", ID: m.MessageID, Channel: "email", To: to, From: m.From,
		Subject: m.Subject, Text: m.Text, HTML: m.HTML, Code: code, Token: tok, ReceivedAt: m.ReceivedAt}
}

func (s *SMTP) serve() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer func() {
				s.mu.Lock()
				delete(s.conns, c)
				s.mu.Unlock()
				c.Close()
			}()
			s.session(c)
		}()
	}
}

// popFailure returns the injected reply for stage, if the next failure is
// for it.
func (s *SMTP) popFailure(stage string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.failures) > 0 && s.failures[0].Stage == stage {
		f := s.failures[0]
		s.failures = s.failures[1:]
		return f.Reply
	}
	return ""
}

type smtpSession struct {
	s        *SMTP
	conn     net.Conn
	tp       *textproto.Conn
	tls      bool
	authMech string
	from     string
	to       []string
}

func (s *SMTP) session(c net.Conn) {
	s.mu.Lock()
	hang := s.hang
	s.mu.Unlock()
	if hang {
		select {
		case <-s.closed:
		case <-time.After(time.Minute):
		}
		return
	}
	_, isTLS := c.(*tls.Conn)
	ss := &smtpSession{s: s, conn: c, tp: textproto.NewConn(c), tls: isTLS}
	ss.reply("220 fake.smtp ESMTP ready")
	for {
		line, err := ss.tp.ReadLine()
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		if !ss.handle(strings.ToUpper(verb), arg) {
			return
		}
	}
}

func (ss *smtpSession) reply(lines ...string) {
	_ = ss.tp.PrintfLine("%s", strings.Join(lines, "\r\n"))
}

// handle answers one command; false ends the session.
func (ss *smtpSession) handle(verb, arg string) bool {
	s := ss.s
	switch verb {
	case "EHLO", "HELO":
		ext := []string{"250-fake.smtp", "250-8BITMIME", "250-ENHANCEDSTATUSCODES"}
		if s.opts.TLS != nil && !ss.tls {
			ext = append(ext, "250-STARTTLS")
		}
		if s.opts.Username != "" {
			ext = append(ext, "250-AUTH PLAIN LOGIN")
		}
		ext = append(ext, "250 SIZE 10485760")
		ss.reply(ext...)
	case "STARTTLS":
		if s.opts.TLS == nil || ss.tls {
			ss.reply("502 5.5.1 STARTTLS not available")
			return true
		}
		ss.reply("220 2.0.0 go ahead")
		tc := tls.Server(ss.conn, s.opts.TLS)
		if err := tc.Handshake(); err != nil {
			return false
		}
		ss.conn, ss.tp, ss.tls = tc, textproto.NewConn(tc), true
		ss.authMech, ss.from, ss.to = "", "", nil
	case "AUTH":
		ss.auth(arg)
	case "MAIL":
		switch {
		case s.opts.Username != "" && ss.authMech == "":
			ss.reply("530 5.7.0 authentication required")
		case ss.failed("MAIL"):
		default:
			ss.from, ss.to = addrArg(arg), nil
			ss.reply("250 2.1.0 ok")
		}
	case "RCPT":
		switch {
		case ss.from == "":
			ss.reply("503 5.5.1 MAIL first")
		case ss.failed("RCPT"):
		default:
			ss.to = append(ss.to, addrArg(arg))
			ss.reply("250 2.1.5 ok")
		}
	case "DATA":
		if len(ss.to) == 0 {
			ss.reply("503 5.5.1 RCPT first")
			return true
		}
		ss.reply("354 end with <CRLF>.<CRLF>")
		raw, err := io.ReadAll(io.LimitReader(ss.tp.DotReader(), 10<<20))
		if err != nil {
			return false
		}
		if ss.failed("DATA") {
			return true
		}
		m := parseMail(raw)
		m.From, m.To, m.AuthMech, m.TLS, m.ReceivedAt = ss.from, ss.to, ss.authMech, ss.tls, time.Now()
		s.mu.Lock()
		s.msgs = append(s.msgs, m)
		close(s.changed)
		s.changed = make(chan struct{})
		s.mu.Unlock()
		ss.from, ss.to = "", nil
		ss.reply("250 2.0.0 ok: queued")
	case "RSET":
		ss.from, ss.to = "", nil
		ss.reply("250 2.0.0 ok")
	case "NOOP":
		ss.reply("250 2.0.0 ok")
	case "QUIT":
		ss.reply("221 2.0.0 bye")
		return false
	default:
		ss.reply("502 5.5.2 command not implemented")
	}
	return true
}

// failed answers an injected failure for stage, if one is queued.
func (ss *smtpSession) failed(stage string) bool {
	if r := ss.s.popFailure(stage); r != "" {
		ss.reply(r)
		return true
	}
	return false
}

func (ss *smtpSession) auth(arg string) {
	s := ss.s
	if s.opts.Username == "" {
		ss.reply("502 5.5.1 AUTH not available")
		return
	}
	mech, initial, _ := strings.Cut(arg, " ")
	readB64 := func(prompt string) (string, bool) {
		ss.reply("334 " + prompt)
		line, err := ss.tp.ReadLine()
		if err != nil {
			return "", false
		}
		b, err := base64.StdEncoding.DecodeString(line)
		return string(b), err == nil
	}
	var user, pass string
	ok := true
	switch strings.ToUpper(mech) {
	case "PLAIN":
		var resp string
		if initial != "" {
			b, err := base64.StdEncoding.DecodeString(initial)
			resp, ok = string(b), err == nil
		} else {
			resp, ok = readB64("")
		}
		parts := strings.Split(resp, "\x00")
		if len(parts) == 3 {
			user, pass = parts[1], parts[2]
		}
	case "LOGIN":
		if user, ok = readB64("VXNlcm5hbWU6"); ok {
			pass, ok = readB64("UGFzc3dvcmQ6")
		}
	default:
		ss.reply("504 5.5.4 mechanism not supported")
		return
	}
	if !ok || user != s.opts.Username || pass != s.opts.Password {
		ss.reply("535 5.7.8 authentication credentials invalid")
		return
	}
	ss.authMech = strings.ToUpper(mech)
	ss.reply("235 2.7.0 authentication successful")
}

// addrArg extracts the address of "FROM:<a@b> SIZE=…" or "TO:<a@b>".
func addrArg(arg string) string {
	_, v, _ := strings.Cut(arg, ":")
	v = strings.TrimSpace(v)
	if i := strings.IndexByte(v, '>'); strings.HasPrefix(v, "<") && i > 0 {
		return v[1:i]
	}
	addr, _, _ := strings.Cut(v, " ")
	return addr
}

// parseMail extracts subject, Message-ID and the text and HTML parts of a
// MIME message, nested multiparts included.
func parseMail(raw []byte) SMTPMessage {
	var m SMTPMessage
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return m
	}
	dec := new(mime.WordDecoder)
	if subj, err := dec.DecodeHeader(msg.Header.Get("Subject")); err == nil {
		m.Subject = subj
	}
	m.MessageID = strings.Trim(msg.Header.Get("Message-ID"), "<>")
	walkPart(&m, msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body)
	return m
}

func walkPart(m *SMTPMessage, ctype, cte string, body io.Reader) {
	mt, params, err := mime.ParseMediaType(ctype)
	if err != nil {
		mt = "text/plain"
	}
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextPart()
			if err != nil {
				return
			}
			walkPart(m, p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p)
		}
	}
	switch strings.ToLower(strings.TrimSpace(cte)) {
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, body) // ignores line breaks
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	}
	b, _ := io.ReadAll(io.LimitReader(body, 10<<20))
	switch mt {
	case "text/plain":
		if m.Text == "" {
			m.Text = string(b)
		}
	case "text/html":
		if m.HTML == "" {
			m.HTML = string(b)
		}
	}
}
