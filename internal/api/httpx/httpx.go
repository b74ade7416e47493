// Package httpx holds the HTTP plumbing both API dialects share: strict but
// tolerant JSON decoding, JSON responses, client attributes and request ids.
// It knows no dialect's error body; each dialect maps errors itself.
package httpx

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"

	"github.com/sesame-auth/sesame/internal/auth"
)

// MaxBodyBytes caps a request body. Default 1 MiB.
const MaxBodyBytes = 1 << 20

// jsonSpace is the whitespace JSON allows around values (RFC 8259).
const jsonSpace = " \t\r\n"

// DecodeJSON reads the request body into v. An empty body decodes as {}.
// Unknown fields are ignored (SDKs send fields this server may not use),
// but malformed JSON, wrong types, trailing data and strings CheckStrings
// refuses (NUL, invalid UTF-8, longer than MaxStringBytes) are an EInvalid
// error naming the problem and the field; a body over MaxBodyBytes is
// ETooLarge (each dialect answers it 413).
func DecodeJSON(r *http.Request, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return auth.Errorf(auth.ETooLarge, "Request body is larger than %d bytes.", MaxBodyBytes)
		}
		return auth.Invalid("", "Request body could not be read.")
	}
	if len(bytes.Trim(body, jsonSpace)) == 0 {
		body = []byte("{}")
	}
	if err := CheckStrings(body); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		var ute *json.UnmarshalTypeError
		var se *json.SyntaxError
		switch {
		case errors.As(err, &ute):
			return auth.Invalid(ute.Field, "%s must be of type %s.", fieldName(ute.Field), jsonType(ute.Type.Kind().String()))
		case errors.As(err, &se):
			return auth.Invalid("", "Request body is not valid JSON (at byte %d).", se.Offset)
		default:
			return auth.Invalid("", "Request body is not valid JSON: %s.", strings.TrimPrefix(err.Error(), "json: "))
		}
	}
	// Only whitespace may follow the value: dec.More() is false before a
	// stray "}" or "]", so check the bytes themselves.
	if rest := bytes.Trim(body[dec.InputOffset():], jsonSpace); len(rest) > 0 {
		return auth.Invalid("", "Request body must hold a single JSON value; found trailing data.")
	}
	return nil
}

func fieldName(f string) string {
	if f == "" {
		return "The request body"
	}
	return f
}

func jsonType(kind string) string {
	switch kind {
	case "string":
		return "string"
	case "bool":
		return "boolean"
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64", "float32", "float64":
		return "number"
	case "slice", "array":
		return "array"
	case "map", "struct", "ptr":
		return "object"
	}
	return kind
}

// WriteJSON writes v as a JSON response with the status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(fmt.Sprintf(`{"status_code":500,"error_type":"internal_server_error","error_message":%q}`, "Response could not be encoded."))
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// Attributes returns the client's IP address and user agent. The IP is the
// first X-Forwarded-For entry when TrustProxy is set and it is an IP
// address, else RemoteAddr.
func Attributes(r *http.Request, trustProxy bool) auth.Attributes {
	ip := ""
	if trustProxy {
		if xff := r.Header.Get("X-Forwarded-For"); xff != "" {
			ip = strings.TrimSpace(strings.Split(xff, ",")[0])
			if auth.CheckIPAddress(ip) != nil {
				ip = "" // a proxy's garbage is not the client's fault
			}
		}
	}
	if ip == "" {
		if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
			ip = host
		} else {
			ip = r.RemoteAddr
		}
	}
	return auth.Attributes{IPAddress: ip, UserAgent: r.UserAgent()}
}

// RequestID returns a fresh request id for the project's environment,
// "request-id-test-<uuid>" or "request-id-live-<uuid>".
func RequestID(p *auth.Project) string {
	return auth.NewID("request-id", p)
}
