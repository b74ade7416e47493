package httpx_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/sesame-auth/sesame/internal/api/httpx"
	"github.com/sesame-auth/sesame/internal/auth"
)

func TestDecodeJSON(t *testing.T) {
	type body struct {
		Limit int    `json:"limit"`
		Name  string `json:"name"`
	}
	tests := []struct {
		name    string
		body    string
		wantErr bool
		want    body
	}{
		{name: "single object is accepted", body: `{"limit":1}`, want: body{Limit: 1}},
		{name: "trailing whitespace is accepted", body: "{\"limit\":2}\n\t ", want: body{Limit: 2}},
		{name: "empty body decodes as empty object", body: "", want: body{}},
		{name: "unknown fields are ignored", body: `{"limit":3,"extra":true}`, want: body{Limit: 3}},
		{name: "extra closing brace is refused", body: `{"limit":1}}`, wantErr: true},
		{name: "extra closing brace and garbage are refused", body: `{"limit":1}} junk`, wantErr: true},
		{name: "extra closing bracket is refused", body: `{"limit":1}]`, wantErr: true},
		{name: "second value is refused", body: `{"limit":1}{"limit":2}`, wantErr: true},
		{name: "trailing garbage word is refused", body: `{"limit":1} junk`, wantErr: true},
		{name: "trailing non-JSON whitespace is refused", body: "{\"limit\":1}\u00a0", wantErr: true},
		{name: "wrong type is refused", body: `{"limit":"x"}`, wantErr: true},
		{name: "truncated object is refused", body: `{"limit":1`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/", strings.NewReader(tt.body))
			var got body
			err := httpx.DecodeJSON(r, &got)
			if tt.wantErr {
				if auth.ErrorCode(err) != auth.EInvalid {
					t.Fatalf("DecodeJSON(%q) error = %v, want EInvalid", tt.body, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("DecodeJSON(%q) = %v", tt.body, err)
			}
			if got != tt.want {
				t.Fatalf("DecodeJSON(%q) decoded %+v, want %+v", tt.body, got, tt.want)
			}
		})
	}
}

// FuzzDecodeJSONRefusesTrailingData checks for wrong acceptance, not only
// crashes: whatever DecodeJSON accepts must be one JSON value (json.Valid
// refuses trailing data) or an empty body.
func FuzzDecodeJSONRefusesTrailingData(f *testing.F) {
	for _, s := range []string{`{"limit":1}`, `{"limit":1}}`, `{} x`, `[]`, `{"name":"a"}]`, `{"a":1} {"b":2}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r := httptest.NewRequest("POST", "/", strings.NewReader(s))
		var v map[string]any
		if httpx.DecodeJSON(r, &v) != nil {
			return
		}
		if strings.Trim(s, " \t\r\n") != "" && !json.Valid([]byte(s)) {
			t.Fatalf("accepted %q, which is not a single JSON value", s)
		}
	})
}

func TestDecodeJSONRefusesBadStringsNamingTheField(t *testing.T) {
	type inner struct {
		Value string `json:"filter_value"`
	}
	type body struct {
		Email    string  `json:"email"`
		Operands []inner `json:"operands"`
	}
	tests := []struct {
		name  string
		body  string
		field string
	}{
		{name: "NUL escape in a value names the field", body: `{"email":"a\u0000@x.io"}`, field: "email"},
		{name: "raw invalid UTF-8 names the field", body: "{\"email\":\"a\xff@x.io\"}", field: "email"},
		{name: "lone surrogate names the field", body: `{"email":"a\ud800@x.io"}`, field: "email"},
		{name: "NUL in a nested array element names its path", body: `{"operands":[{"filter_value":"ok"},{"filter_value":"x\u0000"}]}`, field: "operands[1].filter_value"},
		{name: "oversize string names the field", body: `{"email":"` + strings.Repeat("a", httpx.MaxStringBytes+1) + `"}`, field: "email"},
		{name: "NUL in a key is refused", body: `{"e\u0000":"x"}`, field: "(key)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/", strings.NewReader(tt.body))
			var got body
			err := httpx.DecodeJSON(r, &got)
			var e *auth.Error
			if !errors.As(err, &e) || e.Code != auth.EInvalid || e.Field != tt.field {
				t.Fatalf("DecodeJSON(%.80q) = %#v, want EInvalid naming %q", tt.body, err, tt.field)
			}
		})
	}
}

func TestDecodeJSONAcceptsRealReplacementCharacter(t *testing.T) {
	r := httptest.NewRequest("POST", "/", strings.NewReader(`{"name":"a\ufffd b �"}`))
	var v struct {
		Name string `json:"name"`
	}
	if err := httpx.DecodeJSON(r, &v); err != nil || v.Name != "a\ufffd b \ufffd" {
		t.Fatalf("DecodeJSON = %v, %q", err, v.Name)
	}
}

func TestCheckURLRefusesNULAndInvalidUTF8(t *testing.T) {
	tests := []struct {
		name, target string
		ok           bool
	}{
		{name: "clean query passes", target: "/v1/sessions?user_id=user-test-1", ok: true},
		{name: "NUL in the path is refused", target: "/v1/users/a%00b"},
		{name: "invalid UTF-8 in the path is refused", target: "/v1/users/a%ffb"},
		{name: "NUL in a query value is refused", target: "/v1/sessions?user_id=a%00"},
		{name: "invalid UTF-8 in a query value is refused", target: "/v1/sessions?user_id=%c3"},
		{name: "oversize URL is refused", target: "/v1/sessions?user_id=" + strings.Repeat("a", httpx.MaxURLBytes)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := httpx.CheckURL(httptest.NewRequest("GET", tt.target, nil))
			if tt.ok != (err == nil) {
				t.Fatalf("CheckURL(%.60q) = %v, want ok=%v", tt.target, err, tt.ok)
			}
		})
	}
}

// FuzzDecodeJSONRefusesNULAndBadUTF8 checks wrong acceptance: whatever
// DecodeJSON accepts into strings holds no NUL and only valid UTF-8.
func FuzzDecodeJSONRefusesNULAndBadUTF8(f *testing.F) {
	for _, s := range []string{`{"a":"b"}`, `{"a":"\u0000"}`, "{\"a\":\"\xff\"}", `{"a":["\ud800"]}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var v any
		if httpx.DecodeJSON(httptest.NewRequest("POST", "/", strings.NewReader(s)), &v) != nil {
			return
		}
		var check func(any)
		check = func(x any) {
			switch x := x.(type) {
			case string:
				if strings.IndexByte(x, 0) >= 0 || !utf8.ValidString(x) || len(x) > httpx.MaxStringBytes {
					t.Fatalf("accepted %q holding a bad string %q", s, x)
				}
			case []any:
				for _, e := range x {
					check(e)
				}
			case map[string]any:
				for k, e := range x {
					check(k)
					check(e)
				}
			}
		}
		check(v)
	})
}

func TestRouterRefuseBadURLsAnswersBeforeAnyRoute(t *testing.T) {
	rt := httpx.NewRouter()
	reached := false
	rt.HandleFunc("GET /v1/messages/{id}", func(http.ResponseWriter, *http.Request) { reached = true })
	rt.RefuseBadURLs(func(w http.ResponseWriter, _ *http.Request, err error) {
		httpx.WriteJSON(w, http.StatusBadRequest, map[string]string{"error_message": auth.ErrorMessage(err)})
	})
	h := rt.Handler(func(w http.ResponseWriter, _ *http.Request, status int) { httpx.WriteJSON(w, status, map[string]any{}) })
	for _, target := range []string{"/v1/messages/a%00b", "/v1/messages/a%ffb", "/v1/messages/x?limit=%00"} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", target, nil))
		if w.Code != http.StatusBadRequest || w.Header().Get("Content-Type") != "application/json" || reached {
			t.Fatalf("GET %s: %d %q reached=%v", target, w.Code, w.Header().Get("Content-Type"), reached)
		}
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/v1/messages/ok", nil))
	if !reached {
		t.Fatalf("a clean URL did not reach its route: %d", w.Code)
	}
}

func TestOversizeBodiesAreTooLargeWhetherDeclaredOrNot(t *testing.T) {
	big := `{"email":"` + strings.Repeat("a", httpx.MaxBodyBytes) + `"}`
	tests := []struct {
		name          string
		contentLength int64 // -1: unknown (chunked)
		check         func(r *http.Request) error
		want          auth.Code
	}{
		{"a declared oversize body is refused before any route", int64(len(big)), httpx.CheckBodySize, auth.ETooLarge},
		{"an undeclared body passes the early check", -1, httpx.CheckBodySize, ""},
		{"an undeclared oversize body is refused where it is read", -1, func(r *http.Request) error {
			var v map[string]any
			return httpx.DecodeJSON(r, &v)
		}, auth.ETooLarge},
		{"a body at the cap is read", -1, func(r *http.Request) error {
			r.Body = io.NopCloser(strings.NewReader(`{}` + strings.Repeat(" ", httpx.MaxBodyBytes-2)))
			var v map[string]any
			return httpx.DecodeJSON(r, &v)
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/", strings.NewReader(big))
			r.ContentLength = tt.contentLength
			if got := auth.ErrorCode(tt.check(r)); got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}
