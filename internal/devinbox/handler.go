package devinbox

import (
	"embed"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

//go:embed static
var static embed.FS

// Paths the inbox serves (Handler) and NotFound refuses.
const (
	PagePath   = "/dev/inbox"
	JSONPath   = "/dev/inbox.json"
	EventsPath = "/dev/inbox/events"
)

// heartbeat is how often an idle event stream sends a comment, so proxies
// and browsers keep it open.
const heartbeat = 15 * time.Second

// csp keeps the page to its own script and styles; an email's HTML part is
// shown in a sandboxed srcdoc iframe (no scripts, no same origin) and may
// only use inline styles and data: images.
const csp = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src data:; connect-src 'self'; frame-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// Handler serves the inbox:
//
//	GET /dev/inbox            the page (HTML, its script and stylesheet under /dev/inbox/)
//	GET /dev/inbox.json       {"messages":[...]} newest first; ?to= keeps one recipient's
//	GET /dev/inbox/events     text/event-stream: each kept message (after Last-Event-ID), then new ones live
//
// Mount it on a mux for the patterns "/dev/inbox", "/dev/inbox.json" and
// "/dev/inbox/" (Mount does).
func (b *Inbox) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+PagePath, func(w http.ResponseWriter, r *http.Request) {
		serveStatic(w, "static/inbox.html", "text/html; charset=utf-8")
	})
	mux.HandleFunc("GET /dev/inbox/inbox.js", func(w http.ResponseWriter, r *http.Request) {
		serveStatic(w, "static/inbox.js", "text/javascript; charset=utf-8")
	})
	mux.HandleFunc("GET /dev/inbox/inbox.css", func(w http.ResponseWriter, r *http.Request) {
		serveStatic(w, "static/inbox.css", "text/css; charset=utf-8")
	})
	mux.HandleFunc("GET "+JSONPath, b.serveJSON)
	mux.HandleFunc("GET "+EventsPath, b.serveEvents)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", "no such inbox resource: "+PagePath+", "+JSONPath+" and "+EventsPath+" are served (GET)")
	})
	return mux
}

// Mount registers h for every inbox path on mux.
func Mount(mux *http.ServeMux, h http.Handler) {
	mux.Handle(PagePath, h)
	mux.Handle(JSONPath, h)
	mux.Handle(PagePath+"/", h)
}

// NotFound answers every inbox path with a JSON 404: outside dev mode the
// inbox does not exist.
func NotFound() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", "the development inbox exists only in dev mode (bin/api -dev)")
	})
}

func writeError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"status_code": status, "error_type": typ, "error_message": msg})
}

func serveStatic(w http.ResponseWriter, name, ctype string) {
	body, err := static.ReadFile(name)
	if err != nil { // embedded at build time: cannot happen
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", ctype)
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	_, _ = w.Write(body)
}

func (b *Inbox) serveJSON(w http.ResponseWriter, r *http.Request) {
	msgs := b.Messages()
	if to := r.URL.Query().Get("to"); to != "" {
		if len(to) > 320 {
			writeError(w, http.StatusBadRequest, "invalid_to", "to: at most 320 characters")
			return
		}
		kept := msgs[:0]
		for _, m := range msgs {
			if strings.EqualFold(m.To, to) {
				kept = append(kept, m)
			}
		}
		msgs = kept
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(map[string]any{"messages": msgs})
}

// serveEvents streams every kept message newer than Last-Event-ID (all of
// them on a first connection), oldest first, then each new one as it
// arrives, as "message" events whose data is the Message JSON and whose id
// is its Seq. It ends when the client goes away or the inbox closes.
func (b *Inbox) serveEvents(w http.ResponseWriter, r *http.Request) {
	select {
	case <-b.closed:
		writeError(w, http.StatusServiceUnavailable, "shutting_down", "the api is stopping")
		return
	default:
	}
	var last uint64
	if v := r.Header.Get("Last-Event-ID"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			writeError(w, http.StatusBadRequest, "invalid_last_event_id", "Last-Event-ID: a message seq (unsigned integer)")
			return
		}
		last = n
	}
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	// Subscribe before reading the backlog, so nothing falls between.
	wake, stop := b.subscribe()
	defer stop()
	// Tell the browser to reconnect quickly after a restart.
	if _, err := fmt.Fprint(w, "retry: 1000\n\n"); err != nil {
		return
	}
	tick := time.NewTicker(heartbeat)
	defer tick.Stop()
	for {
		for _, m := range b.since(last) {
			data, _ := json.Marshal(m)
			if _, err := fmt.Fprintf(w, "id: %d\nevent: message\ndata: %s\n\n", m.Seq, data); err != nil {
				return
			}
			last = m.Seq
		}
		if err := rc.Flush(); err != nil {
			return
		}
		select {
		case <-wake:
		case <-tick.C:
			if _, err := fmt.Fprint(w, ": ping\n\n"); err != nil {
				return
			}
		case <-r.Context().Done():
			return
		case <-b.closed:
			return
		}
	}
}
