package httpx

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/sesame-auth/sesame/internal/auth"
)

// MaxStringBytes bounds every string in a JSON body, object keys included,
// in bytes after unescaping. Default 8 KiB: above the longest legitimate
// value (a session JWT with custom claims); the core bounds each field more
// tightly where it knows the field (emails 254, names 1024, ...).
const MaxStringBytes = 8 << 10

// MaxURLBytes bounds a request's path plus query. Default 8 KiB.
const MaxURLBytes = 8 << 10

// CheckStrings walks the JSON body and refuses, naming the field, any
// string (key or value) that holds a NUL character (Postgres text cannot
// store it, and no legitimate value has one), invalid UTF-8 (encoding/json
// would silently store U+FFFD in its place), a lone UTF-16 surrogate escape,
// or more than MaxStringBytes bytes. A body that is not valid JSON is left
// to the decoder, which reports it.
func CheckStrings(body []byte) error {
	if !utf8.Valid(body) {
		// Name the field holding the first bad byte when the JSON before it
		// can be walked; else refuse the body as a whole.
		bad := firstInvalid(body)
		if field := fieldAt(body, bad); field != "" {
			return auth.Invalid(field, "%s must be valid UTF-8.", field)
		}
		return auth.Invalid("", "Request body must be valid UTF-8.")
	}
	var err error
	walk(body, func(s string, raw []byte, _ int64, field string) bool {
		err = checkString(s, raw, field)
		return err == nil
	})
	return err
}

// walk calls visit for every string token of body (keys included) with its
// raw bytes and its field path, until visit returns false or the JSON ends
// or breaks.
func walk(body []byte, visit func(s string, raw []byte, end int64, field string) bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var stack []frame
	prev := int64(0)
	for {
		tok, err := dec.Token()
		if err != nil {
			return
		}
		end := dec.InputOffset()
		raw := body[prev:end]
		prev = end
		top := len(stack) - 1
		isKey := top >= 0 && stack[top].object && stack[top].wantKey
		if _, ok := tok.(string); ok && isKey {
			stack[top].key = tok.(string)
			stack[top].wantKey = false
			if !visit(tok.(string), raw, end, pathOf(stack)) {
				return
			}
			continue
		}
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			stack = stack[:top]
		} else if top >= 0 && !stack[top].object {
			stack[top].index++ // a value starts inside an array
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{':
				stack = append(stack, frame{object: true, wantKey: true})
				continue
			case '[':
				stack = append(stack, frame{index: -1})
				continue
			}
		case string:
			if !visit(t, raw, end, pathOf(stack)) {
				return
			}
		}
		// A value ended: the enclosing object wants a key next.
		if n := len(stack); n > 0 && stack[n-1].object {
			stack[n-1].wantKey = true
		}
	}
}

type frame struct {
	object  bool
	wantKey bool
	key     string
	index   int
}

// pathOf names the current position: "a.b[2].c".
func pathOf(stack []frame) string {
	var b strings.Builder
	for _, f := range stack {
		if f.object {
			if f.wantKey && f.key == "" {
				continue
			}
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(shortKey(f.key))
		} else if f.index >= 0 {
			b.WriteString("[" + strconv.Itoa(f.index) + "]")
		}
	}
	if b.Len() == 0 {
		return "request body"
	}
	return b.String()
}

func shortKey(k string) string {
	if len(k) > 64 || !utf8.ValidString(k) || strings.IndexByte(k, 0) >= 0 {
		return "(key)"
	}
	return k
}

func checkString(s string, raw []byte, field string) error {
	if len(s) > MaxStringBytes {
		return auth.Invalid(field, "%s must be at most %d bytes long.", field, MaxStringBytes)
	}
	if strings.IndexByte(s, 0) >= 0 {
		return auth.Invalid(field, "%s must not contain NUL characters.", field)
	}
	// encoding/json turns a lone surrogate escape (\ud800) into U+FFFD;
	// refuse it unless the client really sent U+FFFD.
	if strings.ContainsRune(s, utf8.RuneError) && !bytes.Contains(raw, []byte("\uFFFD")) && !bytes.Contains(bytes.ToLower(raw), []byte(`\ufffd`)) {
		return auth.Invalid(field, "%s must be valid UTF-8 (lone surrogate escape).", field)
	}
	return nil
}

func firstInvalid(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return len(b)
}

// fieldAt names the field whose key or value holds byte offset off,
// walking the body with the bad bytes replaced.
func fieldAt(body []byte, off int) string {
	fixed := bytes.ToValidUTF8(body, []byte("?"))
	target := int64(len(bytes.ToValidUTF8(body[:off], []byte("?"))))
	field := ""
	walk(fixed, func(_ string, _ []byte, end int64, f string) bool {
		if end > target {
			field = f
			return false
		}
		return true
	})
	return field
}

// CheckURL refuses a request whose path or query, after percent-decoding,
// holds a NUL character or invalid UTF-8, or is longer than MaxURLBytes,
// naming the query parameter; path parameters reach storage, so this runs
// before any handler.
func CheckURL(r *http.Request) error {
	if len(r.URL.Path)+len(r.URL.RawQuery) > MaxURLBytes {
		return auth.Invalid("", "The request URL must be at most %d bytes long.", MaxURLBytes)
	}
	if !CleanText(r.URL.Path) {
		return auth.Invalid("", "The request path must be valid UTF-8 without NUL characters.")
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return auth.Invalid("", "The request query could not be parsed.")
	}
	for k, vs := range q {
		if !CleanText(k) {
			return auth.Invalid("", "Query parameter names must be valid UTF-8 without NUL characters.")
		}
		for _, v := range vs {
			if !CleanText(v) {
				return auth.Invalid(k, "%s must be valid UTF-8 without NUL characters.", k)
			}
		}
	}
	return nil
}

// CleanText reports whether s is valid UTF-8 without NUL characters.
func CleanText(s string) bool { return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 }
