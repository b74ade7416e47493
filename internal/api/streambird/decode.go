package streambird

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/sesame-auth/sesame/internal/api/httpx"
	"github.com/sesame-auth/sesame/internal/auth"
)

// decode strictly decodes the request body into v (see httpx.DecodeJSON)
// and rejects strings that storage cannot hold.
func decode(r *http.Request, v any) error {
	if err := httpx.DecodeJSON(r, v); err != nil {
		return err
	}
	return checkStrings(reflect.ValueOf(v), "")
}

// checkStrings rejects NUL characters in any decoded string field (Postgres
// text cannot store them, and no legitimate value contains one), naming the
// field. Decoded JSON strings are always valid UTF-8.
func checkStrings(v reflect.Value, path string) error {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			return checkStrings(v.Elem(), path)
		}
	case reflect.String:
		if strings.IndexByte(v.String(), 0) >= 0 {
			return auth.Invalid(path, "%s must not contain NUL characters.", path)
		}
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return nil // raw JSON, checked where it is decoded
		}
		for i := 0; i < v.Len(); i++ {
			if err := checkStrings(v.Index(i), path); err != nil {
				return err
			}
		}
	case reflect.Struct:
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "" {
				name = f.Name
			}
			if path != "" {
				name = path + "." + name
			}
			if err := checkStrings(v.Field(i), name); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkURL rejects a declared body over the size cap (httpx.CheckBodySize,
// 413), then request paths and queries that storage cannot hold
// (httpx.CheckURL).
func checkURL(r *http.Request) error {
	if err := httpx.CheckBodySize(r); err != nil {
		return err
	}
	return httpx.CheckURL(r)
}

func cleanText(s string) bool { return httpx.CleanText(s) }

// maxRepairBytes bounds the bodies the tolerant decoder tries to repair.
const maxRepairBytes = 64 << 10

// decodeLenient decodes like decode, but when the body is not valid JSON it
// first tries repairPairArrays (the seed's
// {"phone_numbers": ["phone_number": "+1..."]}). If the repaired body is
// valid JSON its strict decoding decides the outcome (so a wrong type inside
// it is reported by field name); otherwise the original body's error is
// returned.
func decodeLenient(r *http.Request, v any) error {
	body, err := io.ReadAll(io.LimitReader(r.Body, httpx.MaxBodyBytes+1))
	if err != nil {
		return auth.Invalid("", "Request body could not be read.")
	}
	if len(body) <= maxRepairBytes && !json.Valid(body) && len(bytes.TrimSpace(body)) > 0 {
		if fixed, ok := repairPairArrays(body); ok && json.Valid(fixed) {
			body = fixed
		}
	}
	if err := decodeBytes(r, body, v); err != nil {
		return err
	}
	return checkStrings(reflect.ValueOf(v), "")
}

func decodeBytes(r *http.Request, body []byte, v any) error {
	r2 := r.WithContext(r.Context())
	r2.Body = io.NopCloser(bytes.NewReader(body))
	return httpx.DecodeJSON(r2, v)
}

// maxRepairDepth bounds array nesting the repair descends into.
const maxRepairDepth = 32

// repairPairArrays rewrites every array whose elements are bare "key": value
// pairs into an array of one-pair objects:
//
//	["phone_number": "+1", "phone_number": "+2"]  →  [{"phone_number": "+1"},{"phone_number": "+2"}]
//
// Elements that are not pairs are kept as they are. It reports whether
// anything changed; the caller must still validate the result.
func repairPairArrays(b []byte) ([]byte, bool) {
	out, changed := repair(string(b), 0)
	if !changed {
		return nil, false
	}
	return []byte(out), true
}

func repair(s string, depth int) (string, bool) {
	if depth > maxRepairDepth {
		return s, false
	}
	var out strings.Builder
	out.Grow(len(s) + 8)
	changed := false
	for i := 0; i < len(s); {
		switch s[i] {
		case '"':
			j := skipString(s, i)
			out.WriteString(s[i:j])
			i = j
		case '[':
			j := matchingBracket(s, i)
			if j < 0 {
				out.WriteString(s[i:])
				i = len(s)
				continue
			}
			out.WriteByte('[')
			for k, el := range splitTopLevel(s[i+1 : j]) {
				if k > 0 {
					out.WriteByte(',')
				}
				fixed, ch := repair(el, depth+1)
				changed = changed || ch
				if hasTopLevelColon(el) {
					out.WriteByte('{')
					out.WriteString(fixed)
					out.WriteByte('}')
					changed = true
				} else {
					out.WriteString(fixed)
				}
			}
			out.WriteByte(']')
			i = j + 1
		default:
			out.WriteByte(s[i])
			i++
		}
	}
	return out.String(), changed
}

// skipString returns the index just past the string starting at s[i] == '"'
// (or len(s) if it is unterminated).
func skipString(s string, i int) int {
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return len(s)
}

// matchingBracket returns the index of the ']' closing the '[' at s[i], or
// -1 if brackets and braces are unbalanced.
func matchingBracket(s string, i int) int {
	depth := 0
	for j := i; j < len(s); {
		switch s[j] {
		case '"':
			j = skipString(s, j)
			continue
		case '[', '{':
			depth++
		case '}':
			depth--
			if depth <= 0 {
				return -1
			}
		case ']':
			depth--
			if depth == 0 {
				return j
			}
			if depth < 0 {
				return -1
			}
		}
		j++
	}
	return -1
}

// walkTopLevel calls visit with the index of each byte of s that is outside
// strings, arrays and objects, until visit returns false.
func walkTopLevel(s string, visit func(j int) bool) {
	depth := 0
	for j := 0; j < len(s); {
		switch s[j] {
		case '"':
			j = skipString(s, j)
			continue
		case '[', '{':
			depth++
		case ']', '}':
			depth--
		default:
			if depth == 0 && !visit(j) {
				return
			}
		}
		j++
	}
}

// splitTopLevel splits s at the commas that are outside strings, arrays and
// objects.
func splitTopLevel(s string) []string {
	var parts []string
	start := 0
	walkTopLevel(s, func(j int) bool {
		if s[j] == ',' {
			parts = append(parts, s[start:j])
			start = j + 1
		}
		return true
	})
	return append(parts, s[start:])
}

// hasTopLevelColon reports whether s holds a ':' outside strings, arrays and
// objects, that is whether it is a bare "key": value pair.
func hasTopLevelColon(s string) bool {
	found := false
	walkTopLevel(s, func(j int) bool {
		found = s[j] == ':'
		return !found
	})
	return found
}

// optInt is an optional JSON integer. It accepts only a JSON number (or
// null); anything else is a type error naming the field. Range and
// integrality are checked by the caller so the message can name the range.
type optInt struct {
	set bool
	raw string
}

func (o *optInt) UnmarshalJSON(b []byte) error {
	if len(b) == 0 || string(b) == "null" {
		*o = optInt{}
		return nil
	}
	if c := b[0]; c == '-' || (c >= '0' && c <= '9') {
		*o = optInt{set: true, raw: string(b)}
		return nil
	}
	return &json.UnmarshalTypeError{Value: jsonKind(b[0]), Type: reflect.TypeFor[int]()}
}

func jsonKind(c byte) string {
	switch c {
	case '"':
		return "string"
	case 't', 'f':
		return "bool"
	case '[':
		return "array"
	case '{':
		return "object"
	}
	return "value"
}

// int returns the value, def when unset, or an error with code when it is
// not a whole number in [lo, hi].
func (o optInt) int(code auth.Code, field string, lo, hi, def int64, unit string) (int64, error) {
	if !o.set {
		return def, nil
	}
	n, err := strconv.ParseInt(o.raw, 10, 64)
	if err != nil || n < lo || n > hi {
		return 0, &auth.Error{Code: code, Field: field,
			Message: field + " must be a whole number of " + unit + " between " + strconv.FormatInt(lo, 10) + " and " + strconv.FormatInt(hi, 10) + "."}
	}
	return n, nil
}

// minutes is int for durations expressed in minutes.
func (o optInt) minutes(code auth.Code, field string, lo, hi, def int64) (time.Duration, error) {
	n, err := o.int(code, field, lo, hi, def, "minutes")
	return time.Duration(n) * time.Minute, err
}

// Streambird's minute ranges.
const (
	otpExpiresMin, otpExpiresMax, otpExpiresDefault = 1, 10, 1
	sessionExpiresMin, sessionExpiresMax            = 5, 525600
	linkExpiresMin, linkExpiresMax                  = 5, 10080
	linkExpiresDefault                              = 60
	inviteExpiresDefault                            = 10080
)

// sessionMinutes parses session_expires_in: absent means no new session
// (duration 0).
func sessionMinutes(o optInt) (time.Duration, error) {
	return o.minutes(auth.EInvalidDuration, "session_expires_in", sessionExpiresMin, sessionExpiresMax, 0)
}

// deviceFingerprint is Streambird's client metadata.
type deviceFingerprint struct {
	IP        string `json:"ip"`
	UserAgent string `json:"user_agent"`
}

// attributes returns the end user's attributes: the fingerprint's fields
// where given, else the request's own client.
func (h *handler) attributes(r *http.Request, df *deviceFingerprint) (auth.Attributes, error) {
	a := httpx.Attributes(r, h.opts.TrustProxy)
	if df == nil {
		return a, nil
	}
	if ip := strings.TrimSpace(df.IP); ip != "" {
		if auth.CheckIPAddress(ip) != nil { // the core's rule, under this dialect's field name
			return a, auth.Invalid("device_fingerprint.ip", "device_fingerprint.ip must be an IPv4 or IPv6 address.")
		}
		a.IPAddress = ip
	}
	if df.UserAgent != "" {
		if len(df.UserAgent) > 1024 {
			return a, auth.Invalid("device_fingerprint.user_agent", "device_fingerprint.user_agent must be at most 1024 characters.")
		}
		a.UserAgent = df.UserAgent
	}
	return a, nil
}

// redirectURL validates an optional redirect URL field: absolute (http and
// https need a host; app schemes such as myapp://cb are allowed) and not a
// scheme that runs script.
func redirectURL(field, s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil
	}
	u, err := url.Parse(s)
	if err != nil || len(s) > 2048 || u.Scheme == "" ||
		((strings.EqualFold(u.Scheme, "http") || strings.EqualFold(u.Scheme, "https")) && u.Host == "") {
		return "", auth.Invalid(field, "%s must be an absolute URL such as https://example.com/authenticate.", field)
	}
	switch strings.ToLower(u.Scheme) {
	case "javascript", "data", "vbscript", "file":
		return "", auth.Invalid(field, "%s must not use the %s: scheme.", field, strings.ToLower(u.Scheme))
	}
	return s, nil
}

// required returns an EInvalid error naming field when s is blank.
func required(field, s string) error {
	if strings.TrimSpace(s) == "" {
		return auth.Invalid(field, "%s is required.", field)
	}
	return nil
}

// pending reports whether either spelling of requires_verification is true.
func pending(a, b *bool) bool { return (a != nil && *a) || (b != nil && *b) }
